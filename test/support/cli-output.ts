import { vi } from 'vitest';

/** What the CLI prints (console.log and console.error), line by line, until the mocks are restored. */
export function captureOutput(): string[] {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  return lines;
}
