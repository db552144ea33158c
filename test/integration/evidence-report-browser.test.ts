import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { CredentialState, DecisionAction, Transition } from '../../lambdas/shared/domain/decision';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import {
  type AxeViolation,
  auditReport,
  type Box,
  type ProbedChart,
  type ProbedMark,
  probeReport,
  type ReportProbe,
  requireChromium,
} from '../support/chromium';
import { useEmulator } from '../support/emulator';
import { exportTable } from '../support/table-export';

const { clients } = useEmulator();
const TABLE = 'evidence-report-browser-under-test';
const ACCOUNT = '123456789012';

interface History {
  credentialId: string;
  owner: string;
  steps: [DecisionAction, string][];
  /** Set while the request is pending; all are in the past, so each unanswered request is overdue. */
  deadlineAt: string;
}

/** Seven credentials over a week: four answered after <1, 1, 1 and 5 days, three left overdue. */
const HISTORIES: History[] = [
  {
    credentialId: `${ACCOUNT}:access-key:AKIAALICE0000000001`,
    owner: 'U01ALICE',
    steps: [
      ['flag', '2026-10-05T09:00:00.000Z'],
      ['notify', '2026-10-05T09:01:00.000Z'],
      ['reauthorize', '2026-10-05T20:00:00.000Z'],
    ],
    deadlineAt: '2026-10-12T09:00:00.000Z',
  },
  {
    credentialId: `${ACCOUNT}:access-key:AKIAALICE0000000002`,
    owner: 'U01ALICE',
    steps: [
      ['flag', '2026-10-05T09:00:00.000Z'],
      ['notify', '2026-10-05T09:01:00.000Z'],
      ['remind', '2026-10-06T09:00:00.000Z'],
      ['reauthorize', '2026-10-06T15:00:00.000Z'],
    ],
    deadlineAt: '2026-10-12T09:00:00.000Z',
  },
  {
    credentialId: `${ACCOUNT}:secret:arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:db-AbCdEf`,
    owner: 'U02BOB',
    steps: [
      ['flag', '2026-10-06T09:00:00.000Z'],
      ['notify', '2026-10-06T09:01:00.000Z'],
      ['escalate', '2026-10-08T09:00:00.000Z'],
      ['reauthorize', '2026-10-11T10:00:00.000Z'],
    ],
    deadlineAt: '2026-10-13T09:00:00.000Z',
  },
  {
    credentialId: `${ACCOUNT}:access-key:AKIABOB00000000001`,
    owner: 'U02BOB',
    steps: [
      ['flag', '2026-10-08T09:00:00.000Z'],
      ['notify', '2026-10-08T09:01:00.000Z'],
      ['reauthorize', '2026-10-09T12:00:00.000Z'],
    ],
    deadlineAt: '2026-10-15T09:00:00.000Z',
  },
  {
    credentialId: `${ACCOUNT}:access-key:AKIABOB00000000002`,
    owner: 'U02BOB',
    steps: [
      ['flag', '2026-10-07T09:00:00.000Z'],
      ['notify', '2026-10-07T09:01:00.000Z'],
    ],
    deadlineAt: '2026-10-14T09:00:00.000Z',
  },
  {
    credentialId: `${ACCOUNT}:access-key:AKIACAROL000000001`,
    owner: 'U03CAROL',
    steps: [
      ['flag', '2026-10-07T09:00:00.000Z'],
      ['notify', '2026-10-07T09:01:00.000Z'],
    ],
    deadlineAt: '2026-10-14T09:00:00.000Z',
  },
  {
    credentialId: `${ACCOUNT}:access-key:AKIACAROL000000002`,
    owner: 'U03CAROL',
    steps: [
      ['flag', '2026-10-08T09:00:00.000Z'],
      ['notify', '2026-10-08T09:01:00.000Z'],
      ['remind', '2026-10-09T09:00:00.000Z'],
    ],
    deadlineAt: '2026-10-15T09:00:00.000Z',
  },
];

function step(history: History, action: DecisionAction, at: string): Transition {
  const subject = {
    credentialId: history.credentialId,
    accountId: ACCOUNT,
    kind: history.credentialId.includes(':secret:') ? ('secret' as const) : ('access-key' as const),
    principal: 'svc-etl',
    owner: history.owner,
  };
  const status: CredentialState['status'] = action === 'reauthorize' ? 'active' : 'pending';
  return {
    state: {
      ...subject,
      status,
      triggers: status === 'pending' ? ['idle'] : [],
      ...(status === 'pending' && { deadlineAt: history.deadlineAt }),
    },
    decision: {
      ...subject,
      action,
      reason: `${action}, as recorded`,
      actor: action === 'reauthorize' ? `slack:${history.owner}` : 'system:scan',
      at,
      mode: 'enforce',
      policyId: 'sha256:0123456789abcdef',
      evidence:
        action === 'reauthorize'
          ? { approver: `slack:${history.owner}`, until: '2027-01-05T00:00:00.000Z' }
          : { idleDays: 120, lastUsedAt: null, triggers: ['idle'] },
    },
  };
}

/** The report's time, given with --as-of: every request still pending by then is past its deadline. */
const AS_OF = '2026-10-20T00:00:00Z';

/**
 * The stacked bars' tooltips the seeded history should give, `<day> <status>: <credentials>`: each
 * credential in the status of its last decision by the end of each day, from the first day to --as-of.
 */
function expectedStateBars(): string[] {
  const counts = new Map<string, number>();
  for (let day = '2026-10-05'; day <= AS_OF.slice(0, 10); day = nextDay(day)) {
    for (const history of HISTORIES) {
      const done = history.steps.filter(([, at]) => at.slice(0, 10) <= day);
      const last = done.at(-1);
      if (!last) continue;
      const key = `${day} ${last[0] === 'reauthorize' ? 'active' : 'pending'}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts].map(([key, n]) => `${key}: ${n}`).sort();
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** Marks the reader sees: painted, with an area. Axis lines (no height) are not among them. */
function bars(chart: ProbedChart): ProbedMark[] {
  return chart.marks.filter((mark) => mark.painted && mark.width > 0 && mark.height > 0);
}

function chart(probe: ReportProbe, name: string): ProbedChart {
  const found = probe.charts.find((c) => c.name === name);
  if (!found) throw new Error(`no chart ${name} in the page (charts: ${probe.charts.map((c) => c.name)})`);
  return found;
}

function inside(inner: Box, outer: Box): boolean {
  const slack = 0.5;
  return (
    inner.x >= outer.x - slack &&
    inner.y >= outer.y - slack &&
    inner.x + inner.width <= outer.x + outer.width + slack &&
    inner.y + inner.height <= outer.y + outer.height + slack
  );
}

let workDir: string | undefined;

/** Seeds the table, exports it, runs `reauth report` and opens the page in Chromium, once. */
async function renderReport(): Promise<{ html: string; htmlPath: string; probe: ReportProbe }> {
  await requireChromium();
  await ensureDecisionTable(clients.dynamodb, TABLE);
  const store = createDecisionStore(clients.documents, TABLE);
  for (const history of HISTORIES) {
    for (const [action, at] of history.steps) {
      await store.transition(history.credentialId, () => step(history, action, at));
    }
  }
  workDir = await mkdtemp(join(tmpdir(), 'reauth-report-browser-'));
  const exportRoot = join(workDir, 'export');
  await exportTable(clients.dynamodb, TABLE, exportRoot);
  const out = join(workDir, 'report');
  const quiet = vi.spyOn(console, 'log').mockImplementation(() => {});
  const code = await main(['report', '--export', exportRoot, '--out', out, '--as-of', AS_OF]).finally(() =>
    quiet.mockRestore(),
  );
  if (code !== 0) throw new Error(`reauth report exited ${code}`);
  const htmlPath = join(out, 'report.html');
  return {
    html: await readFile(htmlPath, 'utf8'),
    htmlPath,
    probe: await probeReport(htmlPath, { windowSize: '1200,1600' }),
  };
}

let rendered: Promise<{ html: string; htmlPath: string; probe: ReportProbe }>;

beforeAll(async () => {
  rendered = renderReport();
  // Each test awaits it, so without Chromium every test fails saying what to install (a failed hook
  // would only mark them skipped).
  await rendered.catch(() => {});
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('the evidence report opened in headless Chromium', () => {
  it('loads nothing from outside the file and runs no script of its own', async () => {
    const { html, probe } = await rendered;

    expect(probe.title).toBe('reauth decision record report, as of 2026-10-20 00:00 UTC');
    expect(html).not.toMatch(/<script/i);
    expect(probe.resources).toEqual([]);
    expect(probe.violations).toEqual([]);
  });

  it('draws every chart with marks and readable labels, inside the chart and the window', async () => {
    const { probe } = await rendered;

    expect(probe.charts.map((c) => c.name)).toEqual([
      'credentials-by-state',
      'time-to-reauthorize',
      'overdue-by-owner',
    ]);
    for (const drawn of probe.charts) {
      const { name, box } = drawn;
      expect(box.width, name).toBeGreaterThan(0);
      expect(box.height, name).toBeGreaterThan(0);
      expect(box.x + box.width, `${name} fits the window`).toBeLessThanOrEqual(probe.viewportWidth);
      expect(bars(drawn).length, `${name} drew marks`).toBeGreaterThan(0);
      for (const mark of drawn.marks.filter((m) => m.painted)) {
        expect(inside(mark, box), `${name}: ${mark.tag} ${mark.title ?? ''} inside the chart`).toBe(true);
      }
      const labels = drawn.labels.filter((label) => label.text.trim() !== '');
      expect(labels.length, `${name} has labels`).toBeGreaterThan(0);
      for (const label of labels) {
        expect(label.painted && label.width > 0, `${name}: "${label.text}" drawn`).toBe(true);
        expect(inside(label, box), `${name}: "${label.text}" inside the chart`).toBe(true);
      }
    }
  });

  it('stacks one bar per day, every day, each status as tall as its credentials, days left to right', async () => {
    const { probe } = await rendered;
    const dayBars = bars(chart(probe, 'credentials-by-state')).filter((mark) => mark.title !== null);

    expect(dayBars.map((mark) => mark.title).sort()).toEqual(expectedStateBars());
    const pxPerCredential = dayBars.map((mark) => mark.height / Number(mark.title?.split(': ')[1]));
    for (const px of pxPerCredential) expect(px).toBeCloseTo(pxPerCredential[0] ?? 0, 0);
    const daysLeftToRight = [
      ...new Set([...dayBars].sort((a, b) => a.x - b.x).map((mark) => mark.title?.slice(0, 10))),
    ];
    expect(daysLeftToRight).toEqual([...daysLeftToRight].sort());
  });

  it('shows how long owners took to reauthorize, one bar per bucket with answers', async () => {
    const { probe } = await rendered;
    const time = chart(probe, 'time-to-reauthorize');
    const answered = bars(time);

    expect(answered.map((mark) => mark.title)).toEqual(['<1: 1 request', '1: 2 requests', '4-7: 1 request']);
    expect((answered[1]?.height ?? 0) / (answered[0]?.height ?? 1)).toBeCloseTo(2, 1);
    expect(time.labels.map((label) => label.text)).toEqual(
      expect.arrayContaining(['<1', '1', '2', '3', '4-7', '8-14', '15-30', '31-60', '>60']),
    );
  });

  it('ranks the owners with overdue credentials, each bar as long as their count', async () => {
    const { probe } = await rendered;
    const overdue = chart(probe, 'overdue-by-owner');
    const rows = bars(overdue)
      .sort((a, b) => a.y - b.y)
      .map((bar) => ({
        owner: overdue.labels.find(
          (label) => label.x < bar.x && Math.abs(label.y + label.height / 2 - (bar.y + bar.height / 2)) < 4,
        )?.text,
        width: bar.width,
      }));

    expect(rows.map((row) => row.owner)).toEqual(['U03CAROL', 'U02BOB']);
    expect((rows[1]?.width ?? 0) / (rows[0]?.width ?? 1)).toBeCloseTo(0.5, 2);
    expect(overdue.labels.map((label) => label.text)).not.toContain('U01ALICE');
  });

  it('gives each chart round ticks on gridlines, axis titles with their unit, and its data in a table after it', async () => {
    const { probe } = await rendered;
    const expected = {
      'credentials-by-state': { title: 'credentials', rows: expectedStateDays() },
      'time-to-reauthorize': { title: 'requests', rows: 9 },
      'overdue-by-owner': { title: 'credentials past their deadline', rows: 2 },
    };

    for (const [name, { title, rows }] of Object.entries(expected)) {
      const drawn = chart(probe, name);
      const numbers = drawn.labels.map((label) => label.text).filter((text) => /^\d+$/.test(text));
      const gridlines = drawn.marks.filter(
        (mark) => mark.tag === 'line' && Math.max(mark.width, mark.height) > 30,
      );
      expect(numbers, `${name} ticks`).toContain('0');
      expect(new Set(numbers).size, `${name} ticks`).toBeGreaterThanOrEqual(3);
      expect(gridlines.length, `${name} gridlines`).toBeGreaterThanOrEqual(3);
      expect(
        drawn.labels.map((label) => label.text),
        `${name} axis title`,
      ).toContain(title);
      expect(drawn.details?.rows.length, `${name} data table`).toBe(rows);
    }
    expect(chart(probe, 'overdue-by-owner').details?.rows).toEqual([
      ['U03CAROL', '2'],
      ['U02BOB', '1'],
    ]);
    expect(chart(probe, 'time-to-reauthorize').details?.rows).toContainEqual(['1', '2']);
  });

  it('tells the states apart by Okabe–Ito colours and by a hatching and a name in the legend', async () => {
    const { probe } = await rendered;
    const states = chart(probe, 'credentials-by-state');
    const okabeIto = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#000000'];

    expect(states.fills).toHaveLength(6);
    for (const fill of states.fills) expect(okabeIto).toContain(fill);
    const legend = states.labels.map((label) => label.text);
    for (const state of [
      'active (solid)',
      'pending (diagonal lines)',
      'disabled (cross-hatch)',
      'deleted (dots)',
    ]) {
      expect(legend).toContain(state);
    }
  });
});

/** `serious` and `moderate` (and `critical`) violations, one line each, so a failure lists them all. */
function blocking(violations: readonly AxeViolation[]): string[] {
  return violations
    .filter((v) => v.impact !== 'minor' && v.impact !== null)
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.targets.join(', ')})`);
}

describe('the evidence report for every reader', () => {
  it('passes axe-core with no serious or moderate violation, at desktop width and at 400 px', async () => {
    const { htmlPath } = await rendered;

    const wide = await auditReport(htmlPath, { windowSize: '1200,1600' });
    const narrow = await auditReport(htmlPath, { windowSize: '600,1000', frameWidth: 400 });

    expect(blocking(wide.violations)).toEqual([]);
    expect(blocking(narrow.violations)).toEqual([]);
    expect(wide.passes).toEqual(expect.arrayContaining(['landmark-one-main', 'heading-order', 'region']));
  });

  it('reflows at 400 px: the page never scrolls sideways, only a named table wrapper may', async () => {
    const { htmlPath } = await rendered;

    const narrow = await auditReport(htmlPath, { windowSize: '600,1000', frameWidth: 400 });

    expect(narrow.viewportWidth).toBe(400);
    expect(narrow.scrollWidth).toBeLessThanOrEqual(narrow.viewportWidth);
  });

  it('has one main landmark, headings in order, and a caption on every table', async () => {
    const { html } = await rendered;
    const levels = [...html.matchAll(/<h([1-6])[\s>]/g)].map((match) => Number(match[1]));

    expect(html.match(/<main>/g)).toHaveLength(1);
    expect(levels[0]).toBe(1);
    levels.forEach((level, i) => {
      if (i > 0) expect(level, `heading ${i + 1}`).toBeLessThanOrEqual((levels[i - 1] ?? 1) + 1);
    });
    expect(html.match(/<table>/g)?.length).toBe(html.match(/<table><caption>/g)?.length);
  });

  it('breaks a credential id only between its parts, never inside an account or key id, nor at a hyphen', async () => {
    const { html } = await rendered;

    expect(html).toContain(
      '<td class="id">123456789012:<wbr>secret:<wbr>arn:<wbr>aws:<wbr>secretsmanager:<wbr><span class="nw">us-east-1:</span><wbr>123456789012:<wbr>secret:<wbr><span class="nw">db-AbCdEf</span></td>',
    );
    expect(html).not.toMatch(/overflow-wrap:anywhere/);
  });
});

/** Days from the first decision to --as-of, one row each in the chart's data table. */
function expectedStateDays(): number {
  return (Date.parse(AS_OF.slice(0, 10)) - Date.parse('2026-10-05')) / 86_400_000 + 1;
}
