/**
 * How V8 is sized inside a Lambda function, for the bench to run a handler as it runs there: plain
 * node on a large machine lets the heap grow to four times what a collection left before collecting
 * again (16 MB semi-spaces, a 4 GB old generation on 24 GB), which in a function it does not.
 */
const MB = 1024 * 1024;

/**
 * The heap V8 gives itself in a Lambda function of `memoryMb`, as flags: Node hands V8 the memory it
 * sees (`ResourceConstraints::ConfigureDefaults`), and V8 (64-bit, no pointer compression, as Node
 * builds it) keeps the old generation to half of it, at least 256 MB and at most 4 GB, with
 * semi-spaces of 1/256 of that up to 256 MB and 1/128 above, between 1 and 16 MB. On this 24 GB
 * machine that rule gives the 4 GB and 16 MB plain node shows (`heap_size_limit` 4,144 MB).
 */
export function lambdaV8Flags(memoryMb: number): string[] {
  const oldGeneration = Math.min(4096 * MB, Math.max(256 * MB, (memoryMb * MB) / 2));
  const semiSpace = Math.min(16 * MB, Math.max(MB, oldGeneration / (oldGeneration <= 256 * MB ? 256 : 128)));
  return [
    `--max-old-space-size=${Math.round(oldGeneration / MB)}`,
    `--max-semi-space-size=${Math.round(semiSpace / MB)}`,
  ];
}
