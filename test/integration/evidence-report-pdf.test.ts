import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { chainDecision, type DecisionAction, GENESIS_HASH } from '../../lambdas/shared/domain/decision';
import { createExportWriter } from '../../lambdas/shared/evidence/export-writer';
import { credentialPk, decisionSk } from '../../lambdas/shared/table-layout';
import { requireChromium } from '../support/chromium';

const run = promisify(execFile);
const ACCOUNT = '123456789012';
/** Enough approvals for their table to run over several pages. */
const ANSWERED = 120;
const OVERDUE = 7;

/** pdftotext and pdfinfo (poppler-utils), installed with Chromium by `npm run browser:install`. */
async function poppler(tool: 'pdftotext' | 'pdfinfo', args: string[]): Promise<string> {
  try {
    return (await run(tool, args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`${tool} not found: run \`npm run browser:install\` (Debian's poppler-utils)`);
    throw error;
  }
}

function decisionsOf(index: number): Record<string, unknown>[] {
  const credentialId = `${ACCOUNT}:access-key:AKIAPDF${String(index).padStart(13, '0')}`;
  const answered = index < ANSWERED;
  const steps: [DecisionAction, string, Record<string, unknown>][] = [
    ['flag', '2026-10-01T09:00:00.000Z', { deadlineAt: '2026-10-15T09:00:00.000Z' }],
    ['notify', '2026-10-01T09:01:00.000Z', {}],
    ...(answered
      ? [
          [
            'reauthorize',
            `2026-10-0${2 + (index % 7)}T12:00:00.000Z`,
            { approver: `slack:U${index % 9}` },
          ] as const,
        ]
      : []),
  ] as [DecisionAction, string, Record<string, unknown>][];
  let previous = { seq: 0, lastHash: GENESIS_HASH };
  return steps.map(([action, at, evidence]) => {
    const decision = chainDecision(
      {
        credentialId,
        accountId: ACCOUNT,
        kind: 'access-key',
        principal: `svc-${index}`,
        owner: `U${index % 9}`,
        action,
        reason: `${action} for the printed report`,
        actor: action === 'reauthorize' ? `slack:U${index % 9}` : 'system:scan',
        at,
        mode: 'enforce',
        policyId: 'sha256:0123456789abcdef',
        evidence,
      },
      previous,
    );
    previous = { seq: decision.seq, lastHash: decision.hash };
    return { pk: credentialPk(credentialId), sk: decisionSk(decision.at, decision.seq), ...decision };
  });
}

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'reauth-report-pdf-'));
  const writer = createExportWriter(join(root, 'export'), { exportTime: '2026-11-01T00:00:00.000Z' });
  await writer.addFile(Array.from({ length: ANSWERED + OVERDUE }, (_, i) => decisionsOf(i)).flat());
  await writer.close();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function report(out: string, env: Record<string, string> = {}) {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const error = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const code = await main(['report', '--export', join(root, 'export'), '--out', join(root, out), '--pdf']);
    return { code, errors: error.mock.calls.map((c) => c.join(' ')).join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    vi.unstubAllEnvs();
  }
}

describe('reauth report --pdf', () => {
  it('prints the report to numbered pages whose text holds the summary figures, table headers repeated', async () => {
    await requireChromium();

    const { code } = await report('printed');

    expect(code).toBe(0);
    const pdf = join(root, 'printed', 'report.pdf');
    const pages = Number(/^Pages:\s+(\d+)/m.exec(await poppler('pdfinfo', [pdf]))?.[1]);
    expect(pages).toBeGreaterThanOrEqual(4);
    const text = await poppler('pdftotext', ['-layout', pdf, '-']);
    expect(text).toMatch(/Credentials in scope\s+127\b/);
    expect(text).toMatch(/Overdue now \(pending past the deadline\)\s+7\b/);
    expect(text).toMatch(
      /Reauthorized or rotated by the owner before the deadline\s+120 of 127 requests due \(94\.5%\)/,
    );
    expect(text).toMatch(/Approvals \(reauthorizations\) \(120\)/);
    const byPage = text.split('\f').filter((page) => page.trim() !== '');
    expect(byPage).toHaveLength(pages);
    byPage.forEach((page, i) => {
      expect(page, `page ${i + 1}`).toContain(`Page ${i + 1} of ${pages}`);
    });
    // The approvals run over several pages, each continued under the table's header. The approver
    // cell wraps ("slack:U8" over "(unresolved: name", where the line breaks depends on the font the
    // machine has), so its parts are found apart.
    const withApprovals = byPage.filter((page) => /slack:U\d\s/.test(page) && page.includes('(unresolved'));
    expect(withApprovals.length).toBeGreaterThanOrEqual(2);
    for (const page of withApprovals)
      expect(page).toMatch(/at\s+kind\s+principal\s+account\s+owner\s+approver/);
  });

  it('says how to get Chromium where there is none, and still writes the HTML and the CSV', async () => {
    const { code, errors } = await report('no-chromium', { CHROMIUM: join(root, 'no-such-chromium') });

    expect(code).toBe(1);
    expect(errors).toContain('npm run browser:install');
    expect(errors).toContain('set CHROMIUM');
    await access(join(root, 'no-chromium', 'report.html'));
    await access(join(root, 'no-chromium', 'decisions.csv'));
    await expect(access(join(root, 'no-chromium', 'report.pdf'))).rejects.toThrow();
  });
});
