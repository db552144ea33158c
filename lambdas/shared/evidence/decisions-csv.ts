/**
 * The report's `decisions.csv`: one row per decision, RFC 4180 (CRLF line ends, a field quoted when it
 * holds a comma, a quote or a line break, quotes doubled), spreadsheet-safe.
 *
 * Hand-written rather than a CSV library: the whole of RFC 4180 output is the ten lines below, it
 * streams row by row with no buffering, and it keeps the evidence path free of a dependency whose
 * quoting and formula options would have to be pinned and re-checked on every upgrade. The tests hold
 * it to the RFC and to the neutralising rule, with a round trip through a reader of the same rules.
 */

export const CSV_COLUMNS = [
  'credentialId',
  'accountId',
  'kind',
  'principal',
  'owner',
  'seq',
  'at',
  'action',
  'actor',
  'actorName',
  'actorEmail',
  'reason',
  'mode',
  'policyId',
  'approver',
  'until',
  'triggers',
  'controls',
  'schemaVersion',
  'prevHash',
  'hash',
  'chainOk',
] as const;

/**
 * Cells a spreadsheet would read as a formula, per OWASP's CSV injection guidance: beginning with `=`,
 * `+`, `-`, `@`, a tab or a carriage return. Reasons are free text typed in Slack, so
 * `=HYPERLINK(…)` must open as text.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Neutralises a cell the OWASP way: a `'` before a cell that begins like a formula. A cell that
 * already begins with `'` gets one more, so the rule is reversible without guessing: to read the
 * recorded value back, drop one leading `'` when there is one ({@link unneutralise}). The CSV is a
 * view of the record; the hashes are checked against the export, never against these cells.
 */
export function neutralise(text: string): string {
  return FORMULA_START.test(text) || text.startsWith("'") ? `'${text}` : text;
}

/** The recorded value of a neutralised cell (after RFC 4180 unquoting). */
export function unneutralise(cell: string): string {
  return cell.startsWith("'") ? cell.slice(1) : cell;
}

/** One field: neutralised, then quoted when it holds a comma, a quote, a line break or an edge space. */
export function csvField(value: unknown): string {
  const text = neutralise(
    value === null || value === undefined
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value),
  );
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** The row of one exported decision item. */
export function decisionCsvLine(item: Record<string, unknown>, chainOk: boolean): string {
  const evidence = (item.evidence && typeof item.evidence === 'object' ? item.evidence : {}) as Record<
    string,
    unknown
  >;
  const triggers = Array.isArray(evidence.triggers) ? evidence.triggers.join(';') : (evidence.trigger ?? '');
  const controls = Array.isArray(evidence.controls) ? evidence.controls.join(';') : '';
  return csvLine([
    item.credentialId,
    item.accountId,
    item.kind,
    item.principal,
    item.owner,
    item.seq,
    item.at,
    item.action,
    item.actor,
    evidence.actorName,
    evidence.actorEmail,
    item.reason,
    item.mode,
    item.policyId,
    evidence.approver,
    evidence.until,
    triggers,
    controls,
    item.schemaVersion,
    item.prevHash,
    item.hash,
    chainOk,
  ]);
}
