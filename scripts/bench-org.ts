/**
 * `npm run bench:org`: what the organization fan-out costs. Seeds an emulated AWS Organization (50
 * member accounts in 5 OUs, a small inventory each), then runs the hub's synthesized scan state machine
 * on it twice (empty table, then unchanged: the daily steady state), its Distributed Map's children the
 * real scan handler through the Lambda bridge. Every AWS call goes through a counting proxy, which
 * tells by the credentials which account it acts in. Before that, the same inventory is scanned in
 * single-account mode (scanAccount in the hub account): today's figure to compare with.
 * Reports per-account calls and time (p50, p95), the Organizations calls, the hub table's writes and a
 * projection for 1,000 accounts; prints a table and writes JSON.
 *
 *   npx tsx scripts/bench-org.ts [--accounts 50] [--out bench-results/org.json]
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { formatTable } from '../cli/format';
import { createAwsClients, createOrganizationsClient } from '../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../lambdas/shared/adapters/decision-store';
import { parsePolicyConfig } from '../lambdas/shared/domain/policy';
import { scanAccount } from '../lambdas/shared/use-cases/scan-account';
import { createCallLedger, DYNAMODB_WRITES, type LedgerCall } from './bench/call-ledger';
import { emulatorEnv, startEmulator } from './emulator/emulator';
import { startFaultProxy } from './emulator/fault-proxy';
import type { InvocationDetail } from './emulator/lambda-bridge';
import { ensureDecisionTable } from './local/decision-table';
import { startLocalStack } from './local/local-stack';
import { runFanOut } from './local/org-fan-out';
import { type AccountSpec, seedAccount, VENDOR_ACCOUNT } from './local/seed';
import { HUB_ACCOUNT, seedOrganization } from './local/seed-organization';

const { values: flags } = parseArgs({
  options: {
    accounts: { type: 'string', default: '50' },
    out: { type: 'string', default: 'bench-results/org.json' },
  },
  strict: true,
});
const ACCOUNTS = Number(flags.accounts);
if (!Number.isInteger(ACCOUNTS) || ACCOUNTS < 1) {
  console.error(`bench:org: --accounts must be a whole number above 0, got ${flags.accounts}`);
  process.exit(2);
}
const PROJECTED_ACCOUNTS = 1000;
const TARGET_MINUTES = 15;
const OUS = ['prod', 'staging', 'data', 'sandbox', 'shared'];
const OWNERS = ['UPAYMENTS', 'USEARCH', 'UDATA', 'UPLATFORM', 'UGROWTH'];
const TABLE = 'reauth-bench-org';
const BASELINE_TABLE = 'reauth-bench-org-single';
/** The organization section, as a user would write it (the defaults: maxConcurrency 200). */
const ORGANIZATION = { exclude: { accounts: [HUB_ACCOUNT] } };

/** A small account: 4 service users (one idle key), 2 secrets (one never read), a vendor role. */
function smallAccount(i: number): AccountSpec {
  const owner = OWNERS[i % OWNERS.length] as string;
  const tags = { 'reauth:owner': owner };
  return {
    users: [
      { name: 'svc-deployer', tags, keys: [{ createdDaysAgo: 200, usedDaysAgo: 2 }] },
      {
        name: 'svc-etl',
        tags,
        keys: [
          { createdDaysAgo: 150, usedDaysAgo: 10 },
          { createdDaysAgo: 20, usedDaysAgo: 1 },
        ],
      },
      { name: 'svc-reporting', tags, keys: [{ createdDaysAgo: 300, usedDaysAgo: 120 }] },
      { name: 'svc-backup', tags, keys: [{ createdDaysAgo: 90, usedDaysAgo: 5 }] },
    ],
    secrets: [
      { name: 'app/db', createdDaysAgo: 250, readDaysAgo: 1, tags },
      { name: 'app/legacy-token', createdDaysAgo: 400, tags },
    ],
    roles: [
      {
        name: 'vendor-monitoring',
        createdDaysAgo: 200,
        trustedAccounts: [VENDOR_ACCOUNT],
        externalId: `ext-${i}`,
        tags,
      },
    ],
  };
}

const started = Date.now();
const say = (message: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);

const emulator = await startEmulator();
const ledger = createCallLedger(HUB_ACCOUNT);
const proxy = await startFaultProxy({ target: emulator.endpoint, rate: 0, observe: ledger.observe });
try {
  // The handlers and this script call AWS through the counting proxy; Step Functions is driven directly.
  Object.assign(process.env, emulatorEnv(proxy.endpoint), { POWERTOOLS_LOG_LEVEL: 'CRITICAL' });
  const clients = createAwsClients();

  say(`seeding an organization of ${ACCOUNTS} member accounts in ${OUS.length} OUs (not measured)`);
  const org = await seedOrganization(
    emulator,
    createOrganizationsClient(),
    {
      ous: OUS.map((name) => ({ name })),
      accounts: Array.from({ length: ACCOUNTS }, (_, i) => ({
        name: `member-${String(i).padStart(3, '0')}`,
        ou: OUS[i % OUS.length] as string,
        inventory: smallAccount(i),
      })),
    },
    new Date(),
    16,
  );
  say('seeding the same inventory in the hub, for the single-account baseline (not measured)');
  await seedAccount(emulator, clients, smallAccount(0), new Date());
  ledger.take();

  say('single-account baseline: scanAccount in the hub account, twice');
  await ensureDecisionTable(clients.dynamodb, BASELINE_TABLE);
  const baseline: LedgerCall[][] = [];
  for (let run = 0; run < 2; run++) {
    await scanAccount(
      {
        iam: clients.iam,
        secretsManager: clients.secretsManager,
        store: createDecisionStore(clients.documents, BASELINE_TABLE),
      },
      { accountId: HUB_ACCOUNT, policy: parsePolicyConfig({}), now: new Date() },
    );
    baseline.push(ledger.take());
  }

  const policy = { organization: ORGANIZATION };
  const maxConcurrency = parsePolicyConfig(policy).organization?.maxConcurrency ?? 200;
  const local = await startLocalStack(clients, { table: TABLE, policy, slackUsers: {} });
  ledger.take();

  // Each bridged invocation is a performance measure (lambda-bridge.ts): the per-account times.
  let invocations: { name: string; ms: number; detail: InvocationDetail }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntriesByType('measure'))
      if (entry.name.startsWith('lambda:'))
        invocations.push({
          name: entry.name,
          ms: entry.duration,
          detail: (entry as { detail?: unknown }).detail as InvocationDetail,
        });
  });
  observer.observe({ entryTypes: ['measure'] });

  const runs = [];
  for (const label of ['run 1 (empty table)', 'run 2 (unchanged)']) {
    say(`fan-out ${label}: the hub's synthesized scan state machine, maxConcurrency ${maxConcurrency}`);
    invocations = [];
    const t0 = performance.now();
    const execution = await runFanOut({
      emulator,
      job: 'scan',
      policy,
      organizationId: org.organizationId,
      organizationRootId: org.rootId,
      table: TABLE,
      slack: { secretArn: local.env.SLACK_SECRET_ARN as string, apiBaseUrl: local.slack.apiBaseUrl },
      env: { POWERTOOLS_LOG_LEVEL: 'CRITICAL' },
      timeoutMs: 600_000,
    });
    const wallMs = performance.now() - t0;
    await new Promise((flushed) => setImmediate(flushed)); // the observer's last entries
    if (execution.status !== 'SUCCEEDED')
      throw new Error(`the fan-out ${execution.status}: ${execution.error} ${execution.cause}`);
    runs.push({ label, wallMs, output: execution.output, calls: ledger.take(), invocations });
  }
  observer.disconnect();

  const members = new Set([...org.accounts.values()].map((a) => a.accountId));
  const stats = runs.map((run) => {
    const perAccount = new Map<string, number>([...members].map((id) => [id, 0]));
    const byOperation = new Map<string, number>();
    for (const call of run.calls) {
      if (!members.has(call.account)) continue;
      perAccount.set(call.account, (perAccount.get(call.account) ?? 0) + 1);
      const key = `${call.service} ${call.operation}`;
      byOperation.set(key, (byOperation.get(key) ?? 0) + 1);
    }
    const scans = run.invocations.filter((i) => (i.detail.payload as { account?: unknown })?.account);
    const phase = (fn: string) =>
      run.invocations.filter((i) => i.name.includes(fn)).reduce((ms, i) => ms + i.ms, 0);
    const hub = run.calls.filter((c) => c.account === HUB_ACCOUNT);
    const dynamo = run.calls.filter((c) => c.service === 'dynamodb');
    return {
      label: run.label,
      wallMs: Math.round(run.wallMs),
      summary: run.output,
      accountCalls: percentiles([...perAccount.values()]),
      callsPerAccountByOperation: Object.fromEntries(
        [...byOperation].sort().map(([op, n]) => [op, round2(n / members.size)]),
      ),
      accountMs: percentiles(scans.map((s) => s.ms)),
      scanInvocations: scans.length,
      listMs: Math.round(phase('ListAccounts')),
      summaryMs: Math.round(phase('Summary')),
      organizationsCalls: hub.filter((c) => c.service === 'organizations').length,
      tableWriteCalls: dynamo.filter((c) => DYNAMODB_WRITES.has(c.operation)).length,
      tableItemsWritten: dynamo.reduce((n, c) => n + c.itemsWritten, 0),
      tableReadCalls: dynamo.filter((c) => !DYNAMODB_WRITES.has(c.operation)).length,
    };
  });
  const baselineReads = baseline.map((calls) => calls.filter((c) => c.service !== 'dynamodb').length);
  const posts = local.slack.calls('chat.postMessage').length;

  // Projection: children run at most maxConcurrency at once; each slot frees when its account is
  // done, so ceil(N / maxConcurrency) accounts of p95 time each bound the Map; plus the listing and
  // the summary, scaled linearly from the measured run (both grow with the account count).
  const steady = stats[1] as (typeof stats)[number];
  const scale = PROJECTED_ACCOUNTS / members.size;
  const waves = Math.ceil(PROJECTED_ACCOUNTS / maxConcurrency);
  const projectedMs = steady.listMs * scale + waves * steady.accountMs.p95 + steady.summaryMs * scale;
  const budgetPerAccountMs = (TARGET_MINUTES * 60_000 - (steady.listMs + steady.summaryMs) * scale) / waves;

  const header = ['', ...stats.map((s) => s.label), 'single-account (run 2)'];
  const rows: string[][] = [
    [
      'AWS calls per account, p50 / p95',
      ...stats.map((s) => `${s.accountCalls.p50} / ${s.accountCalls.p95}`),
      `${baselineReads[1]}`,
    ],
    ...[...new Set(stats.flatMap((s) => Object.keys(s.callsPerAccountByOperation)))]
      .sort()
      .map((op) => [
        `  ${op} (mean)`,
        ...stats.map((s) => String(s.callsPerAccountByOperation[op] ?? '-')),
        String(baseline[1]?.filter((c) => `${c.service} ${c.operation}` === op).length ?? '-'),
      ]),
    ['time per account (ms), p50 / p95', ...stats.map((s) => `${s.accountMs.p50} / ${s.accountMs.p95}`), '-'],
    ['scan invocations', ...stats.map((s) => String(s.scanInvocations)), '-'],
    ['Organizations API calls', ...stats.map((s) => String(s.organizationsCalls)), '-'],
    ['hub table write calls', ...stats.map((s) => String(s.tableWriteCalls)), '-'],
    ['hub table items written', ...stats.map((s) => String(s.tableItemsWritten)), '-'],
    ['hub table read calls', ...stats.map((s) => String(s.tableReadCalls)), '-'],
    ['list accounts (ms)', ...stats.map((s) => String(s.listMs)), '-'],
    ['summary + notify (ms)', ...stats.map((s) => String(s.summaryMs)), '-'],
    ['execution wall time (s; run 1: with synth)', ...stats.map((s) => (s.wallMs / 1000).toFixed(1)), '-'],
    ['findings', ...stats.map((s) => String((s.summary as { findings?: number }).findings)), '-'],
    [
      'credentials notified (one pass)',
      ...stats.map((s) => String((s.summary as { notified?: number }).notified)),
      '-',
    ],
  ];
  const targets = [
    {
      name: 'steady-state AWS calls per account = single-account figure + 1 AssumeRole',
      status: steady.accountCalls.max <= (baselineReads[1] ?? 0) + 1 ? 'PASS' : 'FAIL',
      detail: `max ${steady.accountCalls.max} vs ${baselineReads[1]} + 1`,
    },
    {
      name: `projected ${PROJECTED_ACCOUNTS}-account daily scan under ${TARGET_MINUTES} minutes`,
      status: projectedMs < TARGET_MINUTES * 60_000 ? 'PASS' : 'FAIL',
      detail:
        `${((steady.listMs * scale) / 1000).toFixed(1)} s list + ${waves} x ${steady.accountMs.p95} ms + ` +
        `${((steady.summaryMs * scale) / 1000).toFixed(1)} s summary = ${(projectedMs / 60_000).toFixed(2)} min ` +
        `(on the emulator; holds on AWS while an account's p95 stays under ${(budgetPerAccountMs / 1000).toFixed(1)} s)`,
    },
  ];

  console.log('');
  console.log(
    `Organization: ${members.size} member accounts in ${OUS.length} OUs, each 4 users (5 keys), 2 secrets, 1 vendor role; ` +
      `maxConcurrency ${maxConcurrency}; Slack messages over both runs: ${posts} to ${OWNERS.length} owners (20 credentials a message)`,
  );
  console.log(formatTable(header, rows, { align: 'figures' }));
  console.log('');
  for (const t of targets) console.log(`${t.status.padEnd(4)}  ${t.name}: ${t.detail}`);

  const outPath = resolve(flags.out);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(
    outPath,
    `${JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        node: process.version,
        accounts: members.size,
        maxConcurrency,
        baseline: { readCalls: baselineReads },
        runs: stats,
        slackMessages: posts,
        projection: {
          accounts: PROJECTED_ACCOUNTS,
          formula: 'list x N/n + ceil(N / maxConcurrency) x p95(account) + summary x N/n',
          waves,
          minutes: round2(projectedMs / 60_000),
          budgetPerAccountMs: Math.round(budgetPerAccountMs),
        },
        targets,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${outPath}`);
  await local.slack.close();
  if (targets.some((t) => t.status === 'FAIL')) process.exitCode = 1;
} finally {
  await proxy.stop();
  await emulator.stop();
}

function percentiles(values: number[]): { p50: number; p95: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
  return { p50: at(0.5), p95: at(0.95), max: Math.round(sorted.at(-1) ?? 0) };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
