import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CREDENTIAL_STATUSES, type CredentialStatus } from '../domain/decision';
import {
  brokenKeys,
  ChainChecker,
  type ChainVerdict,
  type ChainChecker as Checker,
  decisionKey,
} from './chain-check';
import { CSV_COLUMNS, csvLine, decisionCsvLine } from './decisions-csv';
import {
  describeSource,
  type ExportFile,
  type ExportManifest,
  ExportNotFoundError,
  type ExportSource,
  itemKind,
  listExportFiles,
  listExportManifests,
  type ReadExportOptions,
  readExportFiles,
} from './export-reader';
import { chromiumInstalled, chromiumMissingHint, chromiumPath, printPdf } from './print-pdf';
import { type Approval, type DayCounts, renderReportHtml } from './report-html';

const DAY_MS = 86_400_000;

export interface VerifyResult {
  source: string;
  files: number;
  /** Items read (decisions, states and others, duplicates included). */
  items: number;
  verdict: ChainVerdict;
}

/** Checks every hash chain of an export in one streaming pass. */
export async function verifyExport(
  source: ExportSource,
  options: ReadExportOptions = {},
): Promise<VerifyResult> {
  const files = await listExportFiles(source, options);
  const { verdict, items } = await checkFiles(files, () => {});
  refuseEmpty(source, verdict, items);
  return { source: describeSource(source), files: files.length, items, verdict };
}

/** No chain to check is not "all chains intact": an empty export proves nothing, so it is an error. */
function refuseEmpty(source: ExportSource, verdict: ChainVerdict, items: number): void {
  if (verdict.credentials > 0 || verdict.issues.length > 0) return;
  throw new ExportNotFoundError(
    items === 0
      ? `${describeSource(source)} holds no items`
      : `${describeSource(source)} holds no decision or STATE items (${items} other items)`,
  );
}

export interface ReportOptions extends ReadExportOptions {
  /** When overdue and state are judged. @default the export's own time */
  asOf?: Date;
  /** Also print report.html to report.pdf with headless Chromium. @default false */
  pdf?: boolean;
  /** Approvals listed in the HTML (the latest). @default 500 */
  approvalsLimit?: number;
  /** Chain problems listed in the HTML. @default 200 */
  issueLimit?: number;
}

export interface ReportResult extends VerifyResult {
  csvPath: string;
  htmlPath: string;
  /** Written when `pdf` was asked for and Chromium is installed. */
  pdfPath?: string;
  /** Why no PDF was written although `pdf` was asked for, and how to get one. */
  pdfUnavailable?: string;
  /** The time everything was judged at (ISO). */
  asOf: string;
  rows: number;
}

/**
 * Writes `decisions.csv` and `report.html` into `outDir`. Two streaming passes over the export: the
 * first checks the chains and counts (per day, per owner, a capped list of approvals), the second
 * writes the CSV rows with their chain verdict. Memory grows with the number of decisions (two hashes
 * each), not with their size.
 */
export async function writeEvidenceReport(
  source: ExportSource,
  outDir: string,
  options: ReportOptions = {},
): Promise<ReportResult> {
  const approvalsLimit = options.approvalsLimit ?? 500;
  const files = await listExportFiles(source, options);
  const manifests = await listExportManifests(source, options);
  const approvals = new ApprovalList(approvalsLimit);
  let latestDecision = '';
  const { verdict, items, checker } = await checkFiles(files, (item) => {
    if (typeof item.at === 'string' && item.at > latestDecision) latestDecision = item.at;
    const action = String(item.action);
    const evidence = (item.evidence ?? {}) as Record<string, unknown>;
    if ((action === 'reauthorize' || action === 'exempt') && evidence.approver) {
      approvals.add({
        at: String(item.at),
        approver: String(evidence.approver),
        credentialId: String(item.credentialId),
        reason: String(item.reason ?? ''),
        until: String(evidence.until ?? ''),
      });
    }
  });
  refuseEmpty(source, verdict, items);
  const now = options.asOf ?? exportTime(manifests, latestDecision);

  const overdueByOwner = new Map<string, number>();
  for (const state of checker.stateSummaries().values()) {
    if (state.status === 'pending' && state.deadlineAt && Date.parse(state.deadlineAt) < now.getTime()) {
      overdueByOwner.set(state.owner, (overdueByOwner.get(state.owner) ?? 0) + 1);
    }
  }
  const byDaysToReauthorize = timeToReauthorize(checker);
  const credentialsByDay = credentialsByStateOverTime(checker, now);
  // The chains are not needed past this point: the CSV pass runs without them.
  checker.release();
  await mkdir(outDir, { recursive: true });
  const csvPath = join(outDir, 'decisions.csv');
  const rows = await writeCsv(files, csvPath, brokenKeys(verdict.issues));
  const htmlPath = join(outDir, 'report.html');
  await writeFile(
    htmlPath,
    renderReportHtml({
      source: describeSource(source),
      generatedAt: now.toISOString(),
      files: files.length,
      credentials: verdict.credentials,
      decisions: verdict.decisions,
      issues: verdict.issues,
      issueLimit: options.issueLimit ?? 200,
      credentialsByDay,
      timeToReauthorize: byDaysToReauthorize,
      overdueByOwner,
      approvals: approvals.latest(),
      approvalsTotal: approvals.total,
    }),
  );
  const pdf = options.pdf ? await writePdf(htmlPath, join(outDir, 'report.pdf')) : {};
  return {
    source: describeSource(source),
    files: files.length,
    items,
    verdict,
    csvPath,
    htmlPath,
    ...pdf,
    asOf: now.toISOString(),
    rows,
  };
}

/**
 * The time the export is consistent to: the latest of its manifests' (a full export and the
 * incrementals after it), else, with no manifest beside the data files, its latest decision.
 */
export function exportTime(manifests: readonly ExportManifest[], latestDecision: string): Date {
  const times = manifests.flatMap((m) => (m.asOf ? [m.asOf] : [])).sort();
  const at = times.at(-1) ?? latestDecision;
  return at ? new Date(at) : new Date(0);
}

async function writePdf(
  htmlPath: string,
  pdfPath: string,
): Promise<{ pdfPath?: string; pdfUnavailable?: string }> {
  const chromium = chromiumPath();
  if (!(await chromiumInstalled(chromium))) return { pdfUnavailable: chromiumMissingHint(chromium) };
  await printPdf(htmlPath, pdfPath, chromium);
  return { pdfPath };
}

async function checkFiles(
  files: readonly ExportFile[],
  onNewDecision: (item: Record<string, unknown>) => void,
): Promise<{ verdict: ChainVerdict; items: number; checker: Checker }> {
  const checker = new ChainChecker();
  let items = 0;
  for await (const { file, line, item } of readExportFiles(files)) {
    items += 1;
    const kind = itemKind(item);
    if (kind === 'decision') {
      if (checker.addDecision(item, file, line)) onNewDecision(item);
    } else if (kind === 'state') {
      checker.addState(item);
    }
  }
  return { verdict: checker.finish(), items, checker };
}

async function writeCsv(
  files: readonly ExportFile[],
  path: string,
  broken: ReadonlySet<string>,
): Promise<number> {
  const out = createWriteStream(path);
  const written = new Set<string>();
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  try {
    await write(csvLine(CSV_COLUMNS));
    for await (const { item } of readExportFiles(files)) {
      if (itemKind(item) !== 'decision') continue;
      const key = decisionKey(String(item.credentialId), Number(item.seq));
      if (written.has(key)) continue;
      written.add(key);
      await write(decisionCsvLine(item, !broken.has(key)));
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return written.size;
}

/**
 * Credentials in each status at the end of each day, every day from the first decision's to `now`'s
 * (the last `maxDays` of them), rebuilt from each chain: a decision moves its credential to the status
 * it leaves it in; `refuse` and `observe` move nothing (a first `observe` finds it active). One pass
 * over the chains, memory by days × statuses.
 */
export function credentialsByStateOverTime(checker: Checker, now: Date, maxDays = 366): DayCounts[] {
  const moves = new Map<number, Map<CredentialStatus, number>>();
  let first = Number.POSITIVE_INFINITY;
  let last = Math.floor(now.getTime() / DAY_MS);
  for (const [, chain] of checker.chains()) {
    let current: CredentialStatus | undefined;
    for (const link of chain) {
      const next = link.status ?? current ?? 'active';
      if (next === current || Number.isNaN(link.at)) continue;
      const day = Math.floor(link.at / DAY_MS);
      first = Math.min(first, day);
      last = Math.max(last, day);
      let move = moves.get(day);
      if (!move) {
        move = new Map();
        moves.set(day, move);
      }
      if (current) move.set(current, (move.get(current) ?? 0) - 1);
      move.set(next, (move.get(next) ?? 0) + 1);
      current = next;
    }
  }
  if (first === Number.POSITIVE_INFINITY) return [];
  const running = Object.fromEntries(CREDENTIAL_STATUSES.map((s) => [s, 0])) as Record<
    CredentialStatus,
    number
  >;
  const days: DayCounts[] = [];
  for (let day = first; day <= last; day += 1) {
    for (const [status, n] of moves.get(day) ?? []) running[status] += n;
    if (day > last - maxDays) {
      days.push({ day: new Date(day * DAY_MS).toISOString().slice(0, 10), counts: { ...running } });
    }
  }
  return days;
}

/** Days from each flag to the reauthorize that answered it, bucketed. */
export function timeToReauthorize(checker: Checker): { label: string; count: number }[] {
  const buckets = [
    { label: '<1', max: 1, count: 0 },
    { label: '1', max: 2, count: 0 },
    { label: '2', max: 3, count: 0 },
    { label: '3', max: 4, count: 0 },
    { label: '4-7', max: 8, count: 0 },
    { label: '8-14', max: 15, count: 0 },
    { label: '15-30', max: 31, count: 0 },
    { label: '31-60', max: 61, count: 0 },
    { label: '>60', max: Number.POSITIVE_INFINITY, count: 0 },
  ];
  for (const [, chain] of checker.chains()) {
    let flaggedAt: number | undefined;
    for (const link of chain) {
      if (link.action === 'flag') flaggedAt ??= link.at;
      else if (link.action === 'reauthorize' && flaggedAt !== undefined) {
        const days = (link.at - flaggedAt) / DAY_MS;
        const bucket = buckets.find((b) => days < b.max);
        if (bucket) bucket.count += 1;
        flaggedAt = undefined;
      } else if (['disable', 'delete', 'exempt', 'rotate'].includes(link.action)) flaggedAt = undefined;
    }
  }
  return buckets.map(({ label, count }) => ({ label, count }));
}

/** The latest `limit` approvals, by time, in bounded memory. */
class ApprovalList {
  private items: Approval[] = [];
  total = 0;
  constructor(private readonly limit: number) {}
  add(approval: Approval): void {
    this.total += 1;
    this.items.push(approval);
    if (this.items.length >= this.limit * 2) this.trim();
  }
  latest(): Approval[] {
    this.trim();
    return this.items;
  }
  private trim(): void {
    this.items.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    this.items.length = Math.min(this.items.length, this.limit);
  }
}
