import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { lambdaV8Flags } from '../../scripts/bench/lambda-v8';

describe('the V8 sizing the bench gives a handler as in Lambda', () => {
  it("is the Lambda Node.js runtime bootstrap's: a tenth of the memory new space, the rest old generation", () => {
    expect(lambdaV8Flags(128)).toEqual(['--max-semi-space-size=6', '--max-old-space-size=116']);
    expect(lambdaV8Flags(512)).toEqual(['--max-semi-space-size=25', '--max-old-space-size=461']);
  });

  it('is what node reads from those flags: the old generation plus three semi-spaces', () => {
    const limitMb = (flags: string[]) =>
      Number(
        execFileSync(process.execPath, [
          ...flags,
          '-p',
          "require('node:v8').getHeapStatistics().heap_size_limit / 1048576",
        ]).toString(),
      );
    // V8 rounds a semi-space up to a power of two.
    expect(limitMb(lambdaV8Flags(128))).toBe(116 + 3 * 8);
    expect(limitMb(lambdaV8Flags(512))).toBe(461 + 3 * 32);
  });
});
