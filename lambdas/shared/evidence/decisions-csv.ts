/** The report's `decisions.csv`: one row per decision, RFC 4180 quoting. */

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
  'reason',
  'mode',
  'policyId',
  'approver',
  'until',
  'triggers',
  'hash',
  'chainOk',
] as const;

/**
 * One field: quoted when it holds a comma, a quote, a line break or leading/trailing space, quotes
 * doubled. Nothing else is changed: the cell is the recorded value (no formula-neutralising prefix,
 * which would make the CSV disagree with the hashed record).
 */
export function csvField(value: unknown): string {
  const text =
    value === null || value === undefined
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
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
    item.reason,
    item.mode,
    item.policyId,
    evidence.approver,
    evidence.until,
    triggers,
    item.hash,
    chainOk,
  ]);
}
