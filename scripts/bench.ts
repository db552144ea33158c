/**
 * `npm run bench`: what a scan costs at scale. Starts the local AWS emulator, seeds a large account
 * (users with two access keys each, secrets, roles) with varied, deterministic histories, then runs
 * reauth's `scanAccount` twice (empty table, then unchanged) and a naive per-credential scanner twice,
 * counting every AWS call by service and operation, the DynamoDB items written, wall time and peak
 * memory. Then the Slack endpoint's clicks, and what telling owners costs in Slack calls and time
 * (scripts/local/bench-slack-notify.ts). Before all that, with the machine still quiet, it synthesizes
 * the Lambda bundles as `cdk synth` does and imports each in a fresh `node`, several times: the size and
 * import time per function, what a cold start pays before any call. Checks the targets, prints tables
 * and writes everything as JSON.
 *
 *   npx tsx scripts/bench.ts [--users 2000] [--roles 500] [--secrets 2000] [--out bench-results/scan.json]
 *                            [--seed-concurrency 16] [--clicks 200] [--import-runs 7] [--bundles-only]
 *                            [--memory-sizes 0,1000,10000,20000] [--memory-only]
 *
 * Last, the peak RSS of the `reauth scan` CLI and the scan Lambda's handler, each bundled as it ships,
 * at each of `--memory-sizes` access keys (scripts/bench/scan-memory.ts; 0, an empty account, shows
 * what starting up and a run's fixed work cost); `--memory-only` runs that alone, `--memory-sizes ''`
 * skips it. Target: at most 128 MB at 10,000 keys, growing linearly past it.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { formatTable } from '../cli/format';
import { type AwsClients, createAwsClients } from '../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../lambdas/shared/adapters/decision-store';
import { stackOwnersOfThisAccount } from '../lambdas/shared/adapters/stack-owners';
import { CREDENTIAL_KINDS, type CredentialKind } from '../lambdas/shared/domain/credential';
import { parsePolicyConfig } from '../lambdas/shared/domain/policy';
import { SERVICE_USAGE_KINDS } from '../lambdas/shared/domain/usage-summary';
import {
  type ScanReport,
  SERVICE_USAGE_PER_RUN,
  scanAccount,
} from '../lambdas/shared/use-cases/scan-account';
import { SCAN_MALLOC_ARENAS, SCAN_MEMORY_MB } from '../lib/reauth';
import {
  BUNDLE_HEADER,
  type BundleCost,
  bundleRows,
  ENDPOINT,
  ENDPOINT_IMPORT_TARGET_MS,
  measureBundles,
} from './bench/bundles';
import { lambdaV8Flags } from './bench/lambda-v8';
import { type NaiveScanReport, naiveScan } from './bench/naive-scanner';
import { benchScanMemory, type ScanMemoryRow } from './bench/scan-memory';
import { benchTrustFanOut, describeFanOut } from './bench/trust-fan-out';
import { emulatorEnv, startEmulator } from './emulator/emulator';
import { benchSlackClicks } from './local/bench-clicks';
import { benchSlackNotify, describeSlackNotify } from './local/bench-slack-notify';
import { ensureDecisionTable } from './local/decision-table';
import { mulberry32 as prng } from './local/prng';
import { type AccountSpec, type KeySpec, seedAccount, type UserSpec, VENDOR_ACCOUNT } from './local/seed';

const DEFAULTS = { users: 2000, roles: 500, secrets: 2000 } as const;
const TABLE = 'reauth-bench-decisions';
const NAIVE_TABLE = 'reauth-bench-naive';
const SLACK_TABLE = 'reauth-bench-slack';
const FAN_OUT_TABLE = 'reauth-bench-fan-out';
/** reauth's first run must read less than 1/50 of what the naive scanner reads. */
const READ_RATIO_TARGET = 50;
const SAMPLE_MS = 50;
const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------
// Flags

const { values: flags } = parseArgs({
  options: {
    users: { type: 'string', default: String(DEFAULTS.users) },
    roles: { type: 'string', default: String(DEFAULTS.roles) },
    secrets: { type: 'string', default: String(DEFAULTS.secrets) },
    out: { type: 'string', default: 'bench-results/scan.json' },
    'seed-concurrency': { type: 'string', default: '16' },
    clicks: { type: 'string', default: '200' },
    'import-runs': { type: 'string', default: '7' },
    'memory-sizes': { type: 'string', default: '0,1000,10000,20000' },
    /** The scan's peak memory alone, at `--memory-sizes` access keys. */
    'memory-only': { type: 'boolean', default: false },
    /** The bundles' sizes and import times alone (`npm run bench:bundles`): no emulator, no JSON. */
    'bundles-only': { type: 'boolean', default: false },
  },
  strict: true,
});

function count(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`bench: --${name} must be a whole number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const size = {
  users: count('users', flags.users),
  roles: count('roles', flags.roles),
  secrets: count('secrets', flags.secrets),
};
const seedConcurrency = Math.max(1, count('seed-concurrency', flags['seed-concurrency']));
const clickCount = count('clicks', flags.clicks);
const importRuns = Math.max(1, count('import-runs', flags['import-runs']));
const outPath = resolve(flags.out);
const memorySizes = flags['memory-sizes']
  .split(',')
  .filter((text) => text.trim() !== '')
  .map((text) => count('memory-sizes', text.trim()));
/** The scan's peak RSS at 10,000 access keys, CLI and Lambda handler (both rows) alike (issue #21). */
const MEMORY_TARGET_MB = 128;
const MEMORY_TARGET_KEYS = 10_000;
const atDefaultSize =
  size.users >= DEFAULTS.users && size.roles >= DEFAULTS.roles && size.secrets >= DEFAULTS.secrets;

// ---------------------------------------------------------------------------------------------------
// The account: deterministic (a fixed-seed PRNG), varied like a real one

const TEAMS = [
  { team: 'payments', owner: 'U01PAYMENTS' },
  { team: 'search', owner: 'U02SEARCH' },
  { team: 'data', owner: 'dana@example.com' },
  { team: 'platform', owner: 'U04PLATFORM' },
  { team: 'growth', owner: 'U06GROWTH' },
] as const;
const JOBS = ['etl', 'backup', 'reporting', 'deployer', 'metrics', 'exporter', 'sync'] as const;

/**
 * Proportions (per key, secret or role; all ages in whole days, none near a tier limit, so the few
 * minutes between seeding and scanning change nothing):
 * - access keys: 3% idle (last used 95–400 days ago), 1.5% never used and older than the 14-day grace,
 *   1% never used but new (in grace), 0.5% older than max-age (370–700 days, used recently), 8% used
 *   30–85 days ago, the rest used in the last 29 days; 2% of users have no owner tag (orphaned).
 * - secrets: 10% idle, 6% never read (20–700 days old), 4% new and never read, 10% read 30–85 days ago,
 *   the rest read in the last 29 days; created up to 700 days ago (older than a year: max-age); 3% unowned.
 * - roles: 60% trusted by a vendor account (most with an external id), 40% same-account, a tenth of
 *   which opt in with a `reauth:owner` tag; in scope: 15% idle, 15% never used, 10% used 30–85 days ago.
 */
function benchAccount(counts: typeof size): AccountSpec {
  const random = prng(0x5ea7);
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));

  const keySpec = (): KeySpec => {
    const r = random();
    if (r < 0.03) {
      const used = between(95, 400);
      return { createdDaysAgo: between(used + 5, used + 300), usedDaysAgo: used };
    }
    if (r < 0.045) return { createdDaysAgo: between(20, 300) };
    if (r < 0.055) return { createdDaysAgo: between(1, 10) };
    if (r < 0.06) return { createdDaysAgo: between(370, 700), usedDaysAgo: between(0, 29) };
    const used = r < 0.14 ? between(30, 85) : between(0, 29);
    return { createdDaysAgo: between(Math.max(used + 2, 10), 355), usedDaysAgo: used };
  };

  const users: UserSpec[] = [];
  for (let i = 0; i < counts.users; i++) {
    const { team, owner } = TEAMS[i % TEAMS.length] as (typeof TEAMS)[number];
    const orphaned = random() < 0.02;
    // Older key first, so the credential report's slot 1 is the first key of the spec.
    const keys = [keySpec(), keySpec()].sort((a, b) => b.createdDaysAgo - a.createdDaysAgo);
    users.push({
      name: `svc-${team}-${JOBS[i % JOBS.length]}-${String(i).padStart(5, '0')}`,
      tags: orphaned ? { team } : { 'reauth:owner': owner, team },
      keys,
    });
  }

  const secrets: AccountSpec['secrets'] = [];
  for (let i = 0; i < counts.secrets; i++) {
    const { team, owner } = TEAMS[i % TEAMS.length] as (typeof TEAMS)[number];
    const r = random();
    const tags: Record<string, string> =
      random() < 0.03 ? { team } : i % 2 === 0 ? { 'reauth:owner': owner, team } : { owner, team };
    const name = `${i % 3 === 0 ? 'staging' : 'prod'}/${team}/secret-${String(i).padStart(5, '0')}`;
    if (r < 0.06) secrets.push({ name, createdDaysAgo: between(20, 700), tags });
    else if (r < 0.1) secrets.push({ name, createdDaysAgo: between(1, 10), tags });
    else {
      const read = r < 0.2 ? between(95, 400) : r < 0.3 ? between(30, 85) : between(0, 29);
      secrets.push({ name, createdDaysAgo: between(read + 2, 700), readDaysAgo: read, tags });
    }
  }

  const roles: AccountSpec['roles'] = [];
  for (let i = 0; i < counts.roles; i++) {
    const { team, owner } = TEAMS[i % TEAMS.length] as (typeof TEAMS)[number];
    const vendor = random() < 0.6;
    const optedIn = !vendor && random() < 0.1;
    const r = random();
    const name = `${vendor ? 'vendor' : 'internal'}-${team}-${String(i).padStart(4, '0')}`;
    const used =
      r < 0.15 ? undefined : r < 0.3 ? between(95, 300) : r < 0.4 ? between(30, 85) : between(0, 29);
    roles.push({
      name,
      createdDaysAgo: between((used ?? 18) + 2, 700),
      ...(used !== undefined && { usedDaysAgo: used }),
      ...(vendor && { trustedAccounts: [VENDOR_ACCOUNT] }),
      ...(vendor && random() < 0.8 && { externalId: `ext-${i.toString(36)}` }),
      tags: vendor || optedIn ? { 'reauth:owner': owner, team } : { team },
    });
  }
  return { users, secrets, roles };
}

// ---------------------------------------------------------------------------------------------------
// Counting AWS calls: one middleware per client stack

type Counts = Map<string, number>;
let calls: Counts = new Map();
let dynamoItemsWritten = 0;

const DYNAMODB_WRITES = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'TransactWriteItems',
  'BatchWriteItem',
]);

function itemsIn(operation: string, input: unknown): number {
  const request = (input ?? {}) as {
    TransactItems?: Record<string, unknown>[];
    RequestItems?: Record<string, unknown[]>;
  };
  if (operation === 'TransactWriteItems') {
    return (request.TransactItems ?? []).filter((t) => t.Put || t.Update || t.Delete).length;
  }
  if (operation === 'BatchWriteItem') {
    return Object.values(request.RequestItems ?? {}).reduce((n, items) => n + items.length, 0);
  }
  return 1;
}

function instrument(clients: AwsClients): void {
  const name = 'reauthBenchCounter';
  // The document client shares the DynamoDB client's stack: counting twice is what the check avoids.
  for (const client of [
    clients.iam,
    clients.secretsManager,
    clients.sts,
    clients.dynamodb,
    clients.documents,
  ]) {
    const stack = client.middlewareStack as unknown as {
      identify(): string[];
      add(middleware: unknown, options: { step: 'initialize'; name: string }): void;
    };
    if (stack.identify().some((entry) => entry.startsWith(`${name} `) || entry === name)) continue;
    stack.add(
      (
        next: (args: { input: unknown }) => Promise<unknown>,
        context: { clientName?: string; commandName?: string },
      ) =>
        async (args: { input: unknown }) => {
          const service = (context.clientName ?? 'unknown').replace(/Client$/, '');
          const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
          const key = `${service} ${operation}`;
          calls.set(key, (calls.get(key) ?? 0) + 1);
          if (service === 'DynamoDB' && DYNAMODB_WRITES.has(operation))
            dynamoItemsWritten += itemsIn(operation, args.input);
          return next(args);
        },
      { step: 'initialize', name },
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Measuring a phase

interface PhaseMetrics {
  label: string;
  wallMs: number;
  /** AWS calls by "Service Operation". */
  calls: Record<string, number>;
  /** IAM, Secrets Manager and STS calls: what an account's API limits are spent on. */
  readCalls: number;
  dynamodbReadCalls: number;
  dynamodbWriteCalls: number;
  /** Items put, updated or deleted by the write requests sent (conditional failures included). */
  dynamodbItemsWritten: number;
  rssStartMb: number;
  peakRssMb: number;
  peakHeapUsedMb: number;
}

async function measure<T>(
  label: string,
  run: () => Promise<T>,
): Promise<{ result: T; metrics: PhaseMetrics }> {
  (globalThis as { gc?: () => void }).gc?.();
  calls = new Map();
  dynamoItemsWritten = 0;
  const start = process.memoryUsage();
  let peakRss = start.rss;
  let peakHeap = start.heapUsed;
  const sample = () => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  };
  const timer = setInterval(sample, SAMPLE_MS);
  const started = performance.now();
  process.stdout.write(`  ${label} … `);
  let result: T;
  try {
    result = await run();
  } finally {
    clearInterval(timer);
  }
  const wallMs = performance.now() - started;
  sample();
  console.log(`${(wallMs / 1000).toFixed(1)}s`);

  const byOperation = Object.fromEntries([...calls.entries()].sort(([a], [b]) => a.localeCompare(b)));
  let readCalls = 0;
  let dynamodbReadCalls = 0;
  let dynamodbWriteCalls = 0;
  for (const [key, n] of calls) {
    const [service = '', operation = ''] = key.split(' ');
    if (service !== 'DynamoDB') readCalls += n;
    else if (DYNAMODB_WRITES.has(operation)) dynamodbWriteCalls += n;
    else dynamodbReadCalls += n;
  }
  return {
    result,
    metrics: {
      label,
      wallMs: Math.round(wallMs),
      calls: byOperation,
      readCalls,
      dynamodbReadCalls,
      dynamodbWriteCalls,
      dynamodbItemsWritten: dynamoItemsWritten,
      rssStartMb: round1(start.rss / MB),
      peakRssMb: round1(peakRss / MB),
      peakHeapUsedMb: round1(peakHeap / MB),
    },
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

// ---------------------------------------------------------------------------------------------------
// Comparing findings

type Kind = CredentialKind;
const KINDS: readonly Kind[] = CREDENTIAL_KINDS;

function idleIds(report: ScanReport): Map<Kind, Set<string>> {
  const ids = new Map<Kind, Set<string>>(KINDS.map((k) => [k, new Set()]));
  for (const row of report.rows) {
    if (row.outcome === 'finding' && row.triggers.includes('idle')) ids.get(row.kind)?.add(row.credentialId);
  }
  return ids;
}

function naiveIds(report: NaiveScanReport): Map<Kind, Set<string>> {
  const ids = new Map<Kind, Set<string>>(KINDS.map((k) => [k, new Set()]));
  for (const finding of report.findings) ids.get(finding.kind)?.add(finding.credentialId);
  return ids;
}

// ---------------------------------------------------------------------------------------------------
// Printing

const fmt = (n: number | undefined) => (n === undefined ? '-' : n.toLocaleString('en-US'));

// ---------------------------------------------------------------------------------------------------
// The Lambda bundles

/**
 * Judged on the import's CPU time: what it takes on a full core with nothing else running (quiet, the
 * wall time matches it), and what a Lambda's share of a vCPU has to supply. On a busy machine the wall
 * time measures the neighbours as well; it is printed beside it.
 */
function bundleTarget(bundles: BundleCost[]) {
  const endpoint = bundles.find((b) => b.name === ENDPOINT);
  const cpu = endpoint?.importMs.cpuMedian ?? Number.POSITIVE_INFINITY;
  return {
    name: `the Slack endpoint's bundle imports in under ${ENDPOINT_IMPORT_TARGET_MS} ms of CPU (median of ${importRuns})`,
    status: cpu < ENDPOINT_IMPORT_TARGET_MS ? 'PASS' : 'FAIL',
    detail: endpoint
      ? `${endpoint.importMs.cpuMedian} ms of CPU, ${endpoint.importMs.median} ms wall at load ${bundlesLoad}; ` +
        `${(endpoint.moduleBytes / 1024).toFixed(0)} KiB`
      : 'no such function',
  };
}

function printBundles(bundles: BundleCost[]): void {
  console.log(
    `Lambda bundles as cdk synth builds them, each imported ${importRuns} times in a fresh node ${process.version} ` +
      `with its own environment (Lambda runs Node 24); load average ${bundlesLoad} on ${availableParallelism()} cores when measured:`,
  );
  console.log(formatTable(BUNDLE_HEADER, bundleRows(bundles), { align: 'figures' }));
}

// ---------------------------------------------------------------------------------------------------
// Main

const benchStarted = Date.now();
const say = (message: string) =>
  console.log(`[${((Date.now() - benchStarted) / 1000).toFixed(1)}s] ${message}`);

say(`measuring the Lambda bundles: each imported ${importRuns} times, before the emulator starts`);
// A busy machine slows every import: the load says how busy it was.
const bundlesLoad = loadavg()[0]?.toFixed(1);
const bundles = flags['memory-only'] ? [] : await measureBundles(importRuns);
if (flags['bundles-only']) {
  console.log('');
  printBundles(bundles);
  const target = bundleTarget(bundles);
  console.log(`\n${target.status.padEnd(4)}  ${target.name}: ${target.detail}`);
  process.exit(target.status === 'FAIL' ? 1 : 0);
}

say(
  `reauth bench: ${size.users} users (${size.users * 2} access keys), ${size.roles} roles, ${size.secrets} secrets`,
);
say('starting the local AWS emulator');
const emulator = await startEmulator();
try {
  Object.assign(process.env, emulatorEnv(emulator.endpoint));
  if (flags['memory-only']) {
    const memory = await measureScanMemory();
    printScanMemory(memory);
    const target = memoryTarget(memory);
    console.log(`\n${target.status.padEnd(4)}  ${target.name}: ${target.detail}`);
    await mkdir(dirname(outPath), { recursive: true });
    await writeFile(
      outPath,
      `${JSON.stringify({ generatedAt: new Date().toISOString(), memory }, null, 2)}\n`,
    );
    console.log(`\nwrote ${outPath}`);
    process.exit(target.status === 'FAIL' ? 1 : 0);
  }
  const clients = createAwsClients();
  await ensureDecisionTable(clients.dynamodb, TABLE);
  await ensureDecisionTable(clients.dynamodb, NAIVE_TABLE);
  instrument(clients);

  const spec = benchAccount(size);
  say(`seeding the account (concurrency ${seedConcurrency}); not part of the measured figures`);
  const seedStarted = performance.now();
  await seedAccount(emulator, clients, spec, new Date(), seedConcurrency);
  const seedingMs = Math.round(performance.now() - seedStarted);
  const seedCalls = Object.fromEntries(calls);
  say(`seeded in ${(seedingMs / 1000).toFixed(1)}s`);

  const accountId = (await clients.sts.send(new GetCallerIdentityCommand({}))).Account ?? '123456789012';
  const policy = parsePolicyConfig({});
  const store = createDecisionStore(clients.documents, TABLE);
  const reauth = () =>
    scanAccount(
      { iam: clients.iam, secretsManager: clients.secretsManager, store, stacks: stackOwnersOfThisAccount() },
      { accountId, policy, now: new Date() },
    );
  const naive = () =>
    naiveScan(
      {
        iam: clients.iam,
        secretsManager: clients.secretsManager,
        documents: clients.documents,
        tableName: NAIVE_TABLE,
      },
      { accountId, policy, now: new Date() },
    );

  say('measuring');
  const reauthFirst = await measure('reauth scanAccount, empty table', reauth);
  const reauthSecond = await measure('reauth scanAccount, unchanged re-run', reauth);
  const naiveFirst = await measure('naive per-credential scanner, run 1', naive);
  const naiveSecond = await measure('naive per-credential scanner, run 2 (unchanged)', naive);
  const phases = [reauthFirst.metrics, reauthSecond.metrics, naiveFirst.metrics, naiveSecond.metrics];

  say(`measuring the Slack endpoint: ${clickCount} owners click Still needed and submit it, signed`);
  const clicks = await benchSlackClicks({
    clients,
    store,
    table: TABLE,
    policy,
    accountId,
    count: clickCount,
  });

  say(
    'measuring Slack: one owner with 2,000 credentials, then 500 email owners (paced time computed, not slept)',
  );
  const slackNotify = await benchSlackNotify({ clients, table: SLACK_TABLE });

  say('measuring a trust change that reaches 2,000 principals, with AWS-like latencies (fresh emulator)');
  await emulator.reset();
  const fanOut = await benchTrustFanOut({ emulator, clients, table: FAN_OUT_TABLE });

  // Findings: both must find the same idle credentials.
  const reauthIdle = idleIds(reauthFirst.result);
  const naiveIdle = naiveIds(naiveFirst.result);
  const agreement = KINDS.map((kind) => {
    const r = reauthIdle.get(kind) ?? new Set<string>();
    const n = naiveIdle.get(kind) ?? new Set<string>();
    return {
      kind,
      reauth: r.size,
      naive: n.size,
      onlyReauth: [...r].filter((id) => !n.has(id)),
      onlyNaive: [...n].filter((id) => !r.has(id)),
    };
  });
  const findingsAgree = agreement.every((a) => a.onlyReauth.length === 0 && a.onlyNaive.length === 0);

  // What a request's user or role uses (#25): one IAM job per principal a request opened for, read only
  // for those. The naive scanner reads no such data, so the ratio compares the inventories without it.
  const usageOf = (metrics: PhaseMetrics) => {
    const generated = metrics.calls['IAM GenerateServiceLastAccessedDetails'] ?? 0;
    const read = metrics.calls['IAM GetServiceLastAccessedDetails'] ?? 0;
    return { generated, read, total: generated + read };
  };
  const usageFirst = usageOf(reauthFirst.metrics);
  const usageSecond = usageOf(reauthSecond.metrics);
  // The users and roles a request opened for on run 1 (every finding opens one on an empty table).
  const askedPrincipals = new Set(
    reauthFirst.result.rows
      .filter((row) => row.outcome === 'finding' && SERVICE_USAGE_KINDS.includes(row.kind))
      .map((row) => `${row.kind === 'role' ? 'role' : 'user'}/${row.principal}`),
  ).size;
  const usageRows = reauthFirst.result.rows.filter((row) => row.usage).length;
  // At most SERVICE_USAGE_PER_RUN principals a run: those run 1 left out are read by run 2 (each once).
  const usageExpected = [
    Math.min(askedPrincipals, SERVICE_USAGE_PER_RUN),
    Math.min(Math.max(0, askedPrincipals - SERVICE_USAGE_PER_RUN), SERVICE_USAGE_PER_RUN),
  ];

  // Where reauth's first-run reads go: a fixed inventory cost, then ListAccessKeys per user with a key finding.
  const resolutionCalls = reauthFirst.metrics.calls['IAM ListAccessKeys'] ?? 0;
  // SSH public keys have no account-wide listing: one ListSSHPublicKeys per user listed, a seventh of them a day.
  const sshListingCalls = reauthFirst.metrics.calls['IAM ListSSHPublicKeys'] ?? 0;
  const inventoryCalls = reauthFirst.metrics.readCalls - resolutionCalls - sshListingCalls - usageFirst.total;
  const usersWithKeyFinding = new Set(
    reauthFirst.result.rows.filter((row) => row.kind === 'access-key').map((row) => row.principal),
  ).size;
  const breakEvenUsers = Math.floor((naiveFirst.metrics.readCalls - 1) / READ_RATIO_TARGET) - inventoryCalls;

  // Table
  const operations = [...new Set(phases.flatMap((p) => Object.keys(p.calls)))].sort((a, b) => {
    const dynamo = (k: string) => (k.startsWith('DynamoDB ') ? 1 : 0);
    return dynamo(a) - dynamo(b) || a.localeCompare(b);
  });
  const header = ['', 'reauth run 1', 'reauth run 2', 'naive run 1', 'naive run 2'];
  const perPhase = (f: (p: PhaseMetrics, i: number) => string) => phases.map(f);
  const rows: string[][] = [
    ...operations.map((op) => [`  ${op}`, ...perPhase((p) => fmt(p.calls[op]))]),
    ['AWS read calls (IAM+SM+STS)', ...perPhase((p) => fmt(p.readCalls))],
    ['DynamoDB read calls', ...perPhase((p) => fmt(p.dynamodbReadCalls))],
    ['DynamoDB write calls', ...perPhase((p) => fmt(p.dynamodbWriteCalls))],
    ['DynamoDB items written (requests)', ...perPhase((p) => fmt(p.dynamodbItemsWritten))],
    [
      'decisions recorded (x2 items)',
      fmt(reauthFirst.result.decisionsWritten),
      fmt(reauthSecond.result.decisionsWritten),
      '-',
      '-',
    ],
    [
      'items written (decisions x2 | puts)',
      fmt(reauthFirst.result.decisionsWritten * 2),
      fmt(reauthSecond.result.decisionsWritten * 2),
      fmt(naiveFirst.result.itemsWritten),
      fmt(naiveSecond.result.itemsWritten),
    ],
    [
      'findings (reauth: all triggers)',
      fmt(reauthFirst.result.rows.filter((r) => r.outcome === 'finding').length),
      fmt(reauthSecond.result.rows.filter((r) => r.outcome === 'finding').length),
      fmt(naiveFirst.result.findings.length),
      fmt(naiveSecond.result.findings.length),
    ],
    ...agreement.map((a) => [
      `  idle ${a.kind}s`,
      fmt(a.reauth),
      fmt(idleIds(reauthSecond.result).get(a.kind)?.size),
      fmt(a.naive),
      fmt(naiveIds(naiveSecond.result).get(a.kind)?.size),
    ]),
    ['wall time (s)', ...perPhase((p) => (p.wallMs / 1000).toFixed(2))],
    ['RSS at start (MB)', ...perPhase((p) => p.rssStartMb.toFixed(1))],
    ['peak RSS (MB)', ...perPhase((p) => p.peakRssMb.toFixed(1))],
    ['peak heapUsed (MB)', ...perPhase((p) => p.peakHeapUsedMb.toFixed(1))],
  ];

  // The naive scanner reads neither service usage nor SSH keys: the ratio compares the rest.
  const sshSecond = reauthSecond.metrics.calls['IAM ListSSHPublicKeys'] ?? 0;
  const comparableFirst = reauthFirst.metrics.readCalls - usageFirst.total - sshListingCalls;
  const comparableSecond = reauthSecond.metrics.readCalls - usageSecond.total - sshSecond;
  const ratioFirst = naiveFirst.metrics.readCalls / Math.max(1, comparableFirst);
  const ratioSecond = naiveSecond.metrics.readCalls / Math.max(1, comparableSecond);
  // Every run records its population (#24): one transaction of two items, the record and its chain's head.
  const POPULATION_ITEMS = 2;
  const rerunItems =
    reauthSecond.result.decisionsWritten * 2 + reauthSecond.metrics.dynamodbItemsWritten - POPULATION_ITEMS;
  const targets = [
    {
      name: `reauth AWS read calls < 1/${READ_RATIO_TARGET} of naive (run 1, empty table)`,
      status: atDefaultSize ? (ratioFirst > READ_RATIO_TARGET ? 'PASS' : 'FAIL') : 'SKIP',
      detail: `${fmt(comparableFirst)} vs ${fmt(naiveFirst.metrics.readCalls)} (1/${ratioFirst.toFixed(1)}), inventory reads; ${fmt(usageFirst.total)} more for the service usage of the principals asked about and ${fmt(sshListingCalls)} listing SSH keys, which the naive scanner does not read${
        atDefaultSize ? '' : '; checked at the default size only'
      }`,
    },
    {
      name: `reauth AWS read calls < 1/${READ_RATIO_TARGET} of naive (run 2, the daily steady state)`,
      status: atDefaultSize ? (ratioSecond > READ_RATIO_TARGET ? 'PASS' : 'FAIL') : 'SKIP',
      detail: `${fmt(comparableSecond)} vs ${fmt(naiveSecond.metrics.readCalls)} (1/${ratioSecond.toFixed(1)}), inventory reads; ${fmt(usageSecond.total)} for service usage, ${fmt(sshSecond)} listing SSH keys`,
    },
    {
      name: `service usage costs one job per asked principal (2 calls, plus polling), none for the others; at most ${SERVICE_USAGE_PER_RUN} a run, the re-run reading only those run 1 left out`,
      status:
        usageFirst.generated === usageExpected[0] &&
        reauthFirst.result.serviceUsage.principals === usageExpected[0] &&
        usageFirst.read >= usageFirst.generated &&
        usageSecond.generated === usageExpected[1] &&
        reauthSecond.result.serviceUsage.principals === usageExpected[1]
          ? 'PASS'
          : 'FAIL',
      detail:
        `run 1: ${fmt(askedPrincipals)} users and roles asked about, ${fmt(usageFirst.generated)} jobs, ` +
        `${fmt(usageFirst.total)} calls (${(usageFirst.total / Math.max(1, usageFirst.generated)).toFixed(2)} per principal read: 2 + ` +
        `${((usageFirst.read - usageFirst.generated) / Math.max(1, usageFirst.generated)).toFixed(2)} polls), ` +
        `${fmt(usageRows)} findings with the usage line, ${reauthFirst.result.serviceUsage.unavailable.length} unavailable; ` +
        `run 2: ${fmt(usageSecond.generated)} jobs for those left out, ${fmt(usageSecond.total)} calls`,
    },
    {
      name: 'unchanged re-run writes nothing but its population record and the usage lines run 1 left out (state only, no decision)',
      status:
        reauthSecond.result.decisionsWritten === 0 && rerunItems === reauthSecond.result.usageLearned
          ? 'PASS'
          : 'FAIL',
      detail: `${reauthSecond.result.decisionsWritten} decisions, ${reauthSecond.metrics.dynamodbWriteCalls} write calls, ${reauthSecond.metrics.dynamodbItemsWritten} items, ${reauthSecond.result.usageLearned} of them states given their usage line`,
    },
    bundleTarget(bundles),
    {
      name: `every credential of a ${fmt(slackNotify.bigOwner.credentials)}-credential owner is answerable, in messages within Slack's limits`,
      status:
        slackNotify.bigOwner.answerable === slackNotify.bigOwner.credentials &&
        slackNotify.bigOwner.overLimits === 0 &&
        slackNotify.bigOwner.failures === 0
          ? 'PASS'
          : 'FAIL',
      detail: `${fmt(slackNotify.bigOwner.answerable)} answerable in ${slackNotify.bigOwner.messages} messages, ${slackNotify.bigOwner.overLimits} over a limit`,
    },
    {
      name: `a policy version reaching ${fmt(fanOut.credentials)} keys opens each request once, every invocation within the consumer's ${fanOut.consumerTimeoutS} s, and its redelivery writes nothing`,
      status:
        fanOut.first.decisions === fanOut.credentials &&
        fanOut.first.requestsOpened === fanOut.credentials &&
        fanOut.first.slowestInvocationS < fanOut.consumerTimeoutS &&
        fanOut.redelivery.slowestInvocationS < fanOut.consumerTimeoutS &&
        fanOut.redelivery.decisions === fanOut.credentials &&
        fanOut.redelivery.dynamodbItemsWritten === 0 &&
        fanOut.first.batchItemFailures + fanOut.redelivery.batchItemFailures === 0
          ? 'PASS'
          : 'FAIL',
      detail: `${fmt(fanOut.first.requestsOpened)} opened in ${fanOut.first.invocations} invocations (slowest ${fanOut.first.slowestInvocationS} s, ${fanOut.first.totalS} s in all); redelivery: ${fanOut.redelivery.dynamodbItemsWritten} items written, slowest ${fanOut.redelivery.slowestInvocationS} s`,
    },
    {
      name: 'reauth and naive find the same idle credentials',
      status: findingsAgree ? 'PASS' : 'FAIL',
      detail: agreement.map((a) => `${a.kind} ${a.reauth}/${a.naive}`).join(', '),
    },
  ];

  console.log('');
  console.log(
    `Account: ${size.users} users, ${reauthFirst.result.inventory.accessKeys} access keys, ` +
      `${reauthFirst.result.inventory.secrets} secrets, ${reauthFirst.result.inventory.roles} roles in scope ` +
      `(${size.roles} roles); seeding took ${(seedingMs / 1000).toFixed(1)}s (not measured)`,
  );
  console.log('');
  console.log(formatTable(header, rows, { align: 'figures' }));
  console.log('');
  console.log(
    `naive reads / reauth reads: ${ratioFirst.toFixed(1)}x on run 1 (empty table), ${ratioSecond.toFixed(1)}x on run 2 (unchanged)`,
  );
  console.log(
    `reauth run 1 reads: ${inventoryCalls} inventory + ${sshListingCalls} ListSSHPublicKeys (one per user listed: IAM lists SSH keys ` +
      `per user only; by default a seventh of the users a day, listSshPublicKeys: never skips them) + ${resolutionCalls} ListAccessKeys for the ` +
      `${usersWithKeyFinding} users with a key finding (${((100 * usersWithKeyFinding) / Math.max(1, size.users)).toFixed(1)}% of users); ` +
      `without the SSH listings the 1/${READ_RATIO_TARGET} target holds up to ${Math.max(0, breakEvenUsers)} such users here`,
  );
  for (const a of agreement) {
    if (a.onlyReauth.length || a.onlyNaive.length) {
      console.log(
        `  ${a.kind}: only reauth ${a.onlyReauth.length} (e.g. ${a.onlyReauth.slice(0, 3).join(', ') || '-'}), ` +
          `only naive ${a.onlyNaive.length} (e.g. ${a.onlyNaive.slice(0, 3).join(', ') || '-'})`,
      );
    }
  }
  if (reauthFirst.result.unresolved.length) {
    console.log(`reauth left ${reauthFirst.result.unresolved.length} key slots unresolved`);
  }
  console.log('');
  console.log(
    `Slack endpoint, ${clicks.click.count} signed clicks (in-process, emulator + local fake Slack): ` +
      `click → dialog p50 ${clicks.click.p50Ms} ms, p99 ${clicks.click.p99Ms} ms; ` +
      `submission → checked and queued for the worker p50 ${clicks.submission.p50Ms} ms, p99 ${clicks.submission.p99Ms} ms ` +
      `(${clicks.reauthorized} answers taken; the worker records them)`,
  );
  for (const line of describeSlackNotify(slackNotify)) console.log(line);
  console.log('');
  printBundles(bundles);
  console.log('');
  for (const line of describeFanOut(fanOut)) console.log(line);
  console.log('');
  // Last: it resets the emulator, forgetting the account measured above.
  const memory = memorySizes.length > 0 ? await measureScanMemory() : [];
  if (memory.length > 0) {
    console.log('');
    printScanMemory(memory);
    targets.push(memoryTarget(memory));
  }
  for (const t of targets) console.log(`${t.status.padEnd(4)}  ${t.name}: ${t.detail}`);

  const result = {
    memory,
    generatedAt: new Date().toISOString(),
    size: { ...size, accessKeys: size.users * 2, defaultSize: atDefaultSize },
    node: process.version,
    seeding: { ms: seedingMs, concurrency: seedConcurrency, calls: seedCalls },
    inventory: reauthFirst.result.inventory,
    phases: {
      reauthFirst: { ...reauthFirst.metrics, decisionsWritten: reauthFirst.result.decisionsWritten },
      reauthSecond: { ...reauthSecond.metrics, decisionsWritten: reauthSecond.result.decisionsWritten },
      naiveFirst: { ...naiveFirst.metrics, itemsWritten: naiveFirst.result.itemsWritten },
      naiveSecond: { ...naiveSecond.metrics, itemsWritten: naiveSecond.result.itemsWritten },
    },
    reauthReads: { inventoryCalls, resolutionCalls, usersWithKeyFinding, breakEvenUsers },
    serviceUsage: { askedPrincipals, run1: usageFirst, run2: usageSecond, findingsWithLine: usageRows },
    ratio: { run1: round1(ratioFirst), run2: round1(ratioSecond), target: READ_RATIO_TARGET },
    findings: {
      reauthTotal: reauthFirst.result.rows.filter((r) => r.outcome === 'finding').length,
      reauthByTrigger: countBy(reauthFirst.result.rows.flatMap((r) => r.triggers)),
      naiveTotal: naiveFirst.result.findings.length,
      idle: agreement,
      unresolved: reauthFirst.result.unresolved,
    },
    slackEndpoint: clicks,
    slackNotify,
    trustFanOut: fanOut,
    bundles: { loadAverage: Number(bundlesLoad), functions: bundles },
    targets,
  };
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${outPath}`);
  if (targets.some((t) => t.status === 'FAIL')) process.exitCode = 1;
} finally {
  await emulator.stop();
}

function measureScanMemory(): Promise<ScanMemoryRow[]> {
  return benchScanMemory({
    emulator,
    env: emulatorEnv(emulator.endpoint),
    sizes: memorySizes,
    // As the main account is built, at the size asked: a user per two keys, a role per 20, a secret per 10.
    accountFor: (keys) =>
      benchAccount({
        users: Math.ceil(keys / 2),
        roles: Math.ceil(keys / 20),
        secrets: Math.ceil(keys / 10),
      }),
    seedConcurrency,
    lambdaMemoryMb: SCAN_MEMORY_MB,
    targetMemoryMb: MEMORY_TARGET_MB,
    lambdaEnv: { MALLOC_ARENA_MAX: String(SCAN_MALLOC_ARENAS) },
    say,
  });
}

function printScanMemory(rows: readonly ScanMemoryRow[]): void {
  console.log('Peak RSS of one first scan (fresh table), bundled as shipped:');
  console.log(
    `(the handler with MALLOC_ARENA_MAX=${SCAN_MALLOC_ARENAS}, as its function sets it; plain node sizes V8 from this machine's memory; ` +
      `"as in Lambda", from the function's memory: ${SCAN_MEMORY_MB} MB, ${lambdaV8Flags(SCAN_MEMORY_MB).join(' ')}; ` +
      `${MEMORY_TARGET_MB} MB, ${lambdaV8Flags(MEMORY_TARGET_MB).join(' ')})`,
  );
  console.log(
    formatTable(
      [
        'access keys',
        'CLI (MB)',
        'Lambda handler, plain node (MB)',
        `Lambda handler, as in its ${SCAN_MEMORY_MB} MB function (MB)`,
        `as in a ${MEMORY_TARGET_MB} MB function (MB)`,
        'CLI (ms)',
        'Lambda (ms)',
      ],
      memorySizes.map((keys) => {
        const of = (runner: ScanMemoryRow['runner']) =>
          rows.find((r) => r.credentials === keys && r.runner === runner);
        return [
          String(keys),
          String(of('cli')?.peakRssMb ?? '-'),
          String(of('lambda')?.peakRssMb ?? '-'),
          String(of('lambda-sized')?.peakRssMb ?? '-'),
          String(of('lambda-target')?.peakRssMb ?? '-'),
          String(of('cli')?.ms ?? '-'),
          String(of('lambda')?.ms ?? '-'),
        ];
      }),
    ),
  );
}

/**
 * The target is the scan Lambda's, run as a function of the target's size runs it (V8 flags from the
 * runtime's bootstrap for 128 MB, and the function's MALLOC_ARENA_MAX): that it would fit one. The
 * function itself is larger (lib/reauth.ts says why); it, the CLI and plain node on this machine are
 * printed beside it: more memory lets V8 leave garbage uncollected, which is not memory the scan needs.
 */
function memoryTarget(rows: readonly ScanMemoryRow[]): { status: string; name: string; detail: string } {
  const at = rows.filter((r) => r.credentials === MEMORY_TARGET_KEYS);
  const lambda = at.find((r) => r.runner === 'lambda-target');
  return {
    name: `scan Lambda peak RSS at ${MEMORY_TARGET_KEYS} access keys, as in a ${MEMORY_TARGET_MB} MB function`,
    status: !lambda ? 'SKIP' : lambda.peakRssMb <= MEMORY_TARGET_MB ? 'PASS' : 'FAIL',
    detail: !lambda
      ? `not measured (--memory-sizes has no ${MEMORY_TARGET_KEYS})`
      : `${lambda.peakRssMb} MB (target <= ${MEMORY_TARGET_MB} MB); beside it ${at
          .filter((r) => r !== lambda)
          .map((r) => `${r.runner} ${r.peakRssMb}`)
          .join(', ')} MB`,
  };
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
