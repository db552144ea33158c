import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { publishRunMetrics } from '../../lambdas/shared/metrics';

/** The EMF documents written to stdout while `run` runs. */
function emitted(run: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    run();
  } finally {
    write.mockRestore();
  }
  return lines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.includes('_aws'))
    .map((l) => JSON.parse(l));
}

const state = (status: CredentialState['status'], deadlineAt?: string) =>
  ({ status, ...(deadlineAt && { deadlineAt }) }) as CredentialState;

afterEach(() => vi.unstubAllEnvs());

describe('publishRunMetrics', () => {
  it("writes a run's counts, the credentials by status and the overdue ones as CloudWatch EMF", () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const now = new Date('2026-11-23T12:00:00Z');
    const docs = emitted(() =>
      publishRunMetrics(
        'reauth-scan',
        { Findings: 3, Notified: 2 },
        {
          values: [
            state('pending', '2026-11-20T00:00:00Z'),
            state('pending', '2026-12-20T00:00:00Z'),
            state('active'),
          ],
          now,
        },
      ),
    );

    expect(docs[0]).toMatchObject({ Findings: 3, Notified: 2, service: 'reauth-scan' });
    expect(JSON.stringify(docs[0])).toContain('"Namespace":"reauth"');
    expect(docs.filter((d) => 'Credentials' in d).map((d) => [d.status, d.Credentials])).toEqual([
      ['pending', 2],
      ['active', 1],
    ]);
    expect(docs.at(-1)).toMatchObject({ Overdue: 1 });
  });
});
