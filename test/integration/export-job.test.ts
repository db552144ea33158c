import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DescribeExportCommand,
  DescribeTableCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { createKmsClient } from '../../lambdas/shared/adapters/aws-clients';
import { createCheckpointSigner } from '../../lambdas/shared/adapters/checkpoint-signer';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { SCHEMA_VERSION, type Transition } from '../../lambdas/shared/domain/decision';
import { merkleRoot } from '../../lambdas/shared/domain/population';
import {
  type ExportRecord,
  type ExportRunResult,
  PUBLIC_KEY_OBJECT,
  runExport,
} from '../../lambdas/shared/use-cases/export-table';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { captureOutput } from '../support/cli-output';
import { useEmulator } from '../support/emulator';
import { coldStart } from '../support/lambda';

const { clients } = useEmulator();
const TABLE = 'decisions-exported';
const BUCKET = 'reauth-evidence-under-test';
const ACCOUNT = '123456789012';
const FIRST_RUN = new Date('2026-11-23T03:00:00.000Z');
let tableArn: string;

/** The decision table as the stack deploys it: exports need point-in-time recovery, which the local script leaves off. */
async function exportableTable(name: string): Promise<string> {
  await ensureDecisionTable(clients.dynamodb, name);
  await clients.dynamodb.send(
    new UpdateContinuousBackupsCommand({
      TableName: name,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    }),
  );
  return (await clients.dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table
    ?.TableArn as string;
}

beforeAll(async () => {
  tableArn = await exportableTable(TABLE);
  await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));

  const store = createDecisionStore(clients.documents, TABLE);
  for (const key of ['AKIAEXPORTONE', 'AKIAEXPORTTWO']) {
    const credentialId = `${ACCOUNT}:access-key:${key}`;
    await store.transition(credentialId, () => flag(credentialId));
  }
});

function flag(credentialId: string): Transition {
  const subject = {
    credentialId,
    accountId: ACCOUNT,
    kind: 'access-key' as const,
    principal: 'svc-etl',
    owner: 'U042',
  };
  return {
    state: { ...subject, status: 'pending', triggers: ['idle'] },
    decision: {
      ...subject,
      action: 'flag',
      reason: 'idle for 120 days',
      actor: 'system:scan',
      at: '2026-11-22T06:00:00.000Z',
      mode: 'report',
      policyId: 'sha256:0123456789abcdef',
      evidence: { idleDays: 120, lastUsedAt: null },
    },
  };
}

function exportAt(
  now: Date,
  target: { table: string; arn: string; bucket?: string; fullExportEveryDays?: number } = {
    table: TABLE,
    arn: tableArn,
  },
): Promise<ExportRunResult> {
  return runExport(
    { dynamodb: clients.dynamodb, documents: clients.documents, tableName: target.table },
    {
      tableArn: target.arn,
      bucket: target.bucket ?? BUCKET,
      prefix: 'exports',
      now,
      fullExportEveryDays: target.fullExportEveryDays ?? 7,
    },
  );
}

async function exportRecords(table = TABLE): Promise<ExportRecord[]> {
  const { Items } = await clients.documents.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `EXPORT#${table}` },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []) as ExportRecord[];
}

/** moto runs an export on a thread: wait until it has finished, as the next day's run would. */
async function finished(result: ExportRunResult): Promise<void> {
  if (result.outcome === 'skipped') throw new Error(`no export started: ${result.reason}`);
  for (let attempt = 0; attempt < 50; attempt++) {
    const { ExportDescription } = await clients.dynamodb.send(
      new DescribeExportCommand({ ExportArn: result.record.exportArn }),
    );
    if (ExportDescription?.ExportStatus !== 'IN_PROGRESS') return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`export still in progress: ${result.record.exportArn}`);
}

/** moto writes the export on a thread: wait for its one data file. */
async function exportedObjects(prefix: string): Promise<string[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { Contents } = await clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    const keys = (Contents ?? []).map((o) => o.Key as string);
    if (keys.length > 0) return keys;
    await new Promise((done) => setTimeout(done, 100));
  }
  return [];
}

describe('the daily compliance export against the emulator', () => {
  afterEach(() => vi.restoreAllMocks());

  it('starts a full DynamoDB JSON export of the decision table when none was made, and records it', async () => {
    const result = await exportAt(FIRST_RUN);

    expect(result.outcome).toBe('started');
    const records = await exportRecords();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      sk: 'EXPORT#2026-11-23T03:00:00.000Z',
      exportType: 'FULL_EXPORT',
      startedAt: '2026-11-23T03:00:00.000Z',
      exportTime: '2026-11-23T03:00:00.000Z',
      s3Bucket: BUCKET,
      s3Prefix: 'exports/full/2026-11-23',
      status: 'IN_PROGRESS',
      schemaVersion: SCHEMA_VERSION,
      exportArn: expect.stringMatching(/^arn:aws:dynamodb:/),
    });
    // Not a credential state: the stateByAccount index must not list it.
    expect(records[0]).not.toHaveProperty('stateAccountId');
  });

  it('writes gzipped {"Item": ...} lines in DynamoDB JSON, the decisions among them, under the prefix', async () => {
    const keys = await exportedObjects('exports/full/2026-11-23/AWSDynamoDB/');

    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^exports\/full\/2026-11-23\/AWSDynamoDB\/[\w-]+\/data\/[\w-]+\.gz$/);
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: keys[0] }));
    const lines = gunzipSync(await (object.Body?.transformToByteArray() ?? new Uint8Array()))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { Item: Record<string, Record<string, unknown>> });
    const decisions = lines.filter((line) => String(line.Item.sk?.S).startsWith('DECISION#'));
    expect(decisions.map((d) => d.Item.credentialId?.S).sort()).toEqual([
      `${ACCOUNT}:access-key:AKIAEXPORTONE`,
      `${ACCOUNT}:access-key:AKIAEXPORTTWO`,
    ]);
    expect(decisions[0]?.Item).toMatchObject({
      action: { S: 'flag' },
      actor: { S: 'system:scan' },
      hash: { S: expect.any(String) },
      schemaVersion: { N: String(SCHEMA_VERSION) },
    });
    for (const line of lines) expect(Object.keys(line)).toEqual(['Item']);
  });

  it('is read back from S3 by reauth verify and reauth report, and a changed copy is caught', async () => {
    const [key] = await exportedObjects('exports/full/2026-11-23/AWSDynamoDB/');
    const source = `s3://${BUCKET}/exports/full/2026-11-23`;
    const out = await mkdtemp(join(tmpdir(), 'reauth-s3-report-'));
    const output = captureOutput();

    expect(await main(['verify', '--export', source, '--json'])).toBe(0);
    expect(JSON.parse(output.join('\n'))).toMatchObject({ chainsIntact: true, credentials: 2, decisions: 2 });
    expect(await main(['report', '--export', source, '--out', out])).toBe(0);
    const csv = (await readFile(join(out, 'decisions.csv'), 'utf8')).trim().split('\r\n');
    expect(csv.slice(1).map((row) => row.includes(',flag,'))).toEqual([true, true]);
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain(
      'Hash chains intact: all 2 chains, 2 decisions.',
    );

    // A copy of the export whose one decision says something else than was recorded.
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const text = gunzipSync(await (object.Body?.transformToByteArray() ?? new Uint8Array())).toString('utf8');
    const altered = text.replace('idle for 120 days', 'reauthorized by the CISO');
    expect(altered).not.toBe(text);
    await clients.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `altered/${key}`, Body: gzipSync(altered) }),
    );
    output.length = 0;

    expect(await main(['verify', '--export', `s3://${BUCKET}/altered/exports`, '--json'])).toBe(1);
    expect(JSON.parse(output.join('\n')).problems).toEqual([
      expect.objectContaining({
        credentialId: `${ACCOUNT}:access-key:AKIAEXPORTONE`,
        problem: 'hash does not match the content (altered after it was written)',
      }),
    ]);
  });

  it('does nothing for a retry of the same scheduled minute, nor minutes later', async () => {
    const retry = await exportAt(new Date(FIRST_RUN.getTime() + 20_000));
    const soonAfter = await exportAt(new Date(FIRST_RUN.getTime() + 5 * 60_000));

    expect(retry.outcome).toBe('already-recorded');
    expect(soonAfter.outcome).toBe('skipped');
    expect(await exportRecords()).toHaveLength(1);
  });

  it('has recorded the completed full export by the next run, then asks for an incremental export from its end', async () => {
    const nextDay = new Date('2026-11-24T03:00:00.000Z');

    const result = await exportAt(nextDay);

    const [full, incremental] = await exportRecords();
    expect(full).toMatchObject({ exportType: 'FULL_EXPORT', status: 'COMPLETED' });
    // Two STATE and two DECISION items (moto may also catch the export's own record).
    expect(full?.itemCount).toBeGreaterThanOrEqual(4);
    // moto ignores ExportType (it always writes a full export): what reauth asked for is in the record.
    expect(result.outcome).toBe('started');
    expect(incremental).toMatchObject({
      exportType: 'INCREMENTAL_EXPORT',
      fromTime: '2026-11-23T03:00:00.000Z',
      toTime: '2026-11-24T03:00:00.000Z',
      s3Prefix: 'exports/incremental/2026-11-24',
      status: 'IN_PROGRESS',
    });
  });
});

describe('the export cadence', () => {
  const DAY = 24 * 60 * 60_000;
  const START = new Date('2026-12-01T03:00:00.000Z');

  it('records a failed export as FAILED with its reason, and exports in full again after it', async () => {
    const target = {
      table: 'decisions-failing-export',
      arn: await exportableTable('decisions-failing-export'),
    };
    await finished(await exportAt(START, { ...target, bucket: 'no-such-bucket' }));

    const retry = await exportAt(new Date(START.getTime() + 60 * 60_000), target);

    expect(retry.refreshed).toEqual([
      expect.objectContaining({
        s3Bucket: 'no-such-bucket',
        status: 'FAILED',
        failureCode: 'S3NoSuchBucket',
      }),
    ]);
    expect(retry.outcome).toBe('started');
    const records = await exportRecords(target.table);
    expect(records.map((r) => [r.exportType, r.status])).toEqual([
      ['FULL_EXPORT', 'FAILED'],
      ['FULL_EXPORT', 'IN_PROGRESS'],
    ]);
  });

  it('exports incrementally between full exports, and in full every fullExportEveryDays or after a gap over 24 hours', async () => {
    const target = {
      table: 'decisions-daily-export',
      arn: await exportableTable('decisions-daily-export'),
      fullExportEveryDays: 2,
    };

    for (const day of [0, 1, 2, 3])
      await finished(await exportAt(new Date(START.getTime() + day * DAY), target));
    // A missed day: the next window would be 48 hours, more than an incremental export may span.
    await finished(await exportAt(new Date(START.getTime() + 5 * DAY), target));
    await exportAt(new Date(START.getTime() + 6 * DAY), target);

    const records = await exportRecords(target.table);
    expect(records.map((r) => [r.startedAt.slice(0, 10), r.exportType])).toEqual([
      ['2026-12-01', 'FULL_EXPORT'],
      ['2026-12-02', 'INCREMENTAL_EXPORT'],
      ['2026-12-03', 'FULL_EXPORT'],
      ['2026-12-04', 'INCREMENTAL_EXPORT'],
      ['2026-12-06', 'FULL_EXPORT'],
      ['2026-12-07', 'INCREMENTAL_EXPORT'],
    ]);
    expect(records[3]).toMatchObject({
      fromTime: '2026-12-03T03:00:00.000Z',
      toTime: '2026-12-04T03:00:00.000Z',
    });
    expect(records.slice(0, 5).map((r) => r.status)).toEqual(Array(5).fill('COMPLETED'));
  });
});

describe('the export handler', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('cold-starts from its environment and starts a full export of a table never exported', async () => {
    const table = 'decisions-handler-export';
    const arn = await exportableTable(table);
    const handler = await coldStart<() => Promise<ExportRunResult>>('../../lambdas/export/handler', {
      TABLE_NAME: table,
      TABLE_ARN: arn,
      POLICY_FILE: fileURLToPath(new URL('../../reauth.config.json', import.meta.url)),
      EXPORT_BUCKET: BUCKET,
    });

    const result = await handler();

    expect(result).toMatchObject({ outcome: 'started', record: { exportType: 'FULL_EXPORT' } });
    const [record] = await exportRecords(table);
    expect(record).toMatchObject({
      s3Bucket: BUCKET,
      s3Prefix: expect.stringMatching(/^exports\/full\/\d{4}-\d\d-\d\d$/),
    });
  });

  it('writes the checkpoint key’s public key beside the export: reauth verify --public-key checks it offline', async () => {
    const table = 'decisions-handler-public-key';
    const arn = await exportableTable(table);
    const kms = createKmsClient();
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
    );
    const keyId = KeyMetadata?.KeyId as string;
    // A decision and a population record signed as the scan signs it.
    const store = createDecisionStore(clients.documents, table);
    const credentialId = `${ACCOUNT}:access-key:AKIAEXPORTKEY`;
    await store.transition(credentialId, () => flag(credentialId));
    await store.recordPopulation(
      {
        accountId: ACCOUNT,
        at: '2026-11-22T06:00:00.000Z',
        actor: 'system:scan',
        policyId: 'sha256:0123456789abcdef',
        mode: 'report',
        inventoryAt: '2026-11-22T05:59:00.000Z',
        counts: { 'access-key': 1 },
        evaluated: 1,
        findings: 1,
        root: merkleRoot([`${credentialId}|finding|idle`]),
      },
      createCheckpointSigner(kms, keyId),
    );
    const handler = await coldStart<() => Promise<ExportRunResult>>('../../lambdas/export/handler', {
      TABLE_NAME: table,
      TABLE_ARN: arn,
      POLICY_FILE: fileURLToPath(new URL('../../reauth.config.json', import.meta.url)),
      EXPORT_BUCKET: BUCKET,
      EXPORT_PREFIX: 'keyed',
      CHECKPOINT_KEY_ID: keyId,
    });

    const result = await handler();

    if (result.outcome !== 'started') throw new Error(`no export started: ${result.outcome}`);
    const prefix = result.record.s3Prefix;
    expect(result.publicKey).toBe(`s3://${BUCKET}/${prefix}/${PUBLIC_KEY_OBJECT}`);
    await finished(result);
    await exportedObjects(`${prefix}/AWSDynamoDB/`);
    // What the auditor is handed: the export and, beside it, the PEM.
    const pem = await clients.s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${PUBLIC_KEY_OBJECT}` }),
    );
    const file = join(await mkdtemp(join(tmpdir(), 'reauth-public-key-')), PUBLIC_KEY_OBJECT);
    await writeFile(file, (await pem.Body?.transformToString()) ?? '');
    const output = captureOutput();
    expect(await main(['verify', '--export', `s3://${BUCKET}/${prefix}`, '--public-key', file])).toBe(0);
    expect(output.join('\n')).toContain(
      "Every population record's signature verifies with the public key given (1 signed, 0 unsigned).",
    );
  });

  it("starts one export for a run Lambda retries (the schedule's time names it) and refuses a bad event", async () => {
    const table = 'decisions-handler-retry';
    const arn = await exportableTable(table);
    const handler = await coldStart<(event: unknown) => Promise<ExportRunResult>>(
      '../../lambdas/export/handler',
      {
        TABLE_NAME: table,
        TABLE_ARN: arn,
        POLICY_FILE: fileURLToPath(new URL('../../reauth.config.json', import.meta.url)),
        EXPORT_BUCKET: BUCKET,
      },
    );
    // As Scheduler sends it: on the minute, without milliseconds.
    const scheduledTime = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000)
      .toISOString()
      .replace('.000Z', 'Z');

    const first = await handler({ scheduledTime });
    const retried = await handler({ scheduledTime });

    expect(first).toMatchObject({
      outcome: 'started',
      record: { startedAt: scheduledTime.replace('Z', '.000Z') },
    });
    expect(retried).toMatchObject({
      outcome: 'already-recorded',
      record: { exportArn: first.outcome === 'skipped' ? 'none' : first.record.exportArn },
    });
    expect(await exportRecords(table)).toHaveLength(1);
    await expect(handler({ scheduledTime: 'yesterday' })).rejects.toThrow(/scheduledTime/);
  });
});
