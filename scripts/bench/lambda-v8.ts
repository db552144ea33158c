/**
 * How V8 is sized inside a Lambda function, for the bench to run a handler as it runs there: plain
 * node on a large machine sizes V8 from the machine's memory (16 MB semi-spaces, a 4 GB old
 * generation on 24 GB) and lets garbage pile up far past what a function of a few hundred MB would.
 */

/**
 * The flags the Lambda Node.js runtime's own bootstrap (`/var/runtime/bootstrap`) starts node with in
 * a function of `memoryMb`: a tenth of the memory for the new space (two semi-spaces of half that
 * each) and the rest for the old generation. They are on node's command line, so NODE_OPTIONS cannot
 * change them.
 */
export function lambdaV8Flags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMb - newSpace}`];
}
