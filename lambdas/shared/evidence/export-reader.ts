import { createHash } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { POPULATION_HEAD_SK, STATE_SK } from '../table-layout';

/**
 * Reads DynamoDB table exports in the DYNAMODB_JSON format, one item at a time: each data file is
 * gzipped, one JSON object per line — `{"Item": {…}}` in a full export, `{"Keys": {…}, "NewImage":
 * {…}, "OldImage": {…}}` in an incremental one. Nothing is held beyond the line being read.
 */

/** Where an export lives: a local directory, or an S3 bucket and prefix. */
export type ExportSource = { kind: 'dir'; path: string } | { kind: 's3'; bucket: string; prefix: string };

/** A line that is not a DynamoDB JSON export record; the message names the file and line. */
export class ExportFormatError extends Error {
  override readonly name = 'ExportFormatError';
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${file}${line > 0 ? `:${line}` : ''}: ${message}`, options);
  }
}

/**
 * Nothing to check where an export was looked for: no such directory or S3 prefix, no data file under
 * it, or data files that hold no item. Checking zero chains would otherwise pass as "all intact".
 */
export class ExportNotFoundError extends Error {
  override readonly name = 'ExportNotFoundError';
}

const DATA_FILES = 'expected AWSDynamoDB/<exportId>/data/*.gz or *.json.gz';

/**
 * The S3 commands, loaded only for an `s3://` export: a report over a local directory (the common
 * case, and the bench) does not pay the S3 client's modules in memory or start-up time.
 */
function s3Commands() {
  return import('@aws-sdk/client-s3');
}

/** `s3://bucket/prefix` or a directory path. */
export function parseExportSource(text: string): ExportSource {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(text);
  if (s3) return { kind: 's3', bucket: s3[1] as string, prefix: s3[2] ?? '' };
  return { kind: 'dir', path: text };
}

export function describeSource(source: ExportSource): string {
  return source.kind === 's3' ? `s3://${source.bucket}/${source.prefix}` : source.path;
}

/** One item of the export, plain JS values, with where it was read. */
export interface ExportRecord {
  file: string;
  line: number;
  item: Record<string, unknown>;
}

export type ItemKind = 'decision' | 'state' | 'population' | 'population-head' | 'other';

/**
 * Decision (`sk = DECISION#…`), state (`sk = STATE`), a scan's population record (`pk = POPULATION#…`,
 * `sk = RUN#…`) or its chain's head (`sk = HEAD`), or anything else (export records, `pk = EXPORT#…`).
 */
export function itemKind(item: Record<string, unknown>): ItemKind {
  const { pk, sk } = item;
  if (typeof sk !== 'string' || typeof pk !== 'string') return 'other';
  if (pk.startsWith('CRED#')) {
    if (sk.startsWith('DECISION#')) return 'decision';
    if (sk === STATE_SK) return 'state';
  }
  if (pk.startsWith('POPULATION#')) {
    if (sk.startsWith('RUN#')) return 'population';
    if (sk === POPULATION_HEAD_SK) return 'population-head';
  }
  return 'other';
}

export interface ReadExportOptions {
  /** Needed for an `s3://` source; the caller builds it (one client per process). */
  s3?: S3Client;
}

/** A data file of the export: its name (key or path) and how to open it. */
export interface ExportFile {
  name: string;
  open(): Promise<Readable>;
}

/**
 * The data files of an export, sorted by name: under a directory, every `*.gz` in a `data/` folder
 * (`AWSDynamoDB/<exportId>/data/…`) and any `*.json.gz`; under an S3 prefix, the same keys.
 * Throws {@link ExportNotFoundError} when there are none.
 */
export async function listExportFiles(
  source: ExportSource,
  options: ReadExportOptions = {},
): Promise<ExportFile[]> {
  const where = describeSource(source);
  if (source.kind === 'dir') {
    let entries: Dirent[];
    try {
      entries = await readdir(source.path, { recursive: true, withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new ExportNotFoundError(
          `no export found at ${where}: ${code === 'ENOENT' ? 'no such directory' : 'not a directory'}`,
          { cause: error },
        );
      }
      throw error;
    }
    const paths = entries
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
      .filter((path) => isDataFile(relative(source.path, path).split(sep).join('/')))
      .sort();
    if (paths.length === 0) {
      throw new ExportNotFoundError(
        `no export found at ${where}: ${entries.length === 0 ? 'the directory is empty' : `no data files (${DATA_FILES})`}`,
      );
    }
    return paths.map((path) => ({ name: path, open: async () => createReadStream(path) }));
  }
  const { s3 } = options;
  if (!s3) throw new Error('an s3:// export needs an S3 client');
  const { GetObjectCommand, paginateListObjectsV2 } = await s3Commands();
  const keys: string[] = [];
  let objects = 0;
  try {
    for await (const page of paginateListObjectsV2(
      { client: s3 },
      { Bucket: source.bucket, Prefix: source.prefix },
    )) {
      for (const object of page.Contents ?? []) {
        objects += 1;
        if (object.Key && isDataFile(object.Key)) keys.push(object.Key);
      }
    }
  } catch (error) {
    if ((error as Error).name === 'NoSuchBucket') {
      throw new ExportNotFoundError(`no export found at ${where}: no such bucket`, { cause: error });
    }
    throw error;
  }
  if (keys.length === 0) {
    throw new ExportNotFoundError(
      `no export found at ${where}: ${objects === 0 ? 'no object under that prefix' : `no data files among its ${objects} objects (${DATA_FILES})`}`,
    );
  }
  return keys.sort().map((key) => ({
    name: `s3://${source.bucket}/${key}`,
    open: async () => {
      const { Body } = await s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: key }));
      if (!Body) throw new Error(`s3://${source.bucket}/${key}: empty GetObject body`);
      return Body as Readable;
    },
  }));
}

/**
 * One export's `manifest-summary.json`, as DynamoDB writes it: the time a full export is consistent
 * to (`exportTime`), or the window an incremental one covers (`exportFromTime` to `exportToTime`).
 */
export interface ExportManifest {
  /** The last part of `exportArn` (or the folder name when there is no ARN). */
  exportId: string;
  exportArn?: string;
  type: 'FULL_EXPORT' | 'INCREMENTAL_EXPORT' | string;
  /** What the export is consistent to: `exportTime`, or `exportToTime` for an incremental one (ISO). */
  asOf?: string;
  /** An incremental export's `exportFromTime` (ISO). */
  from?: string;
  itemCount?: number;
  /** Where it was read. */
  name: string;
  /** The manifest's SHA-256 (hex) and size, to tie a report to the object in the evidence bucket. */
  sha256: string;
  bytes: number;
}

/** The `manifest-summary.json` of every export under `source`, sorted by name; none is not an error. */
export async function listExportManifests(
  source: ExportSource,
  options: ReadExportOptions = {},
): Promise<ExportManifest[]> {
  const found: { name: string; read: () => Promise<string> }[] = [];
  if (source.kind === 'dir') {
    const entries = await readdir(source.path, { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (entry.isFile() && entry.name === 'manifest-summary.json') {
        const path = join(entry.parentPath, entry.name);
        found.push({ name: path, read: () => readFile(path, 'utf8') });
      }
    }
  } else {
    const { s3 } = options;
    if (!s3) throw new Error('an s3:// export needs an S3 client');
    const { GetObjectCommand, paginateListObjectsV2 } = await s3Commands();
    for await (const page of paginateListObjectsV2(
      { client: s3 },
      { Bucket: source.bucket, Prefix: source.prefix },
    )) {
      for (const { Key } of page.Contents ?? []) {
        if (!Key?.endsWith('/manifest-summary.json')) continue;
        found.push({
          name: `s3://${source.bucket}/${Key}`,
          read: async () => {
            const { Body } = await s3.send(new GetObjectCommand({ Bucket: source.bucket, Key }));
            if (!Body) throw new Error(`s3://${source.bucket}/${Key}: empty GetObject body`);
            return Body.transformToString();
          },
        });
      }
    }
  }
  found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const manifests: ExportManifest[] = [];
  for (const { name, read } of found) {
    let summary: Record<string, unknown>;
    const text = await read();
    try {
      summary = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new ExportFormatError(name, 0, `not JSON (${(error as Error).message})`, { cause: error });
    }
    const arn = typeof summary.exportArn === 'string' ? summary.exportArn : undefined;
    const folder = name.split('/').at(-2) ?? name;
    const type = typeof summary.exportType === 'string' ? summary.exportType : 'FULL_EXPORT';
    manifests.push({
      exportId: arn?.split('/').at(-1) ?? folder,
      ...(arn && { exportArn: arn }),
      type,
      ...optionalTime('asOf', summary.exportToTime ?? summary.exportTime),
      ...optionalTime('from', summary.exportFromTime),
      ...(typeof summary.itemCount === 'number' && { itemCount: summary.itemCount }),
      name,
      sha256: createHash('sha256').update(text).digest('hex'),
      bytes: Buffer.byteLength(text),
    });
  }
  return manifests;
}

/** DynamoDB writes these times as ISO strings; older SDK dumps hold epoch seconds. */
function optionalTime<K extends string>(key: K, value: unknown): Partial<Record<K, string>> {
  const at =
    typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : null;
  return at && !Number.isNaN(at.getTime()) ? ({ [key]: at.toISOString() } as Record<K, string>) : {};
}

function isDataFile(path: string): boolean {
  return path.endsWith('.json.gz') || (path.endsWith('.gz') && /(^|\/)data\/[^/]+$/.test(path));
}

/** Every item of the given files, in file order then line order; deletions (no NewImage) are skipped. */
export async function* readExportFiles(files: readonly ExportFile[]): AsyncGenerator<ExportRecord> {
  for (const file of files) yield* readExportFile(file);
}

/** Every item of the export at `source`. */
export async function* readExport(
  source: ExportSource,
  options: ReadExportOptions = {},
): AsyncGenerator<ExportRecord> {
  yield* readExportFiles(await listExportFiles(source, options));
}

async function* readExportFile(file: ExportFile): AsyncGenerator<ExportRecord> {
  const raw = await file.open();
  const gunzip = createGunzip();
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= new ExportFormatError(file.name, 0, `cannot read: ${error.message}`, { cause: error });
    gunzip.destroy();
  };
  raw.on('error', fail);
  gunzip.on('error', fail);
  const lines = createInterface({ input: raw.pipe(gunzip), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      if (text.trim() === '') continue;
      const item = parseExportLine(text, file.name, line);
      if (item) yield { file: file.name, line, item };
    }
  } catch (error) {
    if (error instanceof ExportFormatError) throw error;
    throw (
      failure ??
      new ExportFormatError(file.name, 0, `cannot read: ${(error as Error).message}`, { cause: error })
    );
  } finally {
    lines.close();
    raw.destroy();
  }
  if (failure) throw failure;
}

/** One line of a data file to its item, or undefined for an incremental deletion. */
export function parseExportLine(
  text: string,
  file: string,
  line: number,
): Record<string, unknown> | undefined {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (error) {
    throw new ExportFormatError(file, line, `not JSON (${(error as Error).message})`, { cause: error });
  }
  if (!record || typeof record !== 'object' || Array.isArray(record)) {
    throw new ExportFormatError(file, line, 'not a JSON object');
  }
  const { Item, NewImage, Keys } = record as Record<string, unknown>;
  const image = Item ?? NewImage;
  if (image === undefined) {
    if (Keys !== undefined) return undefined;
    throw new ExportFormatError(
      file,
      line,
      'neither "Item" (full export) nor "Keys"/"NewImage" (incremental)',
    );
  }
  try {
    return unmarshall(image as Record<string, AttributeValue>);
  } catch (error) {
    throw new ExportFormatError(file, line, (error as Error).message, { cause: error });
  }
}
