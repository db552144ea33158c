import { CONTROL_DESCRIPTIONS } from '../domain/controls';
import type { ChainIssue } from './chain-check';
import type { PopulationRow, SignatureStatus } from './population-check';
import {
  credentialsByStateChart,
  type DayCounts,
  escapeHtml,
  overdueByOwnerChart,
  textCell,
  timeToReauthorizeChart,
  unbroken,
  wholeWord,
} from './report-charts';
import {
  type DecisionModel,
  EXPIRING_DAYS,
  type OverdueRow,
  type Person,
  type Row,
  type Section,
  type TableRows,
} from './report-model';

export { type DayCounts, escapeHtml } from './report-charts';

/**
 * The report page: self-contained HTML (no scripts, fonts or links out), inline SVG charts, all text
 * escaped. Nothing on it depends on when or where it was generated: the same export (and `--as-of`)
 * gives the same bytes, so a report can be regenerated and compared with one kept as evidence.
 */

/** The page sizes the report prints to: ISO A4 (210 × 297 mm) or US Letter (8.5 × 11 in). */
export const PAPER_SIZES = ['a4', 'letter'] as const;
export type PaperSize = (typeof PAPER_SIZES)[number];
const PAGE_SIZE: Record<PaperSize, string> = { a4: 'A4', letter: 'letter' };

/** An input file of the report, with its SHA-256 (to tie the report to the locked objects). */
export interface InputFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface ExportSeen {
  exportId: string;
  type: string;
  asOf?: string;
  from?: string;
  itemCount?: number;
}

export interface ReportModel {
  source: string;
  /** ISO: everything is judged as of this time. */
  asOf: string;
  /** Where `asOf` came from, in words. */
  asOfFrom: string;
  toolVersion: string;
  exports: readonly ExportSeen[];
  inputs: readonly InputFile[];
  files: number;
  credentials: number;
  decisions: number;
  issues: readonly ChainIssue[];
  /** Issues shown; the rest are counted. */
  issueLimit: number;
  model: DecisionModel;
  /** Credentials in each status at the end of each day, every day, oldest first. */
  credentialsByDay: readonly DayCounts[];
  /** Days from flag to reauthorize, per answered request: bucket label → requests. */
  timeToReauthorize: readonly { label: string; count: number }[];
  /** The page size of the print stylesheet, so report.html prints to the same pages as report.pdf. */
  paper: PaperSize;
  /** What each scan of each account evaluated (its population record), oldest first. */
  population: readonly PopulationRow[];
}

/** `YYYY-MM-DD HH:MM UTC`; empty stays empty, anything that is not a time is shown as recorded. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const text = new Date(ms).toISOString();
  return `${text.slice(0, 10)} ${text.slice(11, 16)} UTC`;
}

/**
 * A person as an auditor can read them: `Name <email> (slack:U…)` when the decision recorded them
 * (schema 2 on), else the id, marked unresolved: a name looked up today could be someone else's.
 */
export function formatPerson(person: Person | string): string {
  if (typeof person === 'string') return person;
  if (!person.id) return '';
  if (person.name || person.email) {
    const email = person.email ? ` <${person.email}>` : '';
    return `${person.name ?? ''}${email} (${person.id})`.trim();
  }
  return person.id.startsWith('slack:')
    ? `${person.id} (unresolved: name not recorded with this decision)`
    : person.id;
}

const SECTION_TITLES: Record<Section, string> = {
  approvals: 'Approvals (reauthorizations)',
  disables: 'Disables, rotations, restores and deletions',
  escalations: 'Escalations',
  exemptions: 'Exemptions',
  protected: 'Protected principals',
  drift: 'Drift (a disabled credential turned back on outside reauth)',
  refusals:
    'Refused attempts (someone not allowed tried to answer, or answered for an account reauth does not cover)',
};

const COMMON = ['at', 'kind', 'principal', 'account', 'owner'] as const;

/** Per section: the columns after the common ones, and how each row fills them. */
const SECTION_COLUMNS: Record<
  Section,
  {
    head: string[];
    cells: (row: Row) => string[];
    /** The columns of `head` that hold identifiers (ARNs). */
    code?: number[];
  }
> = {
  approvals: {
    head: ['approver', 'until', 'reason'],
    cells: (r) => [
      formatPerson(r.extra.approver || r.actor),
      formatTime(String(r.extra.until ?? '')),
      r.reason,
    ],
  },
  disables: {
    head: ['action', 'by', 'reason'],
    cells: (r) => [r.action, formatPerson(r.actor), r.reason],
  },
  escalations: { head: ['by', 'reason'], cells: (r) => [formatPerson(r.actor), r.reason] },
  exemptions: {
    head: ['approver', 'expires', 'reason'],
    cells: (r) => [formatPerson(r.extra.approver ?? ''), formatTime(String(r.extra.until ?? '')), r.reason],
  },
  protected: { head: ['matches', 'reason'], cells: (r) => [String(r.extra.pattern ?? ''), r.reason] },
  drift: {
    head: ['turned on by', 'seen by', 'reason'],
    cells: (r) => [String(r.extra.by ?? ''), String(r.extra.seenBy ?? ''), r.reason],
    code: [0],
  },
  refusals: {
    head: ['who', 'attempted', 'refused because'],
    cells: (r) => [
      formatPerson(r.actor),
      String(r.extra.attempted ?? ''),
      String(r.extra.refusedBecause ?? ''),
    ],
  },
};

function style(paper: PaperSize): string {
  return `
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;max-width:1100px;color:#111}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}h3{font-size:1rem}
.ok{color:#1b5e20;font-weight:600}.bad{color:#b71c1c;font-weight:600}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}
caption{caption-side:top;text-align:left;color:#444;font-size:.9em;padding:2px 0}
th{background:#f2f2f2}.nw{white-space:nowrap}td.n,th.n{text-align:right}
.table-wrap{max-width:100%;overflow-x:auto}
.note{overflow-wrap:break-word}dd{overflow-wrap:break-word;min-width:0}
.note{color:#444}svg{max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#111}
dl.figures{display:grid;grid-template-columns:max-content auto;gap:2px 1rem}dl.figures dt{font-weight:600}dl.figures dd{margin:0}
details.data{margin:.3rem 0 1rem}
@media (max-width:640px){body{margin:1rem}dl.figures{grid-template-columns:minmax(0,1fr)}dl.figures dd{margin-bottom:.3rem}}
@page{size:${PAGE_SIZE[paper]};margin:14mm 12mm 16mm;@bottom-center{content:"Page " counter(page) " of " counter(pages);font:9pt system-ui,sans-serif}}
@media print{
body{margin:0;max-width:none;font-size:9pt}
h2{break-before:auto;break-after:avoid}h3{break-after:avoid}
thead{display:table-header-group}tr,svg,dl.figures,.keep{break-inside:avoid}
table{width:100%}td,th{padding:1px 4px}.table-wrap{overflow:visible}
details.data{display:none}nav{break-after:page}
}`;
}

/** The page in pieces, in order, so that a long report is written without one string of its whole. */
export function* renderReportHtml(m: ReportModel): Generator<string> {
  const { model } = m;
  const intact = m.issues.length === 0;
  const verdict = intact
    ? `<p class="ok">Hash chains intact: all ${m.credentials} chains, ${m.decisions} decisions.</p>`
    : `<p class="bad">Hash chains BROKEN: ${m.issues.length} problems.</p>${issueTable(m)}`;
  yield `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reauth decision record report, as of ${escapeHtml(formatTime(m.asOf))}</title>
<style>${style(m.paper)}</style></head><body><main>
<h1>reauth decision record report</h1>
${header(m)}
<nav><h2>Contents</h2><ol>
<li><a href="#verdict">Chain verdict</a></li><li><a href="#summary">Executive summary</a></li>
<li><a href="#population">Population</a></li>
<li><a href="#counts">Decisions by action, kind, account and owner</a></li><li><a href="#controls">Controls</a></li>
<li><a href="#charts">Charts</a></li><li><a href="#overdue">Overdue credentials</a> (${model.overdue.length})</li>
${Object.entries(SECTION_TITLES)
  .map(([s, t]) => `<li><a href="#${s}">${escapeHtml(t)}</a> (${model.tables[s as Section].length})</li>`)
  .join('')}
</ol></nav>
<section id="verdict"><h2>Chain verdict</h2>${verdict}</section>
${summary(m)}
${population(m)}
${counts(model)}
${controls(model)}
<section id="charts"><h2>Charts</h2>
<h3 id="credentials-by-state">Credentials by state over time</h3>${credentialsByStateChart(m.credentialsByDay)}
<h3 id="time-to-reauthorize">Time to reauthorize</h3>${timeToReauthorizeChart(m.timeToReauthorize)}
<h3 id="overdue-by-owner">Overdue by owner</h3>${overdueByOwnerChart(overdueByOwner(model.overdue), (o) => o)}
</section>
${overdueTable(model.overdue, m.asOf)}
`;
  for (const section of Object.keys(SECTION_TITLES) as Section[])
    yield* decisionsTable(section, model.tables[section]);
  yield '</main></body></html>\n';
}

function header(m: ReportModel): string {
  const { model } = m;
  const exportsTable =
    m.exports.length === 0
      ? '<p class="note">No manifest-summary.json beside the data files: export ids and times unknown.</p>'
      : table(
          'Exports read: one row per export',
          ['export id', 'type', 'consistent to', 'from (incremental)', 'items'],
          m.exports.map((e) => [
            e.exportId,
            e.type === 'INCREMENTAL_EXPORT' ? 'incremental' : 'full',
            formatTime(e.asOf),
            formatTime(e.from),
            e.itemCount === undefined ? '' : String(e.itemCount),
          ]),
          [0],
        );
  const policies = table(
    'Policies in force: one row per policy the decisions name',
    ['policy id', 'modes', 'tiers', 'decisions', 'first', 'last'],
    model.policies.map((p) => [
      p.policyId,
      p.modes.join(', '),
      p.tiers.join(', '),
      String(p.decisions),
      formatTime(p.first),
      formatTime(p.last),
    ]),
    [0],
  );
  const after =
    model.afterAsOf > 0
      ? ` ${model.afterAsOf} decisions recorded after that time are in the chain check and in decisions.csv, but not counted or listed here.`
      : '';
  return `<section id="header" class="keep"><h2>About this report</h2>
<dl class="figures">
<dt>As of</dt><dd>${unbroken(formatTime(m.asOf))} (${escapeHtml(m.asOfFrom)}).${unbroken(after)}</dd>
<dt>Period covered</dt><dd>${model.firstAt ? `${unbroken(formatTime(model.firstAt))} to ${unbroken(formatTime(m.asOf))}` : 'no decisions'}</dd>
<dt>Export read</dt><dd>${breakable(m.source)}: ${m.files} data files, ${m.credentials} credentials, ${m.decisions} decisions</dd>
<dt>Tool</dt><dd>reauth ${escapeHtml(m.toolVersion)}</dd>
</dl>
<h3>Exports</h3>${exportsTable}
<h3>Policies in force (from the decisions)</h3>${policies}
<h3>Input files (SHA-256, to match the locked objects in the evidence bucket)</h3>
${table(
  'Input files: one row per file read',
  ['file', 'bytes', 'SHA-256'],
  m.inputs.map((f) => [f.name, String(f.bytes), f.sha256]),
  [0, 2],
)}
</section>`;
}

function summary(m: ReportModel): string {
  const s = m.model.summary;
  const inScope = s.inScope.reduce((n, r) => n + r.credentials, 0);
  const rate =
    s.requestsDue === 0
      ? 'no request was due'
      : `${s.answeredInTime} of ${s.requestsDue} requests due (${((100 * s.answeredInTime) / s.requestsDue).toFixed(1)}%)`;
  const hours = (h: number | undefined) =>
    h === undefined ? 'none answered' : h < 48 ? `${h.toFixed(1)} hours` : `${(h / 24).toFixed(1)} days`;
  const n = (action: string) => s.byAction[action] ?? 0;
  const figures: [string, string, string][] = [
    ['in-scope', 'Credentials in scope', `${inScope}`],
    ['in-time', 'Reauthorized or rotated by the owner before the deadline', rate],
    ['overdue', 'Overdue now (pending past the deadline)', `${s.overdue}`],
    ['disabled', 'Disabled in the period', `${n('disable')}`],
    ['rotated', 'Rotated in the period', `${n('rotate')}`],
    ['restored', 'Restored in the period', `${n('restore')}`],
    // A label is one line of the figures' table: a longer one squeezes every value beside it.
    ['sessions-revoked', 'Sessions revoked in the period', `${s.sessionsRevoked}`],
    ['deleted', 'Deleted in the period', `${n('delete')}`],
    ['exempt-active', 'Exemptions active', `${s.exemptActive}`],
    ['exempt-expiring', `Exemptions expiring within ${EXPIRING_DAYS} days`, `${s.exemptExpiring}`],
    ['median', 'Median time to reauthorize (flag to answer)', hours(s.medianHours)],
    ['p90', '90th percentile time to reauthorize', hours(s.p90Hours)],
    ['answered', 'Requests answered by a reauthorization', `${s.answered}`],
    ['usage-changed', 'Flagged for a use in a new way (usage-changed)', `${s.usageChanged}`],
  ];
  return `<section id="summary"><h2>Executive summary</h2>
<dl class="figures">${figures.map(([id, label, value]) => `<dt>${escapeHtml(label)}</dt><dd data-figure="${id}">${unbroken(value)}</dd>`).join('')}</dl>
<h3>Credentials in scope by account and kind</h3>
${table(
  'Credentials in scope, by account and kind',
  ['account', 'kind', 'credentials'],
  s.inScope.map((r) => [r.account, r.kind, String(r.credentials)]),
)}
</section>`;
}

/**
 * What was evaluated, per day and account (an auditor's population), beside the credentials in scope,
 * and the gaps: a day, from an account's first population record to the report's day, with no scan of
 * it (a failed account, a run that did not happen) is a finding of its own.
 */
function population(m: ReportModel): string {
  const rows = m.population;
  if (rows.length === 0)
    return '<section id="population"><h2>Population</h2><p class="note">No scan population record in this export (scans before reauth recorded them).</p></section>';
  const day = (iso: string) => iso.slice(0, 10);
  const lastDay = day(m.asOf);
  const byAccount = new Map<string, Set<string>>();
  for (const row of rows) {
    let days = byAccount.get(row.accountId);
    if (!days) {
      days = new Set();
      byAccount.set(row.accountId, days);
    }
    days.add(day(row.at));
  }
  // Each run of consecutive days without a scan is one gap: bounded by the accounts, not by the days.
  const gaps: string[][] = [];
  let gapDays = 0;
  for (const [account, days] of byAccount) {
    const first = [...days].sort()[0] as string;
    let from: string | undefined;
    let last = '';
    let length = 0;
    const close = () => {
      if (from)
        gaps.push([
          from === last ? from : `${from} to ${last}`,
          account,
          `no scan of this account (${length} days)`,
        ]);
      from = undefined;
      length = 0;
    };
    for (let t = Date.parse(first); day(new Date(t).toISOString()) <= lastDay; t += 86_400_000) {
      const d = day(new Date(t).toISOString());
      if (days.has(d)) {
        close();
        continue;
      }
      from ??= d;
      last = d;
      length += 1;
      gapDays += 1;
    }
    close();
  }
  const inScope = new Map<string, number>();
  for (const r of m.model.summary.inScope)
    inScope.set(r.account, (inScope.get(r.account) ?? 0) + r.credentials);
  return `<section id="population"><h2>Population</h2>
<p class="note">Each scan records what it evaluated in the account: every credential, by kind, committed to by a Merkle root over each credential id and its outcome, chained per account (checked in the chain verdict above). ${gaps.length === 0 ? 'No gap: every account was scanned every day from its first record.' : `<strong>${gaps.length} gaps</strong> (${gapDays} account-days): days an account was not scanned.`}</p>
${gaps.length > 0 ? `<h3>Gaps</h3>${table('Days with no scan of an account', ['days', 'account', 'finding'], gaps, [1])}` : ''}
<h3>Scans by day</h3>
${table(
  'Each day: accounts scanned, credentials evaluated and findings, and the scans whose record is unsigned (every scan of every account is a row of population.csv, with its signature)',
  ['day', 'accounts scanned', 'evaluated', 'findings', 'unsigned'],
  byDay(rows).map(([d, t]) => [
    d,
    String(t.accounts),
    String(t.evaluated),
    String(t.findings),
    String(t.unsigned),
  ]),
)}
<h3>Latest scan of each account</h3>
${table(
  'The latest scan of each account: credentials by kind, findings, the credential report it read, its Merkle root, its signature, and the credentials in scope of the decision record',
  [
    'account',
    'scanned',
    'evaluated',
    'by kind',
    'findings',
    'credential report',
    'in scope (record)',
    'Merkle root',
    'signature',
  ],
  latestByAccount(rows).map((r) => [
    r.accountId,
    formatTime(r.at),
    String(r.evaluated),
    Object.entries(r.counts)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', '),
    String(r.findings),
    formatTime(r.inventoryAt),
    String(inScope.get(r.accountId) ?? 0),
    r.root,
    SIGNATURE_LABELS[r.signature],
  ]),
  [0, 7],
)}
</section>`;
}

/** A population record's signature as the page says it. */
const SIGNATURE_LABELS: Record<SignatureStatus, string> = {
  verified: 'signed, verified',
  invalid: 'signed, DOES NOT VERIFY',
  signed: 'signed, not checked (no public key given)',
  unsigned: 'UNSIGNED',
};

interface DayTally {
  accounts: number;
  evaluated: number;
  findings: number;
  unsigned: number;
}

function byDay(rows: readonly PopulationRow[]): [string, DayTally][] {
  const days = new Map<string, DayTally>();
  for (const r of rows) {
    const d = r.at.slice(0, 10);
    const t = days.get(d) ?? { accounts: 0, evaluated: 0, findings: 0, unsigned: 0 };
    t.accounts += 1;
    t.evaluated += r.evaluated;
    t.findings += r.findings;
    if (r.signature === 'unsigned') t.unsigned += 1;
    days.set(d, t);
  }
  return [...days].sort(([a], [b]) => (a < b ? -1 : 1));
}

function latestByAccount(rows: readonly PopulationRow[]): PopulationRow[] {
  const latest = new Map<string, PopulationRow>();
  for (const r of rows) {
    const kept = latest.get(r.accountId);
    if (!kept || r.at > kept.at) latest.set(r.accountId, r);
  }
  return [...latest.values()].sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
}

function counts(model: DecisionModel): string {
  const block = (title: string, head: string, rows: [string, number][]) =>
    `<h3>By ${title}</h3>${table(
      `Decisions by ${title}`,
      [head, 'decisions'],
      rows.map(([k, v]) => [k, String(v)]),
    )}`;
  return `<section id="counts"><h2>Decisions by action, kind, account and owner</h2>
${block('action', 'action', model.counts.byAction)}
${block('kind', 'kind', model.counts.byKind)}
${block('account', 'account', model.counts.byAccount)}
${block('owner', 'owner', model.counts.byOwner)}
<h3>Requests by owner source</h3>${table(
    'Requests opened (flags) by where their owner came from: a tag, a group, a path, a stack, the account, the creator, an assignment, or the fallback owner when none named one',
    ['owner source', 'requests'],
    model.counts.requestsByOwnerSource.map(([k, v]) => [k, String(v)]),
  )}
</section>`;
}

function controls(model: DecisionModel): string {
  if (model.controls.length === 0)
    return '<section id="controls"><h2>Controls</h2><p class="note">No decision names a control.</p></section>';
  const parts = model.controls.map(([control, actions]) => {
    const total = actions.reduce((n, [, c]) => n + c, 0);
    const asks = CONTROL_DESCRIPTIONS[control] ?? 'not described by this version of reauth';
    const list = actions
      .map(([action, c]) => {
        const section = tableOf(action);
        const name = section ? `<a href="#${section}">${escapeHtml(action)}</a>` : escapeHtml(action);
        return `<li>${name}: ${c}</li>`;
      })
      .join('');
    const laxer = model.laxerFlags.find(([c]) => c === control)?.[1] ?? 0;
    const lax = laxer
      ? `<p class="note">${laxer} flags are not counted: their tier's limit is laxer than this control's (or was not recorded), so they do not show it operating.</p>`
      : '';
    return `<div class="keep"><h3>${escapeHtml(control)}</h3><p>${escapeHtml(asks)}</p><p>${total} decisions evidence it:</p><ul>${list}</ul>${lax}</div>`;
  });
  const laxerOnly = model.laxerFlags.filter(([c]) => !model.controls.some(([k]) => k === c));
  return `<section id="controls"><h2>Controls</h2>
<p class="note">Mapped by this version of reauth's table (a decision evidences a control only when its credential's kind is the control's subject, its action operates the control, and a flag's trigger and tier limit meet the control's), as docs/decision-record.md lists it. Each decision also carries the controls it named when written, in <code>evidence.controls</code> (hashed, so kept as written; the <code>controls</code> column of decisions.csv)${model.controlsRemapped ? `: ${model.controlsRemapped} decisions named other controls then` : ''}. The tables below list the approvals, disables, escalations, exemptions and the rest, each complete.</p>
${parts.join('\n')}
${laxerOnly.map(([c, n]) => `<div class="keep"><h3>${escapeHtml(c)}</h3><p>${escapeHtml(CONTROL_DESCRIPTIONS[c] ?? '')}</p><p class="note">No decision evidences it: ${n} flags were made under a tier laxer than this control's limit (or before limits were recorded).</p></div>`).join('\n')}</section>`;
}

function tableOf(action: string): Section | undefined {
  const map: Record<string, Section> = {
    reauthorize: 'approvals',
    disable: 'disables',
    rotate: 'disables',
    restore: 'disables',
    delete: 'disables',
    escalate: 'escalations',
    exempt: 'exemptions',
    drift: 'drift',
    refuse: 'refusals',
  };
  return map[action];
}

function overdueByOwner(rows: readonly OverdueRow[]): [string, number][] {
  const by = new Map<string, number>();
  for (const r of rows) by.set(r.owner, (by.get(r.owner) ?? 0) + 1);
  return [...by].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
}

function overdueTable(rows: readonly OverdueRow[], asOf: string): string {
  const head = `<section id="overdue"><h2>Overdue credentials (${rows.length})</h2><p class="note">Pending past their deadline as of ${unbroken(formatTime(asOf))}, most overdue first.</p>`;
  if (rows.length === 0) return `${head}<p class="note">Nothing is overdue.</p></section>`;
  return `${head}${table(
    `Overdue credentials as of ${formatTime(asOf)}, most overdue first`,
    ['kind', 'principal', 'account', 'owner', 'deadline', 'days overdue', 'credential'],
    rows.map((r) => [
      r.kind,
      r.principal,
      r.account,
      r.owner,
      formatTime(r.deadlineAt),
      String(r.daysOverdue),
      r.credentialId,
    ]),
    [6],
  )}</section>`;
}

/** One row of a section's table, rendered once when the decision is read. */
export function renderTableRow(section: Section, r: Row): string {
  const values = [
    formatTime(r.at),
    r.kind,
    r.principal,
    r.account,
    r.owner,
    ...SECTION_COLUMNS[section].cells(r),
    r.credentialId,
  ];
  const code = new Set([
    values.length - 1,
    ...(SECTION_COLUMNS[section].code ?? []).map((i) => COMMON.length + i),
  ]);
  return `<tr>${values.map((v, i) => cell(v, code.has(i))).join('')}</tr>`;
}

function* decisionsTable(section: Section, rows: TableRows): Generator<string> {
  const title = SECTION_TITLES[section];
  yield `<section id="${section}"><h2>${escapeHtml(title)} (${rows.length})</h2>`;
  if (rows.length === 0) {
    yield '<p class="note">None in this period.</p></section>\n';
    return;
  }
  yield `<p class="note">All ${rows.length}, oldest first.</p>`;
  yield `${wrapOpen(title)}<table><caption>${unbroken(title)}: all ${rows.length}, oldest first</caption><thead><tr>${[
    ...COMMON,
    ...SECTION_COLUMNS[section].head,
    'credential',
  ]
    .map((h) => `<th scope="col">${escapeHtml(h)}</th>`)
    .join('')}</tr></thead><tbody>`;
  // In batches of about 32,000 characters: not one write per row, nor 500 rows at once (150 kB strings,
  // which bench:report measured at 5 MB more peak RSS).
  let batch: string[] = [];
  let length = 0;
  for (const row of rows.rows()) {
    batch.push(row);
    length += row.length;
    if (length >= 32_000) {
      yield batch.join('');
      batch = [];
      length = 0;
    }
  }
  if (batch.length > 0) yield batch.join('');
  yield '</tbody></table></div></section>\n';
}

/**
 * A table with its caption, in a wrapper that scrolls sideways on a narrow screen (so the page itself
 * never does); the wrapper is focusable and named, so a keyboard user can scroll it and knows what it is.
 * `code` lists the columns of identifiers (credential ids, ARNs, paths, hashes).
 */
function table(
  caption: string,
  head: readonly string[],
  rows: readonly (readonly string[])[],
  code: readonly number[] = [],
): string {
  if (rows.length === 0) return '<p class="note">None.</p>';
  return `${wrapOpen(caption)}<table><caption>${unbroken(caption)}</caption><thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => cell(c, code.includes(i))).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

function wrapOpen(label: string): string {
  return `<div class="table-wrap" role="region" tabindex="0" aria-label="${escapeHtml(label)}">`;
}

function cell(value: string, code: boolean): string {
  return code ? `<td class="id">${breakable(value)}</td>` : textCell(value);
}

/**
 * An identifier (credential id, ARN, path), escaped, with a break opportunity after each `:` and `/`:
 * it wraps between its parts, never inside an account id or a key id, nor at a part's own hyphen
 * (`us-east-1`, which a browser would otherwise break after the hyphen).
 */
export function breakable(value: string): string {
  return escapeHtml(value).replace(/[^:/]*[:/]?/g, (part) =>
    /[:/]$/.test(part) ? `${wholeWord(part)}<wbr>` : wholeWord(part),
  );
}

function issueTable(m: ReportModel): string {
  const shown = m.issues.slice(0, m.issueLimit);
  const more =
    m.issues.length > shown.length
      ? `<p class="note">${m.issues.length - shown.length} more problems not shown: run reauth verify for all.</p>`
      : '';
  return (
    table(
      'Hash chain problems',
      ['credential', 'seq', 'at', 'sk', 'read at', 'problem'],
      shown.map((i) => [
        i.credentialId,
        String(i.seq),
        formatTime(i.at),
        i.sk ?? '',
        i.where ?? '',
        i.problem,
      ]),
      [0, 3],
    ) + more
  );
}
