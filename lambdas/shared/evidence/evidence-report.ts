import { createHash, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Transform } from 'node:stream';
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
import { PopulationChecker, type PopulationRow } from './population-check';
import { chromiumInstalled, chromiumMissingHint, chromiumPath, printPdf } from './print-pdf';
import { type DayCounts, type PaperSize, renderReportHtml, renderTableRow } from './report-html';
import { DecisionCollector } from './report-model';
import { RowSpill } from './row-spill';

const DAY_MS = 86_400_000;

export interface VerifyResult {
  source: string;
  files: number;
  /** Items read (decisions, states and others, duplicates included). */
  items: number;
  verdict: ChainVerdict;
}

/** Checks every hash chain of an export in one streaming pass. */
export interface VerifyOptions extends ReadExportOptions {
  /** The checkpoint key's public key: each population record's signature is checked with it. */
  publicKey?: KeyObject;
}

export async function verifyExport(source: ExportSource, options: VerifyOptions = {}): Promise<VerifyResult> {
  const files = await listExportFiles(source, options);
  const { verdict, items } = await checkFiles(files, () => {}, options.publicKey);
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

export interface ReportOptions extends VerifyOptions {
  /** When overdue and state are judged. @default the export's own time */
  asOf?: Date;
  /** Also print report.html to report.pdf with headless Chromium. @default false */
  pdf?: boolean;
  /** The page size the report prints to (report.pdf, and report.html from a browser). @default 'a4' */
  paper?: PaperSize;
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
 * Writes `decisions.csv` and `report.html` into `outDir` (and `report.pdf` when asked). Two streaming
 * passes over the export: the first checks the chains, hashes each file and gathers the counts and the
 * rows of the page's tables; the second writes the CSV rows with their chain verdict. Memory grows with
 * the number of decisions (about 100 bytes each in the chain checker, and a few numbers for each tabled
 * one, whose rendered row waits in a temporary file), not with their size.
 *
 * Reproducible: everything is judged as of the export's own time (the latest `exportTime` or
 * `exportToTime` of its manifests; with no manifest, its latest decision) unless `asOf` says
 * otherwise, and nothing on the page depends on when or where it was made.
 */
export async function writeEvidenceReport(
  source: ExportSource,
  outDir: string,
  options: ReportOptions = {},
): Promise<ReportResult> {
  const listed = await listExportFiles(source, options);
  const manifests = await listExportManifests(source, options);
  const fromManifests = exportTime(manifests);
  const known = options.asOf ?? fromManifests;
  const hashes = new Map<string, { sha256: string; bytes: number }>();
  const files = listed.map((file) => hashing(file, (digest) => hashes.set(file.name, digest)));
  const spill = new RowSpill();
  const collector = new DecisionCollector(known?.getTime(), renderTableRow, spill);
  try {
    const { verdict, items, checker, population } = await checkFiles(
      files,
      (item) => collector.add(item),
      options.publicKey,
    );
    refuseEmpty(source, verdict, items);
    const latest = collector.latestDecision();
    const asOf = known ?? (latest ? new Date(latest) : new Date(0));
    const asOfFrom = options.asOf
      ? 'set with --as-of'
      : fromManifests
        ? "the export's own time, from its manifest"
        : 'the latest decision: no manifest gives the export time';

    const model = collector.finish(checker, asOf);
    const credentialsByDay = credentialsByStateOverTime(checker, asOf);
    const byDaysToReauthorize = timeToReauthorize(checker, asOf);
    // The chains are not needed past this point: the CSV pass runs without them.
    checker.release();
    await mkdir(outDir, { recursive: true });
    const htmlPath = join(outDir, 'report.html');
    const shown = (name: string) =>
      source.kind === 'dir' ? relative(source.path, name).split(sep).join('/') : name;
    await writeChunks(
      htmlPath,
      renderReportHtml({
        source: describeSource(source),
        asOf: asOf.toISOString(),
        asOfFrom,
        toolVersion: await toolVersion(),
        exports: manifests,
        inputs: [
          ...manifests.map((m) => ({ name: shown(m.name), sha256: m.sha256, bytes: m.bytes })),
          ...listed.map((f) => ({
            name: shown(f.name),
            ...(hashes.get(f.name) ?? { sha256: '', bytes: 0 }),
          })),
        ],
        files: files.length,
        credentials: verdict.credentials,
        decisions: verdict.decisions,
        issues: verdict.issues,
        issueLimit: options.issueLimit ?? 200,
        model,
        credentialsByDay,
        timeToReauthorize: byDaysToReauthorize,
        paper: options.paper ?? 'a4',
        population,
      }),
    );
    const csvPath = join(outDir, 'decisions.csv');
    const rows = await writeCsv(listed, csvPath, brokenKeys(verdict.issues));
    await writePopulationCsv(population, join(outDir, 'population.csv'));
    const pdf = options.pdf ? await writePdf(htmlPath, join(outDir, 'report.pdf')) : {};
    return {
      source: describeSource(source),
      files: files.length,
      items,
      verdict,
      csvPath,
      htmlPath,
      ...pdf,
      asOf: asOf.toISOString(),
      rows,
    };
  } finally {
    spill.close();
  }
}

/**
 * The time the export is consistent to: the latest of its manifests' (a full export and the
 * incrementals after it); undefined with no manifest beside the data files.
 */
export function exportTime(manifests: readonly ExportManifest[]): Date | undefined {
  const at = manifests
    .flatMap((m) => (m.asOf ? [m.asOf] : []))
    .sort()
    .at(-1);
  return at ? new Date(at) : undefined;
}

/** The file as read, hashed on the way: SHA-256 and size once it has been read to its end. */
function hashing(file: ExportFile, done: (digest: { sha256: string; bytes: number }) => void): ExportFile {
  return {
    name: file.name,
    async open() {
      const raw = await file.open();
      const hash = createHash('sha256');
      let bytes = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          bytes += chunk.length;
          callback(null, chunk);
        },
        flush(callback) {
          done({ sha256: hash.digest('hex'), bytes });
          callback();
        },
      });
      raw.on('error', (error) => tap.destroy(error));
      tap.on('close', () => raw.destroy());
      return raw.pipe(tap);
    },
  };
}

async function writeChunks(path: string, chunks: Iterable<string>): Promise<void> {
  const out = createWriteStream(path);
  try {
    for (const chunk of chunks) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
}

/** reauth's version, from its package.json, for the report's header. */
async function toolVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'));
    return String(pkg.version ?? 'unknown');
  } catch {
    return 'unknown';
  }
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
  publicKey?: KeyObject,
): Promise<{ verdict: ChainVerdict; items: number; checker: Checker; population: PopulationRow[] }> {
  const checker = new ChainChecker();
  const populations = new PopulationChecker(publicKey);
  let items = 0;
  for await (const { file, line, item } of readExportFiles(files)) {
    items += 1;
    const kind = itemKind(item);
    if (kind === 'decision') {
      if (checker.addDecision(item, file, line)) onNewDecision(item);
    } else if (kind === 'state') {
      checker.addState(item);
    } else if (kind === 'population') {
      populations.addRecord(item, file, line);
    } else if (kind === 'population-head') {
      populations.addHead(item);
    }
  }
  const verdict = checker.finish();
  const population = populations.finish((credentialId, seq) => checker.hashAt(credentialId, seq));
  return {
    verdict: {
      ...verdict,
      populationRecords: population.records,
      populationSignatures: population.signatures,
      decisionHeads: population.heads,
      issues: [...verdict.issues, ...population.issues],
    },
    items,
    checker,
    population: population.rows,
  };
}

/** Every scan's population record, one row each: an auditor's sample of any day and account. */
async function writePopulationCsv(rows: readonly PopulationRow[], path: string): Promise<void> {
  const out = createWriteStream(path);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  try {
    await write(
      csvLine([
        'at',
        'accountId',
        'actor',
        'evaluated',
        'findings',
        'counts',
        'inventoryAt',
        'root',
        'signature',
      ]),
    );
    for (const r of rows)
      await write(
        csvLine([
          r.at,
          r.accountId,
          r.actor,
          r.evaluated,
          r.findings,
          Object.entries(r.counts)
            .map(([kind, n]) => `${kind}=${n}`)
            .join(';'),
          r.inventoryAt,
          r.root,
          r.signature,
        ]),
      );
  } finally {
    out.end();
    await once(out, 'close');
  }
}

async function writeCsv(
  files: readonly ExportFile[],
  path: string,
  broken: ReadonlySet<string>,
): Promise<number> {
  const out = createWriteStream(path);
  // Seqs written, by credential: a duplicate (the same decision in two exports) is written once. A few
  // small numbers per credential, not a 60-character key per decision.
  const written = new Map<string, Set<number>>();
  let rows = 0;
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  try {
    await write(csvLine(CSV_COLUMNS));
    for await (const { item } of readExportFiles(files)) {
      if (itemKind(item) !== 'decision') continue;
      const credentialId = String(item.credentialId);
      const seq = Number(item.seq);
      let seqs = written.get(credentialId);
      if (!seqs) {
        seqs = new Set();
        written.set(credentialId, seqs);
      }
      if (seqs.has(seq)) continue;
      seqs.add(seq);
      rows += 1;
      await write(decisionCsvLine(item, !broken.has(decisionKey(credentialId, seq))));
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return rows;
}

/**
 * Credentials in each status at the end of each day, every day from the first decision's to `asOf`'s
 * (the last `maxDays` of them), rebuilt from each chain: a decision moves its credential to the status
 * it leaves it in; `refuse` and `observe` move nothing (a first `observe` finds it active). Decisions
 * after `asOf` are left out. One pass over the chains, memory by days × statuses.
 */
export function credentialsByStateOverTime(checker: Checker, asOf: Date, maxDays = 366): DayCounts[] {
  const moves = new Map<number, Map<CredentialStatus, number>>();
  let first = Number.POSITIVE_INFINITY;
  const last = Math.floor(asOf.getTime() / DAY_MS);
  for (const [, chain] of checker.chains()) {
    let current: CredentialStatus | undefined;
    for (const link of chain) {
      if (link.at > asOf.getTime()) break;
      const next = link.status ?? current ?? 'active';
      if (next === current || Number.isNaN(link.at)) continue;
      const day = Math.floor(link.at / DAY_MS);
      first = Math.min(first, day);
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
export function timeToReauthorize(
  checker: Checker,
  asOf = new Date(8.64e15),
): { label: string; count: number }[] {
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
      if (link.at > asOf.getTime()) break;
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
