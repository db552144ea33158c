import { CREDENTIAL_STATUSES, type CredentialStatus } from '../domain/decision';
import type { ChainIssue } from './chain-check';

/** The report page: self-contained HTML (no scripts, fonts or links out), inline SVG charts, all text escaped. */

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export interface Approval {
  at: string;
  approver: string;
  credentialId: string;
  reason: string;
  until: string;
}

export interface ReportModel {
  source: string;
  generatedAt: string;
  files: number;
  credentials: number;
  decisions: number;
  issues: readonly ChainIssue[];
  /** Issues shown; the rest are counted. */
  issueLimit: number;
  /** Credentials in each status at the end of each day, every day, oldest first. */
  credentialsByDay: readonly DayCounts[];
  /** Days from flag to reauthorize, per answered request: bucket label → requests. */
  timeToReauthorize: readonly { label: string; count: number }[];
  /** owner → pending credentials past their deadline. */
  overdueByOwner: ReadonlyMap<string, number>;
  approvals: readonly Approval[];
  approvalsTotal: number;
}

/** One day of the credentials-by-state chart. */
export interface DayCounts {
  /** YYYY-MM-DD */
  day: string;
  counts: Readonly<Record<CredentialStatus, number>>;
}

const PALETTE: Record<CredentialStatus, string> = {
  active: '#16a34a',
  pending: '#d97706',
  disabled: '#dc2626',
  deleted: '#7f1d1d',
  exempt: '#7c3aed',
  protected: '#64748b',
};

export function renderReportHtml(model: ReportModel): string {
  const intact = model.issues.length === 0;
  const verdict = intact
    ? `<p class="ok">Hash chains intact: all ${model.credentials} chains, ${model.decisions} decisions.</p>`
    : `<p class="bad">Hash chains BROKEN: ${model.issues.length} problems.</p>${issueTable(model)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reauth decision record report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;max-width:1100px;color:#111}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
.ok{color:#166534;font-weight:600}.bad{color:#991b1b;font-weight:600}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
.note{color:#555}svg text{font:11px system-ui,sans-serif}
</style></head><body>
<h1>reauth decision record report</h1>
<p>Export ${escapeHtml(model.source)}: ${model.files} files, ${model.credentials} credentials, ${model.decisions} decisions. Generated ${escapeHtml(model.generatedAt)}.</p>
<section id="verdict"><h2>Chain verdict</h2>${verdict}</section>
<section id="credentials-by-state"><h2>Credentials by state over time (at the end of each day)</h2>${credentialsByStateChart(model.credentialsByDay)}</section>
<section id="time-to-reauthorize"><h2>Time to reauthorize (days from flag to reauthorize, per request)</h2>${barChart('time-to-reauthorize', model.timeToReauthorize, 'requests')}</section>
<section id="overdue-by-owner"><h2>Overdue by owner (pending past the deadline)</h2>${overdueChart(model.overdueByOwner)}</section>
<section id="approvals"><h2>Approvals</h2>${approvalsTable(model)}</section>
</body></html>
`;
}

function issueTable(model: ReportModel): string {
  const shown = model.issues.slice(0, model.issueLimit);
  const rows = shown
    .map(
      (i) =>
        `<tr><td>${escapeHtml(i.credentialId)}</td><td>${i.seq}</td><td>${escapeHtml(i.at ?? '')}</td><td>${escapeHtml(i.sk ?? '')}</td><td>${escapeHtml(i.where ?? '')}</td><td>${escapeHtml(i.problem)}</td></tr>`,
    )
    .join('');
  const more =
    model.issues.length > shown.length
      ? `<p class="note">${model.issues.length - shown.length} more problems not shown: run reauth verify for all.</p>`
      : '';
  return `<table><tr><th>credential</th><th>seq</th><th>at</th><th>sk</th><th>read at</th><th>problem</th></tr>${rows}</table>${more}`;
}

const WIDTH = 1000;
const HEIGHT = 240;
const PAD = { left: 48, right: 8, top: 8, bottom: 36 };

/** Stacked bars: one per day (every day, so gaps in time show), one segment per status. */
function credentialsByStateChart(days: readonly DayCounts[]): string {
  if (days.length === 0)
    return '<svg data-chart="credentials-by-state" width="0" height="0"></svg><p class="note">No decisions.</p>';
  const total = (d: DayCounts) => CREDENTIAL_STATUSES.reduce((n, status) => n + d.counts[status], 0);
  const max = Math.max(1, ...days.map(total));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / days.length;
  const barW = Math.max(1, slot * 0.8);
  const bars: string[] = [];
  days.forEach(({ day, counts }, i) => {
    let y = PAD.top + plotH;
    for (const status of CREDENTIAL_STATUSES) {
      const n = counts[status];
      if (n === 0) continue;
      const h = (n / max) * plotH;
      y -= h;
      bars.push(
        `<rect x="${(PAD.left + i * slot).toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[status]}"><title>${escapeHtml(`${day} ${status}: ${n}`)}</title></rect>`,
      );
    }
  });
  const labelEvery = Math.ceil(days.length / 10);
  const labels = days
    .map(({ day }, i) =>
      i % labelEvery === 0
        ? `<text x="${(PAD.left + i * slot).toFixed(1)}" y="${HEIGHT - PAD.bottom + 14}">${escapeHtml(day)}</text>`
        : '',
    )
    .join('');
  const legend = CREDENTIAL_STATUSES.map(
    (status, i) =>
      `<rect x="${PAD.left + i * 90}" y="${HEIGHT - 14}" width="10" height="10" fill="${PALETTE[status]}"/><text x="${PAD.left + i * 90 + 13}" y="${HEIGHT - 5}">${status}</text>`,
  ).join('');
  return svg('credentials-by-state', `${axis(max)}${bars.join('')}${labels}${legend}`);
}

function overdueChart(byOwner: ReadonlyMap<string, number>): string {
  const rows = [...byOwner.entries()].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  const shown = rows.slice(0, 30);
  const note =
    rows.length > shown.length
      ? `<p class="note">The 30 owners with the most; ${rows.length - 30} more owners have overdue credentials.</p>`
      : '';
  if (shown.length === 0) return `${svg('overdue-by-owner', '', 0)}<p class="note">Nothing is overdue.</p>`;
  const max = Math.max(1, ...shown.map(([, n]) => n));
  const rowH = 18;
  const labelW = 260;
  const bars = shown
    .map(([owner, n], i) => {
      const w = (n / max) * (WIDTH - labelW - 60);
      const y = i * rowH + 4;
      return `<text x="0" y="${y + 12}">${escapeHtml(owner.length > 40 ? `${owner.slice(0, 39)}…` : owner)}</text><rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="#dc2626"/><text x="${(labelW + w + 4).toFixed(1)}" y="${y + 12}">${n}</text>`;
    })
    .join('');
  return svg('overdue-by-owner', bars, shown.length * rowH + 8) + note;
}

/** Vertical bars with a label under each. */
function barChart(name: string, buckets: readonly { label: string; count: number }[], unit: string): string {
  const total = buckets.reduce((a, b) => a + b.count, 0);
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, buckets.length);
  const bars = buckets
    .map((b, i) => {
      const h = (b.count / max) * plotH;
      const x = PAD.left + i * slot;
      return `<rect x="${x.toFixed(1)}" y="${(PAD.top + plotH - h).toFixed(1)}" width="${(slot * 0.8).toFixed(1)}" height="${h.toFixed(1)}" fill="#16a34a"><title>${escapeHtml(`${b.label}: ${b.count} ${b.count === 1 ? unit.replace(/s$/, '') : unit}`)}</title></rect><text x="${x.toFixed(1)}" y="${HEIGHT - PAD.bottom + 14}">${escapeHtml(b.label)}</text>`;
    })
    .join('');
  const note =
    total === 0
      ? `<p class="note">No answered requests in this export.</p>`
      : `<p class="note">${total} ${unit}.</p>`;
  return svg(name, `${axis(max)}${bars}`) + note;
}

function axis(max: number): string {
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  return `<line x1="${PAD.left - 4}" y1="${PAD.top + plotH}" x2="${WIDTH - PAD.right}" y2="${PAD.top + plotH}" stroke="#999"/><text x="0" y="${PAD.top + 10}">${max}</text><text x="0" y="${PAD.top + plotH}">0</text>`;
}

function svg(name: string, body: string, height = HEIGHT): string {
  return `<svg data-chart="${name}" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img">${body}</svg>`;
}

function approvalsTable(model: ReportModel): string {
  if (model.approvals.length === 0) return '<p class="note">No approvals in this export.</p>';
  const rows = model.approvals
    .map(
      (a) =>
        `<tr><td>${escapeHtml(a.at)}</td><td>${escapeHtml(a.approver)}</td><td>${escapeHtml(a.credentialId)}</td><td>${escapeHtml(a.reason)}</td><td>${escapeHtml(a.until)}</td></tr>`,
    )
    .join('');
  const note =
    model.approvalsTotal > model.approvals.length
      ? `<p class="note">The latest ${model.approvals.length} of ${model.approvalsTotal} approvals; decisions.csv has them all.</p>`
      : '';
  return `${note}<table><tr><th>at</th><th>approver</th><th>credential</th><th>reason</th><th>until</th></tr>${rows}</table>`;
}
