import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { chainDecision, type DecisionAction, GENESIS_HASH } from '../../lambdas/shared/domain/decision';
import { createExportWriter } from '../../lambdas/shared/evidence/export-writer';
import { credentialPk, decisionSk } from '../../lambdas/shared/table-layout';
import { requireChromium } from '../support/chromium';
import { QUARTER, writeQuarterExport } from '../support/quarter-export';

const run = promisify(execFile);
const ACCOUNT = '123456789012';
/** Enough approvals for their table to run over several pages. */
const ANSWERED = 120;
const OVERDUE = 7;

/**
 * pdftotext and pdfinfo (poppler-utils), installed with Chromium by `npm run browser:install`. Fails
 * on anything poppler says on stderr: a PDF it had to repair is not a PDF that every reader opens.
 */
async function poppler(tool: 'pdftotext' | 'pdfinfo', args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(tool, args, { maxBuffer: 64 * 1024 * 1024 });
    if (stderr.trim() !== '') throw new Error(`${tool} ${args.join(' ')} complained:\n${stderr}`);
    return stdout;
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

async function report(
  out: string,
  options: { env?: Record<string, string>; args?: string[]; from?: string } = {},
) {
  for (const [name, value] of Object.entries(options.env ?? {})) vi.stubEnv(name, value);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const error = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const code = await main([
      'report',
      '--export',
      options.from ?? join(root, 'export'),
      '--out',
      join(root, out),
      '--pdf',
      ...(options.args ?? []),
    ]);
    return { code, errors: error.mock.calls.map((c) => c.join(' ')).join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    vi.unstubAllEnvs();
  }
}

interface PrintedPage {
  /** As Chromium drew it (`pdftotext -raw`): a table cell's words come out together, however they wrap. */
  raw: string;
  /** `raw` with every run of spaces and line breaks made one space, so nothing depends on where a line breaks. */
  text: string;
}

/** The PDF's page count, page size and text, page by page. */
async function readPdf(pdf: string): Promise<{ info: string; pages: PrintedPage[] }> {
  const info = await poppler('pdfinfo', [pdf]);
  const raw = await poppler('pdftotext', ['-raw', pdf, '-']);
  const pages = raw
    .split('\f')
    .filter((page) => page.trim() !== '')
    .map((page) => ({ raw: page, text: page.replace(/\s+/g, ' ').trim() }));
  return { info, pages };
}

const pageCount = (info: string) => Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
/** pdfinfo's page size in points, rounded: A4 is 595 × 842, US Letter 612 × 792. */
const pageSize = (info: string) =>
  /^Page size:\s+([\d.]+) x ([\d.]+) pts/m
    .exec(info)
    ?.slice(1)
    .map((points) => Math.round(Number(points)));

let printed: Promise<{ info: string; pages: PrintedPage[] }> | undefined;
/** The 127 credentials' report, printed with the defaults, once for the tests that read it. */
function printedDefault() {
  printed ??= (async () => {
    await requireChromium();
    const { code, errors } = await report('printed');
    if (code !== 0) throw new Error(`reauth report --pdf exited ${code}: ${errors}`);
    return readPdf(join(root, 'printed', 'report.pdf'));
  })();
  return printed;
}

describe('reauth report --pdf', () => {
  it('prints to numbered A4 pages by default, whose text holds the summary figures', async () => {
    const { info, pages } = await printedDefault();

    expect(pageSize(info)).toEqual([595, 842]);
    expect(pages.length).toBe(pageCount(info));
    expect(pages.length).toBeGreaterThanOrEqual(4);
    pages.forEach((page, i) => {
      expect(page.text, `page ${i + 1}`).toContain(`Page ${i + 1} of ${pages.length}`);
    });
    const all = pages.map((page) => page.text).join(' ');
    expect(all).toContain('Credentials in scope 127');
    expect(all).toContain('Overdue now (pending past the deadline) 7');
    expect(all).toContain(
      'Reauthorized or rotated by the owner before the deadline 120 of 127 requests due (94.5%)',
    );
    expect(all).toContain('Approvals (reauthorizations) (120)');
  });

  it('prints every approval once, over several pages that each repeat the table header', async () => {
    const { pages } = await printedDefault();
    // The approvals are the first ANSWERED keys; their ids have no break opportunity, so each is whole.
    const approvalsOn = pages.map((page) =>
      [...page.text.matchAll(/\bAKIAPDF(\d{13})\b/g)].map((m) => Number(m[1])).filter((i) => i < ANSWERED),
    );
    const withApprovals = pages.filter((_, i) => (approvalsOn[i]?.length ?? 0) > 0);

    expect(approvalsOn.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: ANSWERED }, (_, i) => i));
    expect(withApprovals.length).toBeGreaterThanOrEqual(2);
    for (const page of withApprovals) {
      expect(page.text).toContain('at kind principal account owner approver until reason credential');
      expect(page.text).toMatch(/slack:U\d \(unresolved: name not recorded with this decision\)/);
    }
  });

  it('breaks no word at a hyphen: dates, kinds and ids each stay on one line', async () => {
    const { pages } = await printedDefault();
    const all = pages.map((page) => page.text).join(' ');

    for (const page of pages) expect(page.raw).not.toMatch(/[\p{L}\p{N}]-\n/u);
    expect(all).toContain('2026-10-02 12:00 UTC');
    // A line may end after an identifier's ':' (then the text has a space there), and nowhere else in it.
    expect(all).toMatch(/123456789012: ?access-key: ?AKIAPDF0000000000000/);
  });

  it('prints US Letter pages with --paper letter', async () => {
    await requireChromium();

    const { code } = await report('letter', { args: ['--paper', 'letter'] });

    expect(code).toBe(0);
    const { info, pages } = await readPdf(join(root, 'letter', 'report.pdf'));
    expect(pageSize(info)).toEqual([612, 792]);
    expect(pages[0]?.text).toContain(`Page 1 of ${pageCount(info)}`);
  });

  it('refuses any other --paper with a usage error (exit 2), and writes nothing', async () => {
    const { code, errors } = await report('legal', { args: ['--paper', 'legal'] });

    expect(code).toBe(2);
    expect(errors).toContain('--paper "legal" is not a page size: use a4 or letter');
    await expect(access(join(root, 'legal'))).rejects.toThrow();
  });

  it('prints a three-month export with vector charts, tagged for screen readers, in under 1 MB', async () => {
    await requireChromium();
    const from = await writeQuarterExport(join(root, 'quarter-export'));

    const { code } = await report('quarter', { from });

    expect(code).toBe(0);
    const html = await readFile(join(root, 'quarter', 'report.html'), 'utf8');
    const pdf = await readFile(join(root, 'quarter', 'report.pdf'));
    const { info, pages } = await readPdf(join(root, 'quarter', 'report.pdf'));
    // A bar for every day from the first flag to the export's own day (1 November), the day after the last.
    const days = QUARTER.days + 1;
    expect(html.includes(`credentials in each state at the end of each day (${days} days)`)).toBe(true);
    expect(html.includes('<pattern')).toBe(false);
    // Chromium prints a pattern fill as a bitmap tile: a PDF without images drew its charts as shapes.
    expect(pdf.includes('/Subtype /Image')).toBe(false);
    expect(pdf.includes('/PatternType')).toBe(false);
    expect(info).toMatch(/^Tagged:\s+yes/m);
    expect(pdf.length).toBeLessThan(1_000_000);
    expect(pages.map((page) => page.text).join(' ')).toContain(`Credentials in scope ${QUARTER.credentials}`);
  });

  it('says how to get Chromium where there is none, and still writes the HTML and the CSV', async () => {
    const { code, errors } = await report('no-chromium', {
      env: { CHROMIUM: join(root, 'no-such-chromium') },
    });

    expect(code).toBe(1);
    expect(errors).toContain('npm run browser:install');
    expect(errors).toContain('set CHROMIUM');
    await access(join(root, 'no-chromium', 'report.html'));
    await access(join(root, 'no-chromium', 'decisions.csv'));
    await expect(access(join(root, 'no-chromium', 'report.pdf'))).rejects.toThrow();
  });
});
