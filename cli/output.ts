/**
 * Progress for a long command: lines on stderr, and only when stderr is a terminal, so a pipe or a
 * file gets the result alone.
 */
export function progressReporter(stream: { isTTY?: boolean } = process.stderr): (message: string) => void {
  return stream.isTTY ? (message) => console.error(`… ${message}`) : () => {};
}

/** The exit code a command's action sets: 0 ok, 1 findings in what it checked (a broken chain, a bad policy). */
export interface Outcome {
  code: number;
}
