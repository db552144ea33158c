/**
 * Progress for a long command: lines on stderr, and only when stderr is a terminal, so a pipe or a
 * file gets the result alone.
 */
export function progressReporter(stream: { isTTY?: boolean } = process.stderr): (message: string) => void {
  return stream.isTTY ? (message) => console.error(`… ${message}`) : () => {};
}

/**
 * The exit code a command's action sets: 0 ok, 1 something it checked is broken (a chain, a policy),
 * 3 findings when the user asked for --fail-on-findings.
 */
/** The exit code of a command that found something and was asked to fail on it (`--fail-on-findings`). */
export const EXIT_FINDINGS = 3;

export interface Outcome {
  code: number;
}
