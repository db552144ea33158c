import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { lambdaV8Flags } from '../../scripts/bench/lambda-v8';

describe('the V8 sizing the bench gives a handler as in Lambda', () => {
  it('is the old generation V8 keeps for the memory it sees: half, at least 256 MB, at most 4 GB', () => {
    expect(lambdaV8Flags(128)).toEqual(['--max-old-space-size=256', '--max-semi-space-size=1']);
    expect(lambdaV8Flags(512)).toEqual(['--max-old-space-size=256', '--max-semi-space-size=1']);
    expect(lambdaV8Flags(1024)).toEqual(['--max-old-space-size=512', '--max-semi-space-size=4']);
    expect(lambdaV8Flags(10_240)).toEqual(['--max-old-space-size=4096', '--max-semi-space-size=16']);
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
    expect(limitMb(lambdaV8Flags(512))).toBe(256 + 3 * 1);
    expect(limitMb(lambdaV8Flags(1024))).toBe(512 + 3 * 4);
  });
});
