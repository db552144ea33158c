import { afterAll, beforeAll, vi } from 'vitest';

/**
 * The EMF lines handlers print: Powertools Metrics writes them to stdout, which is what CloudWatch
 * reads in Lambda. Captured for the file's tests (other output passes through); `published` sums a
 * metric over every line of a service. The emulator's environment turns metrics off: cold-start the
 * handler with `POWERTOOLS_METRICS_DISABLED: 'false'`.
 */
export function captureMetrics() {
  const lines: Record<string, unknown>[] = [];
  const write = process.stdout.write.bind(process.stdout);
  beforeAll(() => {
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk, ...rest) => {
      const text = String(chunk);
      if (!text.includes('"_aws"')) return write(chunk, ...(rest as []));
      for (const line of text.split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      return true;
    });
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });
  return {
    published(service: string, metric: string): number {
      return lines
        .filter((line) => line.service === service)
        .reduce((sum, line) => sum + (typeof line[metric] === 'number' ? (line[metric] as number) : 0), 0);
    },
  };
}
