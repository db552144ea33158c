import { CREDENTIAL_STATUSES, type CredentialStatus } from '../domain/decision';

/**
 * The report's charts: inline SVG, no script, no font or image from outside. Each has a y-axis with
 * round ticks and gridlines, axis titles with units, labels kept inside the drawing, and a `<details>`
 * table of its data after it (for screen readers and for exact numbers). Colours are Okabe–Ito
 * (distinguishable with the common colour-vision deficiencies), and each state also has its own
 * hatching and its name in the legend, so nothing depends on colour alone. No `<pattern>` fills:
 * every mark is drawn as a shape, so a printed chart stays vector (see `hatching`).
 */

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * A word (escaped) that holds a hyphen (a date, `access-key`, `us-east-1`), in a span that keeps it on
 * one line: a browser may break a line after any hyphen, and a date split over two lines ("2026-"
 * over "10-05") reads as two numbers, in print as on screen. Any other word as it is.
 */
export function wholeWord(word: string): string {
  return /[^-]-[^-]/.test(word) ? `<span class="nw">${word}</span>` : word;
}

/** Text, escaped, each of its words kept whole (`wholeWord`). */
export function unbroken(value: unknown): string {
  return escapeHtml(value).replace(/\S+/g, wholeWord);
}

/** A cell of text; one hyphenated word is kept whole by the cell's class, so most rows gain no element. */
export function textCell(value: unknown): string {
  const text = escapeHtml(value);
  if (!/\s/.test(text) && text !== wholeWord(text)) return `<td class="nw">${text}</td>`;
  return `<td>${unbroken(value)}</td>`;
}

/** One day of the credentials-by-state chart. */
export interface DayCounts {
  /** YYYY-MM-DD */
  day: string;
  counts: Readonly<Record<CredentialStatus, number>>;
}

/** Okabe & Ito (2008), "Color Universal Design": one colour and one hatching per state. */
export const STATE_STYLE: Record<CredentialStatus, { colour: string; hatching: string }> = {
  active: { colour: '#009E73', hatching: 'solid' },
  pending: { colour: '#E69F00', hatching: 'diagonal lines' },
  disabled: { colour: '#D55E00', hatching: 'cross-hatch' },
  deleted: { colour: '#000000', hatching: 'dots' },
  exempt: { colour: '#56B4E9', hatching: 'horizontal lines' },
  protected: { colour: '#0072B2', hatching: 'vertical lines' },
};
const BLUE = '#0072B2';
const VERMILLION = '#D55E00';

const WIDTH = 1000;
const HEIGHT = 300;
const PAD = { left: 64, right: 24, top: 24, bottom: 76 };
/** Roughly the width of a character of the 11px labels, to keep them inside the drawing. */
const CHAR_W = 6.2;

/** The hatching's spacing in px: a mark every 8 px, as a printed chart's fill patterns usually are. */
const HATCH = 8;

/**
 * A state's hatching over the box `x, y, w, h`, as one white `<path>` of explicit strokes (or dots)
 * cut to the box here, not an SVG `<pattern>`: Chromium prints a pattern-filled shape as a bitmap
 * tile, and a three-month chart's few hundred of them made a 25 MB PDF. Lines lie on one grid for
 * the whole chart, so a state's hatching runs on from one day's bar to the next; the vertical lines
 * and the dots are centred in the box, so a bar narrower than the spacing still shows one column.
 */
export function hatching(status: CredentialStatus, x: number, y: number, w: number, h: number): string {
  if (w <= 0 || h <= 0) return '';
  const x1 = x + w;
  const y1 = y + h;
  const f = (v: number) => v.toFixed(1);
  const segments: string[] = [];
  /** The part of the line x + y = c (rising, "/") or x - y = c (falling, "\\") inside the box. */
  const diagonal = (rising: boolean) => {
    const [lo, hi] = rising ? [x + y, x1 + y1] : [x - y1, x1 - y];
    for (let c = Math.ceil(lo / HATCH) * HATCH; c <= hi; c += HATCH) {
      const from = rising ? Math.max(x, c - y1) : Math.max(x, c + y);
      const to = rising ? Math.min(x1, c - y) : Math.min(x1, c + y1);
      if (to - from < 0.5) continue;
      const at = (px: number) => (rising ? c - px : px - c);
      segments.push(`M${f(from)},${f(at(from))}L${f(to)},${f(at(to))}`);
    }
  };
  /** Offsets of the marks across `length`, centred, at least one. */
  const centred = (length: number) => {
    const n = Math.max(1, Math.floor(length / HATCH));
    return Array.from({ length: n }, (_, i) => (length - (n - 1) * HATCH) / 2 + i * HATCH);
  };
  switch (status) {
    case 'active':
      return '';
    case 'pending':
      diagonal(true);
      break;
    case 'disabled':
      diagonal(true);
      diagonal(false);
      break;
    case 'exempt':
      for (let v = Math.ceil((y - HATCH / 2) / HATCH) * HATCH + HATCH / 2; v < y1; v += HATCH)
        if (v > y) segments.push(`M${f(x)},${f(v)}H${f(x1)}`);
      break;
    case 'protected':
      for (const dx of centred(w)) segments.push(`M${f(x + dx)},${f(y)}V${f(y1)}`);
      break;
    case 'deleted': {
      // Dots as tiny filled circles (two arcs): vector in any PDF, unlike round caps on a zero-length line.
      const r = Math.min(1.4, w / 3, h / 3);
      for (const dy of centred(h))
        for (const dx of centred(w))
          segments.push(
            `M${f(x + dx - r)},${f(y + dy)}a${r.toFixed(2)},${r.toFixed(2)} 0 1,0 ${(2 * r).toFixed(2)},0a${r.toFixed(2)},${r.toFixed(2)} 0 1,0 ${(-2 * r).toFixed(2)},0`,
          );
      return segments.length === 0 ? '' : `<path d="${segments.join('')}" fill="#fff"/>`;
    }
  }
  if (segments.length === 0) return '';
  return `<path d="${segments.join('')}" fill="none" stroke="#fff" stroke-width="${status === 'disabled' ? 1.2 : 1.5}"/>`;
}

/** One state's box: solid in its colour, its hatching over it; `inner` (a `<title>`) inside the rect. */
function stateBox(
  status: CredentialStatus,
  x: number,
  y: number,
  w: number,
  h: number,
  extra = '',
  inner = '',
): string {
  const f = (v: number) => v.toFixed(1);
  const rect = `<rect data-state="${status}" x="${f(x)}" y="${f(y)}" width="${f(w)}" height="${f(h)}" fill="${STATE_STYLE[status].colour}"${extra}>${inner}</rect>`;
  return rect + hatching(status, x, y, w, h);
}

/** Round tick values from 0 to at least `max`: steps of 1, 2 or 5 × 10ⁿ, about five of them. */
export function ticks(max: number): number[] {
  const top = Math.max(1, max);
  const rough = top / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? magnitude);
  const values: number[] = [];
  for (let v = 0; v < top + step; v += step) {
    values.push(v);
    if (v >= top) break;
  }
  return values;
}

/** The y-axis: gridlines and tick labels at each tick, the axis title (with its unit) turned up the side. */
function yAxis(tickValues: readonly number[], plotH: number, title: string): string {
  const top = tickValues.at(-1) ?? 1;
  const lines = tickValues.map((v) => {
    const y = PAD.top + plotH - (v / top) * plotH;
    return `<line x1="${PAD.left}" y1="${y.toFixed(1)}" x2="${WIDTH - PAD.right}" y2="${y.toFixed(1)}" stroke="${v === 0 ? '#555' : '#ddd'}"/><line x1="${PAD.left - 5}" y1="${y.toFixed(1)}" x2="${PAD.left}" y2="${y.toFixed(1)}" stroke="#555"/><text x="${PAD.left - 8}" y="${(y + 4).toFixed(1)}" text-anchor="end">${v}</text>`;
  });
  const mid = PAD.top + plotH / 2;
  return `${lines.join('')}<text x="14" y="${mid.toFixed(1)}" text-anchor="middle" transform="rotate(-90 14 ${mid.toFixed(1)})">${escapeHtml(title)}</text>`;
}

/** An x label centred under `x`, moved in so that it is never cut at either edge. */
function xLabel(text: string, x: number, y: number): string {
  const half = (text.length * CHAR_W) / 2;
  const centre = Math.min(Math.max(x, half + 2), WIDTH - half - 2);
  return `<line x1="${x.toFixed(1)}" y1="${y - 14}" x2="${x.toFixed(1)}" y2="${y - 10}" stroke="#555"/><text x="${centre.toFixed(1)}" y="${y}" text-anchor="middle">${escapeHtml(text)}</text>`;
}

function svg(name: string, label: string, body: string, height = HEIGHT): string {
  return `<svg data-chart="${name}" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeHtml(label)}">${body}</svg>`;
}

function dataTable(summary: string, head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map(textCell).join('')}</tr>`).join('');
  return `<details class="data"><summary>${escapeHtml(summary)}</summary><div class="table-wrap" role="region" tabindex="0" aria-label="${escapeHtml(summary)}"><table><caption>${escapeHtml(summary)}</caption><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table></div></details>`;
}

/** Stacked bars: one per day (every day, so gaps in time show), one segment per status. */
export function credentialsByStateChart(days: readonly DayCounts[]): string {
  const name = 'credentials-by-state';
  if (days.length === 0)
    return `<svg data-chart="${name}" width="0" height="0"></svg><p class="note">No decisions.</p>`;
  const total = (d: DayCounts) => CREDENTIAL_STATUSES.reduce((n, status) => n + d.counts[status], 0);
  const tickValues = ticks(Math.max(...days.map(total)));
  const top = tickValues.at(-1) ?? 1;
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
      const h = (n / top) * plotH;
      y -= h;
      bars.push(
        stateBox(
          status,
          PAD.left + i * slot,
          y,
          barW,
          h,
          '',
          `<title>${escapeHtml(`${day} ${status}: ${n}`)}</title>`,
        ),
      );
    }
  });
  // About one label per 90 px, always the first and the last day.
  const every = Math.max(1, Math.ceil(days.length / Math.floor(plotW / 90)));
  const axisY = PAD.top + plotH + 20;
  const labels = days
    .map(({ day }, i) =>
      i % every === 0 || i === days.length - 1
        ? i !== days.length - 1 && days.length - 1 - i < every / 2
          ? ''
          : xLabel(day, PAD.left + i * slot + barW / 2, axisY)
        : '',
    )
    .join('');
  const xTitle = `<text x="${(PAD.left + plotW / 2).toFixed(1)}" y="${axisY + 18}" text-anchor="middle">day (UTC; each bar: the credentials in each state at the end of that day)</text>`;
  let x = PAD.left;
  const legend = CREDENTIAL_STATUSES.map((status) => {
    const text = `${status} (${STATE_STYLE[status].hatching})`;
    const item = `${stateBox(status, x, HEIGHT - 16, 14, 12, ' stroke="#333" stroke-width="0.5"')}<text x="${x + 18}" y="${HEIGHT - 6}">${text}</text>`;
    x += Math.ceil(18 + text.length * CHAR_W * 0.85 + 14);
    return item;
  }).join('');
  const chart = svg(
    name,
    'Credentials by state at the end of each day',
    `${yAxis(tickValues, plotH, 'credentials')}${bars.join('')}${labels}${xTitle}${legend}`,
  );
  return (
    chart +
    dataTable(
      `Data table: credentials in each state at the end of each day (${days.length} days)`,
      ['day (UTC)', ...CREDENTIAL_STATUSES, 'total'],
      days.map((d) => [d.day, ...CREDENTIAL_STATUSES.map((s) => d.counts[s]), total(d)]),
    )
  );
}

/** Vertical bars with a label under each: answered requests by days from flag to reauthorization. */
export function timeToReauthorizeChart(buckets: readonly { label: string; count: number }[]): string {
  const name = 'time-to-reauthorize';
  const total = buckets.reduce((a, b) => a + b.count, 0);
  const tickValues = ticks(Math.max(0, ...buckets.map((b) => b.count)));
  const top = tickValues.at(-1) ?? 1;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, buckets.length);
  const axisY = PAD.top + plotH + 20;
  const bars = buckets
    .map((b, i) => {
      const h = (b.count / top) * plotH;
      const x = PAD.left + i * slot + slot * 0.1;
      const unit = b.count === 1 ? 'request' : 'requests';
      return `<rect x="${x.toFixed(1)}" y="${(PAD.top + plotH - h).toFixed(1)}" width="${(slot * 0.8).toFixed(1)}" height="${h.toFixed(1)}" fill="${BLUE}"><title>${escapeHtml(`${b.label}: ${b.count} ${unit}`)}</title></rect>${b.count > 0 ? `<text x="${(x + slot * 0.4).toFixed(1)}" y="${(PAD.top + plotH - h - 4).toFixed(1)}" text-anchor="middle">${b.count}</text>` : ''}${xLabel(b.label, x + slot * 0.4, axisY)}`;
    })
    .join('');
  const xTitle = `<text x="${(PAD.left + plotW / 2).toFixed(1)}" y="${axisY + 18}" text-anchor="middle">days from the flag to the reauthorization</text>`;
  const note =
    total === 0
      ? '<p class="note">No answered requests in this export.</p>'
      : `<p class="note">${total} answered requests.</p>`;
  return (
    svg(
      name,
      'Answered requests by days from flag to reauthorization',
      `${yAxis(tickValues, plotH, 'requests')}${bars}${xTitle}`,
      HEIGHT - 30,
    ) +
    note +
    dataTable(
      'Data table: answered requests by days from flag to reauthorization',
      ['days', 'requests'],
      buckets.map((b) => [b.label, b.count]),
    )
  );
}

/** Horizontal bars, most first: the 30 owners with the most overdue credentials. */
export function overdueByOwnerChart(
  byOwner: readonly [string, number][],
  ownerLabel: (id: string) => string,
): string {
  const name = 'overdue-by-owner';
  const shown = byOwner.slice(0, 30);
  const note =
    byOwner.length > shown.length
      ? `<p class="note">The 30 owners with the most; ${byOwner.length - 30} more owners have overdue credentials (all are in the table below).</p>`
      : '';
  if (shown.length === 0)
    return `${svg(name, 'Overdue credentials by owner', '', 0)}<p class="note">Nothing is overdue.</p>`;
  const tickValues = ticks(Math.max(...shown.map(([, n]) => n)));
  const top = tickValues.at(-1) ?? 1;
  const rowH = 20;
  const labelW = 300;
  const plotW = WIDTH - labelW - PAD.right - 30;
  const plotTop = 8;
  const height = plotTop + shown.length * rowH + 48;
  const grid = tickValues
    .map((v) => {
      const x = labelW + (v / top) * plotW;
      return `<line x1="${x.toFixed(1)}" y1="${plotTop}" x2="${x.toFixed(1)}" y2="${plotTop + shown.length * rowH + 4}" stroke="${v === 0 ? '#555' : '#ddd'}"/><text x="${x.toFixed(1)}" y="${plotTop + shown.length * rowH + 18}" text-anchor="middle">${v}</text>`;
    })
    .join('');
  const bars = shown
    .map(([owner, n], i) => {
      const w = (n / top) * plotW;
      const y = plotTop + i * rowH + 3;
      const label = ownerLabel(owner);
      const max = Math.floor((labelW - 8) / CHAR_W);
      return `<text x="${labelW - 6}" y="${y + 12}" text-anchor="end">${escapeHtml(label.length > max ? `${label.slice(0, max - 1)}…` : label)}</text><rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${VERMILLION}"><title>${escapeHtml(`${label}: ${n} overdue`)}</title></rect><text x="${(labelW + w + 4).toFixed(1)}" y="${y + 12}">${n}</text>`;
    })
    .join('');
  const xTitle = `<text x="${(labelW + plotW / 2).toFixed(1)}" y="${height - 8}" text-anchor="middle">credentials past their deadline</text>`;
  return (
    svg(name, 'Overdue credentials by owner', grid + bars + xTitle, height) +
    note +
    dataTable(
      `Data table: overdue credentials by owner (${byOwner.length} owners)`,
      ['owner', 'overdue credentials'],
      byOwner.map(([owner, n]) => [ownerLabel(owner), n]),
    )
  );
}
