import { createHash } from 'node:crypto';
import {
  DescribeExportCommand,
  type DynamoDBClient,
  type ExportDescription,
  ExportTableToPointInTimeCommand,
} from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, PutCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SCHEMA_VERSION } from '../domain/decision';
import { TABLE_KEYS } from '../table-layout';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** AWS accepts an incremental export window of at least 15 minutes and at most 24 hours. */
export const INCREMENTAL_WINDOW = { minMs: 15 * MINUTE, maxMs: DAY } as const;

export type ExportType = 'FULL_EXPORT' | 'INCREMENTAL_EXPORT';
export type ExportStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

/**
 * One compliance export of the decision table, recorded in the table itself beside the decisions:
 * `pk = EXPORT#<table name>`, `sk = EXPORT#<startedAt>`. It carries no `stateAccountId`, so the
 * stateByAccount index never sees it.
 */
export interface ExportRecord {
  exportArn: string;
  exportType: ExportType;
  /** The scheduled minute the export was started for (ISO-8601). */
  startedAt: string;
  s3Bucket: string;
  s3Prefix: string;
  status: ExportStatus;
  schemaVersion: number;
  /** Incremental exports: the window exported. */
  fromTime?: string;
  toTime?: string;
  /** The point in time the export reflects: requested for a full export, then as DynamoDB reports it. */
  exportTime?: string;
  itemCount?: number;
  failureCode?: string;
}

/** What {@link runExport} did this run. */
export type ExportRunResult =
  | {
      outcome: 'started';
      record: ExportRecord;
      refreshed: ExportRecord[];
      /** The object the checkpoint key's public key was written to (`s3://…/checkpoint-key.pem`). */
      publicKey?: string;
    }
  /** A retried invocation for the same scheduled minute: the export it started is already recorded. */
  | { outcome: 'already-recorded'; record: ExportRecord; refreshed: ExportRecord[] }
  /** The last export ended less than 15 minutes ago: no window AWS would accept. */
  | { outcome: 'skipped'; reason: string; refreshed: ExportRecord[] };

export interface ExportDeps {
  dynamodb: DynamoDBClient;
  /** Writes the export records into the decision table. */
  documents: DynamoDBDocumentClient;
  /** The decision table, where the records go (the table exported). */
  tableName: string;
  /**
   * The checkpoint key's public key (PEM, `readPem`), written beside each export started as
   * `checkpoint-key.pem`: the auditor handed the export can check its population records' signatures
   * offline (`reauth verify --public-key`) with no access to KMS. Absent: none is written.
   */
  publicKey?: { s3: S3Client; readPem: () => Promise<string> };
}

/** The public key's name beside each export. */
export const PUBLIC_KEY_OBJECT = 'checkpoint-key.pem';

export interface ExportOptions {
  /** The table to export. */
  tableArn: string;
  bucket: string;
  /** Key prefix in the bucket, without a trailing slash, e.g. `exports`. */
  prefix: string;
  /** The scheduled time; truncated to the minute, it names the run (record key, client token). */
  now: Date;
  fullExportEveryDays: number;
  /** A customer KMS key for the exported objects. @default the bucket's default encryption */
  kmsKeyArn?: string;
}

/** The export record's partition: one per exported table. */
export function exportPk(tableName: string): string {
  return `EXPORT#${tableName}`;
}

export function exportSk(startedAt: string): string {
  return `EXPORT#${startedAt}`;
}

function tableNameOf(tableArn: string): string {
  const name = /:table\/([^/]+)$/.exec(tableArn)?.[1];
  if (!name) throw new Error(`not a DynamoDB table ARN: ${tableArn}`);
  return name;
}

/**
 * Idempotency token of `ExportTableToPointInTime` (honoured by DynamoDB for 8 hours): the same table
 * and scheduled minute give the same token, so a retried invocation does not start a second export.
 */
export function exportClientToken(tableArn: string, startedAt: string): string {
  return createHash('sha256').update(`${tableArn}\n${startedAt}`).digest('hex');
}

/** Where an export ends: what the next incremental export starts from. */
function endOf(record: ExportRecord): string | undefined {
  return record.exportType === 'INCREMENTAL_EXPORT' ? record.toTime : record.exportTime;
}

export type ExportPlan =
  | { type: 'FULL_EXPORT'; reason: string }
  | { type: 'INCREMENTAL_EXPORT'; fromTime: string; toTime: string }
  | { type: 'none'; reason: string };

/**
 * Full or incremental (pure). A full export when there is no completed full export newer than
 * `fullExportEveryDays`, or when the last export ended more than 24 hours ago (too long a window for
 * an incremental); nothing when it ended less than 15 minutes ago; otherwise an incremental export
 * from where the last one (in progress or completed) ended.
 */
export function planExport(
  records: readonly ExportRecord[],
  now: Date,
  fullExportEveryDays: number,
): ExportPlan {
  const at = now.getTime();
  const live = records.filter((r) => r.status !== 'FAILED' && endOf(r) !== undefined);
  const latest = (rs: ExportRecord[]) =>
    rs.reduce<ExportRecord | undefined>(
      (best, r) => (best === undefined || (endOf(r) ?? '') > (endOf(best) ?? '') ? r : best),
      undefined,
    );
  const last = latest(live);
  if (last) {
    const sinceLast = at - Date.parse(endOf(last) ?? '');
    if (sinceLast < INCREMENTAL_WINDOW.minMs)
      return { type: 'none', reason: `the last export ended ${Math.round(sinceLast / MINUTE)} minutes ago` };
  }
  const lastFull = latest(live.filter((r) => r.exportType === 'FULL_EXPORT' && r.status === 'COMPLETED'));
  if (!lastFull) return { type: 'FULL_EXPORT', reason: 'no completed full export' };
  if (at - Date.parse(endOf(lastFull) ?? '') >= fullExportEveryDays * DAY)
    return { type: 'FULL_EXPORT', reason: `the last full export is ${fullExportEveryDays} days old or more` };
  const from = endOf(last ?? lastFull) ?? '';
  if (at - Date.parse(from) > INCREMENTAL_WINDOW.maxMs)
    return { type: 'FULL_EXPORT', reason: 'the last export ended more than 24 hours ago' };
  return { type: 'INCREMENTAL_EXPORT', fromTime: from, toTime: now.toISOString() };
}

/**
 * The daily compliance export: brings the records of earlier exports up to date (DescribeExport),
 * decides full or incremental, starts `ExportTableToPointInTime` (DynamoDB JSON) and records it.
 * Safe to retry for the same scheduled minute: same client token, and the record is written only once.
 */
export async function runExport(deps: ExportDeps, options: ExportOptions): Promise<ExportRunResult> {
  const { partitionKey: pk, sortKey: sk } = TABLE_KEYS;
  const { dynamodb, documents, tableName } = deps;
  const exportedTable = tableNameOf(options.tableArn);
  const now = new Date(Math.floor(options.now.getTime() / MINUTE) * MINUTE);
  const startedAt = now.toISOString();

  const records: ExportRecord[] = [];
  const pages = paginateQuery(
    { client: documents },
    {
      TableName: tableName,
      KeyConditionExpression: `${pk} = :pk AND begins_with(${sk}, :export)`,
      ExpressionAttributeValues: { ':pk': exportPk(exportedTable), ':export': 'EXPORT#' },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) records.push(...((page.Items ?? []) as ExportRecord[]));

  const refreshed: ExportRecord[] = [];
  for (const [i, record] of records.entries()) {
    if (record.status !== 'IN_PROGRESS') continue;
    const { ExportDescription: description } = await dynamodb.send(
      new DescribeExportCommand({ ExportArn: record.exportArn }),
    );
    const updated = await recordOutcome(record, description);
    if (updated) {
      records[i] = updated;
      refreshed.push(updated);
    }
  }

  const existing = records.find((r) => r.startedAt === startedAt);
  if (existing) return { outcome: 'already-recorded', record: existing, refreshed };

  const plan = planExport(records, now, options.fullExportEveryDays);
  if (plan.type === 'none') return { outcome: 'skipped', reason: plan.reason, refreshed };

  const full = plan.type === 'FULL_EXPORT';
  const s3Prefix = `${options.prefix}/${full ? 'full' : 'incremental'}/${startedAt.slice(0, 10)}`;
  const { ExportDescription: started } = await dynamodb.send(
    new ExportTableToPointInTimeCommand({
      TableArn: options.tableArn,
      ClientToken: exportClientToken(options.tableArn, startedAt),
      S3Bucket: options.bucket,
      // The bucket must be this account's: an export never goes to a bucket someone else owns.
      S3BucketOwner: options.tableArn.split(':')[4],
      S3Prefix: s3Prefix,
      ...(options.kmsKeyArn ? { S3SseAlgorithm: 'KMS', S3SseKmsKeyId: options.kmsKeyArn } : {}),
      ExportFormat: 'DYNAMODB_JSON',
      ExportType: plan.type,
      ...(full
        ? { ExportTime: now }
        : {
            IncrementalExportSpecification: {
              ExportFromTime: new Date(plan.fromTime),
              ExportToTime: new Date(plan.toTime),
              ExportViewType: 'NEW_AND_OLD_IMAGES',
            },
          }),
    }),
  );
  if (!started?.ExportArn) throw new Error('ExportTableToPointInTime returned no ExportArn');
  // Before the record: a run that fails here is retried, and a retry that finds the record written
  // stops at 'already-recorded', which would leave the export without its key.
  const publicKey = deps.publicKey && (await writePublicKey(deps.publicKey, options, s3Prefix));

  const record: ExportRecord = {
    exportArn: started.ExportArn,
    exportType: plan.type,
    startedAt,
    s3Bucket: options.bucket,
    s3Prefix,
    status: 'IN_PROGRESS',
    schemaVersion: SCHEMA_VERSION,
    ...(full ? { exportTime: startedAt } : { fromTime: plan.fromTime, toTime: plan.toTime }),
  };
  try {
    await documents.send(
      new PutCommand({
        TableName: tableName,
        Item: { [pk]: exportPk(exportedTable), [sk]: exportSk(startedAt), ...record },
        ConditionExpression: `attribute_not_exists(${sk})`,
      }),
    );
  } catch (error) {
    // A concurrent retry of the same minute recorded it first (same client token, same export).
    if ((error as Error).name === 'ConditionalCheckFailedException')
      return { outcome: 'already-recorded', record, refreshed };
    throw error;
  }
  return { outcome: 'started', record, refreshed, ...(publicKey && { publicKey }) };

  /** Records a finished export's outcome; undefined while it is still running. */
  async function recordOutcome(
    record: ExportRecord,
    description: ExportDescription | undefined,
  ): Promise<ExportRecord | undefined> {
    const status = description?.ExportStatus;
    if (status !== 'COMPLETED' && status !== 'FAILED') return undefined;
    const updated: ExportRecord = {
      ...record,
      status,
      ...(description?.ItemCount !== undefined ? { itemCount: description.ItemCount } : {}),
      ...(description?.ExportTime ? { exportTime: description.ExportTime.toISOString() } : {}),
      ...(description?.FailureCode ? { failureCode: description.FailureCode } : {}),
    };
    const values = Object.fromEntries(
      Object.entries({
        ':status': updated.status,
        ':itemCount': updated.itemCount,
        ':exportTime': updated.exportTime,
        ':failureCode': updated.failureCode,
      }).filter(([, value]) => value !== undefined),
    );
    const set = Object.keys(values).map((name) =>
      name === ':status' ? '#status = :status' : `${name.slice(1)} = ${name}`,
    );
    try {
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { [pk]: exportPk(exportedTable), [sk]: exportSk(record.startedAt) },
          UpdateExpression: `SET ${set.join(', ')}`,
          // Only the run that saw it in progress records the outcome, once.
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':running': 'IN_PROGRESS', ...values },
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
    return updated;
  }
}

/** Puts the key's PEM at `<export prefix>/checkpoint-key.pem`, encrypted as the export is; its S3 URL. */
async function writePublicKey(
  publicKey: NonNullable<ExportDeps['publicKey']>,
  options: ExportOptions,
  s3Prefix: string,
): Promise<string> {
  const key = `${s3Prefix}/${PUBLIC_KEY_OBJECT}`;
  await publicKey.s3.send(
    new PutObjectCommand({
      Bucket: options.bucket,
      Key: key,
      Body: await publicKey.readPem(),
      ContentType: 'application/x-pem-file',
      ExpectedBucketOwner: options.tableArn.split(':')[4],
      ...(options.kmsKeyArn ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: options.kmsKeyArn } : {}),
    }),
  );
  return `s3://${options.bucket}/${key}`;
}
