/** A plain-text table: a header, a rule, and left-aligned columns as wide as their widest cell. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  /** `figures`: every column but the first is aligned right, as figures are (the benchmarks' tables). */
  options: { align?: 'left' | 'figures' } = {},
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const right = (i: number) => options.align === 'figures' && i > 0;
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (right(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
