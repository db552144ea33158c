/**
 * `npm run bench:org`: what the organization's daily run costs on AWS. Seeds an emulated AWS
 * Organization (50 member accounts in 5 OUs, a small inventory each), then runs the hub's synthesized
 * scan state machine on it twice (empty table, then unchanged: the daily run), its Distributed Map's
 * children the real scan handler through the Lambda bridge. Before that, the same inventory is scanned
 * in single-account mode (scanAccount in the hub account): the figure to compare with.
 *
 * Every AWS call goes through a counting proxy, which tells by the credentials which account it acts
 * in, and which models AWS (scripts/bench/org-latency-model.ts): each call waits its AWS latency, and a
 * credential report takes 3 to 9 s to generate, answered "in progress" meanwhile. Before each run every
 * account's report is a day old and the kept listing forgotten, as a daily run finds them; every poll and
 * not-ready answer is counted as a call.
 *
 * Reports per-account calls and time (p50, p95, and the report wait), the Organizations calls, the hub
 * table's writes, and a projection for 1,000 and 10,000 accounts from the measured per-account time;
 * prints a table and writes JSON.
 *
 *   npx tsx scripts/bench-org.ts [--accounts 50] [--out bench-results/org.json]
 *     [--latency 'iam=100'…] [--report-seconds 3-9] [--child-start-ms 250] [--cold-start-ms 1000]
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { TagResourceCommand } from '@aws-sdk/client-organizations';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { formatTable } from '../cli/format';
import {
  createAwsClients,
  createOrganizationsClient,
  createS3Client,
} from '../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../lambdas/shared/adapters/decision-store';
import { TAG_READ_CONCURRENCY } from '../lambdas/shared/adapters/organization';
import { forgetOrganizationListing } from '../lambdas/shared/adapters/organization-listing';
import { stackOwnersOfThisAccount } from '../lambdas/shared/adapters/stack-owners';
import { REPORTS_STARTED_KEY } from '../lambdas/shared/domain/organization';
import { parsePolicyConfig } from '../lambdas/shared/domain/policy';
import { scanAccount } from '../lambdas/shared/use-cases/scan-account';
import { type C7nOrgRun, runC7nOrg } from './bench/c7n-org';
import { createCallLedger, DYNAMODB_WRITES, type LedgerCall } from './bench/call-ledger';
import {
  callLatency,
  createCredentialReportModel,
  ORG_LATENCY_FLAGS,
  parseOrgLatencyModel,
} from './bench/org-latency-model';
import { emulatorEnv, startEmulator } from './emulator/emulator';
import { startFaultProxy } from './emulator/fault-proxy';
import type { InvocationDetail } from './emulator/lambda-bridge';
import { ensureDecisionTable } from './local/decision-table';
import { startLocalStack } from './local/local-stack';
import { runFanOut } from './local/org-fan-out';
import { mulberry32 } from './local/prng';
import { type AccountSpec, seedAccount, VENDOR_ACCOUNT } from './local/seed';
import { HUB_ACCOUNT, seedOrganization } from './local/seed-organization';

const { values: flags } = parseArgs({
  options: {
    accounts: { type: 'string', default: '50' },
    out: { type: 'string', default: 'bench-results/org.json' },
    ...ORG_LATENCY_FLAGS,
    /** c7n-org's executable, to run beside reauth (`pip install c7n-org` in a virtualenv). */
    'c7n-org': { type: 'string', default: process.env.BENCH_C7N_ORG },
    /** Accounts c7n-org runs at once (one Python process each). */
    'c7n-jobs': { type: 'string', default: '10' },
    /**
     * `untagged`: no credential carries an owner tag; each OU's owner tag names its accounts' owner and
     * one user per account is in a group `owners.byGroup` maps (issue 23: who reaches the fallback owner).
     */
    owners: { type: 'string', default: 'tagged' },
  },
  strict: true,
});
const UNTAGGED = flags.owners === 'untagged';
if (!['tagged', 'untagged'].includes(flags.owners as string)) {
  console.error(`bench:org: --owners is tagged or untagged, got ${flags.owners}`);
  process.exit(2);
}
const ACCOUNTS = Number(flags.accounts);
if (!Number.isInteger(ACCOUNTS) || ACCOUNTS < 1) {
  console.error(`bench:org: --accounts must be a whole number above 0, got ${flags.accounts}`);
  process.exit(2);
}
/** The daily run's targets (issue 21): accounts, minutes. */
const TARGETS = [
  { accounts: 1_000, minutes: 5 },
  { accounts: 10_000, minutes: 15 },
] as const;
/** How often the scan asks for a report being generated (lambdas/shared/adapters/iam-inventory.ts). */
const REPORT_POLL_MS = 1_000;
const RESULTS_BUCKET = 'reauth-fan-out-results';
/** Accounts a ListAccountsForParent page holds at most. */
const ORGANIZATIONS_PAGE = 20;
/** The list step's reports started ahead: at once, and for at most (lambdas/org-accounts/handler.ts). */
const REPORTS_AHEAD_CONCURRENCY = 50;
const REPORTS_AHEAD_MS = 120_000;
const model = parseOrgLatencyModel(flags);
const OUS = ['prod', 'staging', 'data', 'sandbox', 'shared'];
const OWNERS = ['UPAYMENTS', 'USEARCH', 'UDATA', 'UPLATFORM', 'UGROWTH'];
const TABLE = 'reauth-bench-org';
const BASELINE_TABLE = 'reauth-bench-org-single';
/** The organization section, as a user would write it (the defaults: maxConcurrency 200). */
const ORGANIZATION = { exclude: { accounts: [HUB_ACCOUNT] } };
/** `--owners untagged`: the deployers group's owner; every OU's owner comes from its tag. */
const OWNERS_SECTION = UNTAGGED ? { owners: { byGroup: { deployers: 'UPLATFORM' } } } : {};

/**
 * A small account: 4 service users (one idle key), 2 secrets (one never read), a vendor role. Each
 * carries its owner's tag, or (`--owners untagged`) none, and the deployer is in the `deployers` group.
 */
function smallAccount(i: number): AccountSpec {
  const owner = OWNERS[i % OWNERS.length] as string;
  const tags: Record<string, string> = UNTAGGED ? {} : { 'reauth:owner': owner };
  return {
    users: [
      {
        name: 'svc-deployer',
        tags,
        ...(UNTAGGED && { groups: ['deployers'] }),
        keys: [{ createdDaysAgo: 200, usedDaysAgo: 2 }],
      },
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
const reports = createCredentialReportModel({ model, accountOf: ledger.accountOf });
const latency = callLatency(model);
// Seeding is not measured: AWS is modelled only once the benchmark starts.
let modelled = false;
const proxy = await startFaultProxy({
  target: emulator.endpoint,
  rate: 0,
  observe: ledger.observe,
  latencyMs: (call) => (modelled ? latency(call) : 0),
  respond: (call, forward) => (modelled ? reports.respond(call, forward) : forward()),
});
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
  if (UNTAGGED) {
    say('tagging each OU with its owner (not measured)');
    const organizations = createOrganizationsClient();
    for (const [index, name] of OUS.entries())
      await organizations.send(
        new TagResourceCommand({
          ResourceId: org.ous.get(name) as string,
          Tags: [{ Key: 'owner', Value: OWNERS[index % OWNERS.length] as string }],
        }),
      );
  }
  say('seeding the same inventory in the hub, for the single-account baseline (not measured)');
  await seedAccount(emulator, clients, smallAccount(0), new Date());
  ledger.take();

  say('single-account baseline: scanAccount in the hub account, twice, each finding its report a day old');
  await ensureDecisionTable(clients.dynamodb, BASELINE_TABLE);
  modelled = true;
  const baseline: LedgerCall[][] = [];
  for (let run = 0; run < 2; run++) {
    reports.ageAll();
    await scanAccount(
      {
        iam: clients.iam,
        secretsManager: clients.secretsManager,
        store: createDecisionStore(clients.documents, BASELINE_TABLE),
        stacks: stackOwnersOfThisAccount(),
      },
      { accountId: HUB_ACCOUNT, policy: parsePolicyConfig({}), now: new Date() },
    );
    baseline.push(ledger.take());
  }

  const policy = { organization: ORGANIZATION, ...OWNERS_SECTION };
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
  for (const label of ['run 1 (empty table)', 'run 2 (daily, unchanged)']) {
    say(`fan-out ${label}: the hub's synthesized scan state machine, maxConcurrency ${maxConcurrency}`);
    // A day later: every report is older than 4 hours, the kept listing and the reports' note are stale.
    reports.ageAll();
    const s3 = createS3Client();
    await forgetOrganizationListing(s3, RESULTS_BUCKET).catch(() => {});
    await s3
      .send(new DeleteObjectCommand({ Bucket: RESULTS_BUCKET, Key: REPORTS_STARTED_KEY }))
      .catch(() => {});
    ledger.take();
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
    // Who each open request went to: the fallback owner's share is what owner sources did not reach.
    const open = await createDecisionStore(clients.documents, TABLE).openRequests();
    const ownerSources: Record<string, number> = {};
    for (const state of open) {
      const source = state.ownerSource?.source ?? 'unrecorded';
      ownerSources[source] = (ownerSources[source] ?? 0) + 1;
    }
    runs.push({
      label,
      ownerSources,
      openRequests: open.length,
      wallMs,
      output: execution.output,
      calls: ledger.take(),
      invocations,
      waits: new Map(reports.waits()),
    });
  }
  observer.disconnect();

  // c7n-org over the same accounts, each report a day old again, through the same proxy and model.
  let c7n: (C7nOrgRun & { calls: LedgerCall[] }) | undefined;
  if (flags['c7n-org']) {
    const jobs = Number(flags['c7n-jobs']);
    say(`c7n-org beside it: ${flags['c7n-org']}, ${jobs} accounts at once`);
    reports.ageAll();
    ledger.take();
    const run = await runC7nOrg({
      executable: flags['c7n-org'],
      accounts: [...org.accounts.values()].map((a) => a.accountId),
      roleName: parsePolicyConfig(policy).organization?.readerRoleName ?? 'reauth-reader',
      region: 'us-east-1',
      jobs,
      env: emulatorEnv(proxy.endpoint),
    });
    c7n = { ...run, calls: ledger.take() };
  }

  const members = new Set([...org.accounts.values()].map((a) => a.accountId));
  const REPORT_CALLS = new Set(['GenerateCredentialReport', 'GetCredentialReport']);
  const stats = runs.map((run) => {
    const perAccount = new Map<string, LedgerCall[]>([...members].map((id) => [id, []]));
    const byOperation = new Map<string, number>();
    for (const call of run.calls) {
      if (!members.has(call.account)) continue;
      perAccount.get(call.account)?.push(call);
      const key = `${call.service} ${call.operation}`;
      byOperation.set(key, (byOperation.get(key) ?? 0) + 1);
    }
    const counts = [...perAccount.values()];
    const scans = run.invocations
      .filter((i) => (i.detail.payload as { account?: unknown })?.account)
      .map((i) => {
        const account = (i.detail.payload as { account: { accountId?: string } | string }).account;
        const id = typeof account === 'string' ? account : (account.accountId ?? '');
        const wait = run.waits.get(id);
        const waitMs = wait?.readyMs !== undefined ? wait.readyMs - wait.firstAskedMs : 0;
        return { ms: i.ms, waitMs, baseMs: i.ms - waitMs };
      });
    const phase = (fn: string) =>
      run.invocations.filter((i) => i.name.includes(fn)).reduce((ms, i) => ms + i.ms, 0);
    const hub = run.calls.filter((c) => c.account === HUB_ACCOUNT);
    const dynamo = run.calls.filter((c) => c.service === 'dynamodb');
    return {
      label: run.label,
      ownerSources: run.ownerSources,
      openRequests: run.openRequests,
      tagReadsPerAccount: round2(
        hub.filter((c) => c.operation === 'ListTagsForResource').length / members.size,
      ),
      wallMs: Math.round(run.wallMs),
      summary: run.output,
      accountCalls: percentiles(counts.map((calls) => calls.length)),
      /** Calls other than the report's and AssumeRole: what the single-account scan also makes. */
      accountCoreCalls: percentiles(
        counts.map(
          (calls) =>
            calls.filter((c) => !REPORT_CALLS.has(c.operation) && c.operation !== 'AssumeRole').length,
        ),
      ),
      accountReportCalls: percentiles(
        counts.map((calls) => calls.filter((c) => REPORT_CALLS.has(c.operation)).length),
      ),
      accountAssumeRoles: percentiles(
        counts.map((calls) => calls.filter((c) => c.operation === 'AssumeRole').length),
      ),
      callsPerAccountByOperation: Object.fromEntries(
        [...byOperation].sort().map(([op, n]) => [op, round2(n / members.size)]),
      ),
      accountMs: percentiles(scans.map((s) => s.ms)),
      accountMeanMs: Math.round(mean(scans.map((s) => s.ms))),
      reportWaitMs: percentiles(scans.map((s) => s.waitMs)),
      reportWaitMeanMs: Math.round(mean(scans.map((s) => s.waitMs))),
      baseMs: scans.map((s) => s.baseMs),
      scanInvocations: scans.length,
      listMs: Math.round(phase('ListAccounts')),
      summaryMs: Math.round(phase('Summary')),
      organizationsCalls: hub.filter((c) => c.service === 'organizations').length,
      accountPages: hub.filter((c) => c.operation === 'ListAccountsForParent').length,
      tableWriteCalls: dynamo.filter((c) => DYNAMODB_WRITES.has(c.operation)).length,
      tableItemsWritten: dynamo.reduce((n, c) => n + c.itemsWritten, 0),
      tableReadCalls: dynamo.filter((c) => !DYNAMODB_WRITES.has(c.operation)).length,
    };
  });
  const awsCalls = (calls: LedgerCall[]) => calls.filter((c) => c.service !== 'dynamodb');
  const baselineReads = baseline.map((calls) => awsCalls(calls).length);
  const baselineCore = awsCalls(baseline[1] ?? []).filter((c) => !REPORT_CALLS.has(c.operation)).length;
  const baselineReportCalls = awsCalls(baseline[1] ?? []).filter((c) => REPORT_CALLS.has(c.operation)).length;
  const posts = local.slack.calls('chat.postMessage').length;

  const daily = stats[1] as (typeof stats)[number];
  const c7nStats = c7n && {
    exitCode: c7n.exitCode,
    wallMs: Math.round(c7n.wallMs),
    matched: c7n.matched,
    accountCalls: percentiles([...members].map((id) => c7n.calls.filter((c) => c.account === id).length)),
    callsPerAccountByOperation: perOperation(
      c7n.calls.filter((c) => members.has(c.account)),
      members.size,
    ),
    accountMeanMs: Math.round(mean([...c7n.accountMs.values()])),
    accountMs: percentiles([...c7n.accountMs.values()]),
    accountsReported: c7n.accountMs.size,
  };
  const projections = TARGETS.map((target) => ({ ...target, ...project(daily, target.accounts) }));

  const header = ['', ...stats.map((s) => s.label), 'single-account (run 2)'];
  const rows: string[][] = [
    [
      'AWS calls per account, p50 / p95',
      ...stats.map((s) => `${s.accountCalls.p50} / ${s.accountCalls.p95}`),
      `${baselineReads[1]}`,
    ],
    [
      '  of which report calls (Generate, Get, polls), p50 / max',
      ...stats.map((s) => `${s.accountReportCalls.p50} / ${s.accountReportCalls.max}`),
      `${baselineReportCalls}`,
    ],
    ['  of which AssumeRole, max', ...stats.map((s) => String(s.accountAssumeRoles.max)), '0'],
    [
      '  the rest (the scan proper), max',
      ...stats.map((s) => String(s.accountCoreCalls.max)),
      String(baselineCore),
    ],
    ...[...new Set(stats.flatMap((s) => Object.keys(s.callsPerAccountByOperation)))]
      .sort()
      .map((op) => [
        `  ${op} (mean)`,
        ...stats.map((s) => String(s.callsPerAccountByOperation[op] ?? '-')),
        String(baseline[1]?.filter((c) => `${c.service} ${c.operation}` === op).length ?? '-'),
      ]),
    [
      'time per account (ms), mean / p50 / p95',
      ...stats.map((s) => `${s.accountMeanMs} / ${s.accountMs.p50} / ${s.accountMs.p95}`),
      '-',
    ],
    [
      '  of which waiting for the report, mean / p95',
      ...stats.map((s) => `${s.reportWaitMeanMs} / ${s.reportWaitMs.p95}`),
      '-',
    ],
    ['scan invocations', ...stats.map((s) => String(s.scanInvocations)), '-'],
    ['Organizations API calls', ...stats.map((s) => String(s.organizationsCalls)), '-'],
    [
      '  of which owner tag reads per account (ListTagsForResource)',
      ...stats.map((s) => String(s.tagReadsPerAccount)),
      '-',
    ],
    [
      'open requests by owner source',
      ...stats.map((s) =>
        Object.entries(s.ownerSources)
          .map(([source, n]) => `${n} ${source}`)
          .join(', '),
      ),
      '-',
    ],
    [
      '  reaching the fallback owner',
      ...stats.map(
        (s) =>
          `${s.ownerSources.fallback ?? 0} of ${s.openRequests} (${((100 * (s.ownerSources.fallback ?? 0)) / Math.max(1, s.openRequests)).toFixed(1)}%)`,
      ),
      '-',
    ],
    ['hub table write calls', ...stats.map((s) => String(s.tableWriteCalls)), '-'],
    ['hub table items written', ...stats.map((s) => String(s.tableItemsWritten)), '-'],
    ['hub table read calls', ...stats.map((s) => String(s.tableReadCalls)), '-'],
    ['list accounts + reports ahead (ms)', ...stats.map((s) => String(s.listMs)), '-'],
    ['summary + notify (ms)', ...stats.map((s) => String(s.summaryMs)), '-'],
    ['execution wall time (s; run 1: with synth)', ...stats.map((s) => (s.wallMs / 1000).toFixed(1)), '-'],
    ['findings', ...stats.map((s) => String((s.summary as { findings?: number }).findings)), '-'],
    [
      'credentials notified (one pass)',
      ...stats.map((s) => String((s.summary as { notified?: number }).notified)),
      '-',
    ],
  ];
  const projectionHeader = [
    'daily run',
    'listing',
    'accounts',
    'tail',
    'summary',
    'total',
    'worst: every report waited for, summary x N/n',
  ];
  const projectionRows = projections.map((p) => [
    `${p.accounts.toLocaleString('en')} accounts`,
    `${seconds(p.listMs)} (${p.organizationsPages} pages, ${p.reportsStartedAhead} reports ahead)`,
    `${p.accounts} x ${p.meanMs} ms / ${maxConcurrency} = ${seconds(p.mapMs)}`,
    `${seconds(p.tailMs)}`,
    `${seconds(p.summaryMs)}`,
    `${(p.totalMs / 60_000).toFixed(2)} min`,
    `${(p.worstMs / 60_000).toFixed(2)} min`,
  ]);
  const targets = [
    {
      name: 'daily AWS calls per account <= the single-account figure + 1 AssumeRole (+ the report polls)',
      status:
        daily.accountCoreCalls.max <= baselineCore && daily.accountAssumeRoles.max <= 2 ? 'PASS' : 'FAIL',
      detail:
        `the scan proper: max ${daily.accountCoreCalls.max} vs ${baselineCore}; AssumeRole: ${daily.accountAssumeRoles.max} ` +
        `(the scan's, and the list step's to start the report ahead); report calls: max ${daily.accountReportCalls.max} ` +
        `vs ${baselineReportCalls} single-account`,
    },
    ...(UNTAGGED
      ? [
          {
            name: 'with no owner tag on any credential, under 5% of requests reach the fallback owner',
            status: (daily.ownerSources.fallback ?? 0) < 0.05 * daily.openRequests ? 'PASS' : 'FAIL',
            detail: `${daily.ownerSources.fallback ?? 0} of ${daily.openRequests}; by owner tags alone (before owner sources) all ${daily.openRequests} would`,
          },
          {
            name: 'owner tag reads: at most one per account (plus one per OU and root)',
            // The management account is in the organization too: the members and one more.
            status:
              Math.round(daily.tagReadsPerAccount * members.size) <= members.size + 1 + OUS.length + 1
                ? 'PASS'
                : 'FAIL',
            detail: `${daily.tagReadsPerAccount} per member account (${members.size} members and the management account, ${OUS.length} OUs, 1 root), made when the organization is listed afresh`,
          },
        ]
      : []),
    ...projections.map((p) => ({
      name: `projected ${p.accounts.toLocaleString('en')}-account daily scan under ${p.minutes} minutes`,
      status: p.totalMs < p.minutes * 60_000 ? 'PASS' : 'FAIL',
      detail: `${(p.totalMs / 60_000).toFixed(2)} min (worst: ${(p.worstMs / 60_000).toFixed(2)} min, if every account waited its whole report and the summary grew with the accounts)`,
    })),
  ];

  console.log('');
  console.log(
    `Organization: ${members.size} member accounts in ${OUS.length} OUs, each 4 users (5 keys), 2 secrets, 1 vendor role; ` +
      `maxConcurrency ${maxConcurrency}; Slack messages over both runs: ${posts} to ${OWNERS.length} owners (20 credentials a message)`,
  );
  console.log(
    `AWS modelled: calls ${Object.entries(model.callMs)
      .map(([name, ms]) => `${name} ${ms}`)
      .join(
        ', ',
      )} ms; credential report ${model.reportSeconds.min}-${model.reportSeconds.max} s, a day old before each run; ` +
      `child start-up ${model.childStartMs} ms; cold start ${model.coldStartMs} ms (once per slot)`,
  );
  console.log(formatTable(header, rows, { align: 'figures' }));
  console.log('');
  console.log('Projection from the daily run (N x mean / maxConcurrency + tail + listing + summary):');
  console.log(formatTable(projectionHeader, projectionRows, { align: 'figures' }));
  console.log('');
  if (c7nStats) {
    console.log('');
    console.log(
      `c7n-org beside it (daily: each report a day old; ${flags['c7n-jobs']} accounts at once; the same proxy and model):`,
    );
    const ops = [
      ...new Set([
        ...Object.keys(c7nStats.callsPerAccountByOperation),
        ...Object.keys(daily.callsPerAccountByOperation),
      ]),
    ].sort();
    console.log(
      formatTable(
        ['', 'reauth (run 2, daily)', 'c7n-org'],
        [
          [
            'AWS calls per account, p50 / p95',
            `${daily.accountCalls.p50} / ${daily.accountCalls.p95}`,
            `${c7nStats.accountCalls.p50} / ${c7nStats.accountCalls.p95}`,
          ],
          ...ops.map((op) => [
            `  ${op} (mean)`,
            String(daily.callsPerAccountByOperation[op] ?? '-'),
            String(c7nStats.callsPerAccountByOperation[op] ?? '-'),
          ]),
          [
            'time per account (ms), mean / p50 / p95',
            `${daily.accountMeanMs} / ${daily.accountMs.p50} / ${daily.accountMs.p95}`,
            `${c7nStats.accountMeanMs} / ${c7nStats.accountMs.p50} / ${c7nStats.accountMs.p95}`,
          ],
          ...TARGETS.map(({ accounts }) => [
            `${accounts.toLocaleString('en')} accounts: N x measured mean / ${maxConcurrency} (every report waited for)`,
            `${seconds((accounts * daily.accountMeanMs) / maxConcurrency)}`,
            `${seconds((accounts * c7nStats.accountMeanMs) / maxConcurrency)}`,
          ]),
          [
            'wall time for the run (s)',
            (daily.wallMs / 1000).toFixed(1),
            (c7nStats.wallMs / 1000).toFixed(1),
          ],
          [
            'accounts reported / matched resources',
            `${daily.scanInvocations} / ${(daily.summary as { findings?: number }).findings}`,
            `${c7nStats.accountsReported} / ${c7nStats.matched}`,
          ],
        ],
        { align: 'figures' },
      ),
    );
  } else
    console.log(
      '\nc7n-org not run: give --c7n-org <path> (pip install c7n-org in a virtualenv) to run it beside.',
    );
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
        model,
        baseline: { awsCalls: baselineReads, scanProper: baselineCore, reportCalls: baselineReportCalls },
        runs: stats.map(({ baseMs, ...s }) => s),
        slackMessages: posts,
        c7nOrg: c7nStats,
        projection: {
          formula:
            'listing (measured + Organizations pages + reports ahead at N) + N x mean(account at N) / maxConcurrency + tail (p95 account + cold start) + summary (measured)',
          runs: projections,
        },
        targets,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${outPath}`);

  /**
   * The daily run at `accounts`, from the measured one.
   *
   * The list step: its measured time, plus what grows with the organization, from its calls: the
   * Organizations tree walk reads ListAccountsForParent 20 accounts a page, one call after another
   * (here 5 OUs of equal size), and the reports are started ahead REPORTS_AHEAD_CONCURRENCY at a time
   * (an AssumeRole and a GenerateCredentialReport each) for at most REPORTS_AHEAD_MS.
   * The summary: as measured. In a daily run it reads the run's account list and results (an object
   * each) and the sparse index of open requests owner by owner: it grows with owners and open requests,
   * not with accounts; the "worst" column scales it with the accounts anyway.
   * An account: its measured time without its report wait (sampled from the measured accounts), its
   * child's start-up, and what is left of its report's generation when it asks: the list step started
   * account k's report in its batch, and the Map reaches account k after k / maxConcurrency accounts'
   * mean time; a report not ready yet is polled every second. Accounts the list step did not reach
   * wait for the whole generation. The measured run is small, so its list step ends seconds before its
   * scans ask and every account there waits: the "worst" column projects with that measured mean.
   * The tail: the p95 account and a cold start (each concurrent slot pays one, at the start).
   */
  function project(run: (typeof stats)[number], accounts: number) {
    const scale = accounts / members.size;
    const pages = (n: number) => 1 + OUS.length * Math.ceil(n / OUS.length / ORGANIZATIONS_PAGE);
    const batchMs =
      latency({ service: 'sts', operation: 'AssumeRole' }) +
      latency({ service: 'iam', operation: 'GenerateCredentialReport' });
    const aheadMs = (n: number) =>
      Math.min(REPORTS_AHEAD_MS, Math.ceil(n / REPORTS_AHEAD_CONCURRENCY) * batchMs);
    const startedAhead = Math.min(
      accounts,
      Math.floor(REPORTS_AHEAD_MS / batchMs) * REPORTS_AHEAD_CONCURRENCY,
    );
    // Each account's, OU's and the root's owner tag, read when the organization is listed afresh (daily:
    // the kept listing lasts 6 hours), TAG_READ_CONCURRENCY at once.
    const tagReadsMs = (n: number) =>
      Math.ceil((n + 1 + OUS.length + 1) / TAG_READ_CONCURRENCY) *
      latency({ service: 'organizations', operation: 'ListTagsForResource' });
    const listMs =
      run.listMs +
      (pages(accounts) - run.accountPages) *
        latency({ service: 'organizations', operation: 'ListAccountsForParent' }) +
      tagReadsMs(accounts) -
      tagReadsMs(members.size) +
      aheadMs(accounts) -
      aheadMs(members.size);
    const summaryMs = run.summaryMs;
    const random = mulberry32(accounts);
    const { min, max } = model.reportSeconds;
    const base = run.baseMs.length ? run.baseMs : [0];
    const meanBase = mean(base) + model.childStartMs;
    const askAfterMs = model.childStartMs + latency({ service: 'sts', operation: 'AssumeRole' });
    const pollMs = REPORT_POLL_MS + latency({ service: 'iam', operation: 'GetCredentialReport' });
    const aheadFrom = listMs - aheadMs(accounts);
    const times: number[] = [];
    for (let k = 0; k < accounts; k++) {
      const askedAt = listMs + model.coldStartMs + (k / maxConcurrency) * meanBase + askAfterMs;
      const startedAt =
        k < startedAhead ? aheadFrom + Math.floor(k / REPORTS_AHEAD_CONCURRENCY) * batchMs : askedAt;
      const left = startedAt + (min + random() * (max - min)) * 1000 - askedAt;
      const wait = left > 0 ? Math.ceil(left / REPORT_POLL_MS) * pollMs : 0;
      times.push((base[k % base.length] as number) + model.childStartMs + wait);
    }
    const meanMs = Math.round(mean(times));
    const tailMs = percentiles(times).p95 + model.coldStartMs;
    const mapMs = (accounts * meanMs) / maxConcurrency;
    const worstMap = (accounts * (run.accountMeanMs + model.childStartMs)) / maxConcurrency;
    return {
      listMs: Math.round(listMs),
      organizationsPages: pages(accounts),
      reportsStartedAhead: startedAhead,
      meanMs,
      mapMs: Math.round(mapMs),
      tailMs,
      summaryMs: Math.round(summaryMs),
      totalMs: Math.round(listMs + mapMs + tailMs + summaryMs),
      worstMs: Math.round(
        listMs + worstMap + run.accountMs.p95 + model.childStartMs + model.coldStartMs + summaryMs * scale,
      ),
    };
  }
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

/** Calls per account by `service Operation`, sorted. */
function perOperation(calls: LedgerCall[], accounts: number): Record<string, number> {
  const counts = new Map<string, number>();
  for (const c of calls)
    counts.set(`${c.service} ${c.operation}`, (counts.get(`${c.service} ${c.operation}`) ?? 0) + 1);
  return Object.fromEntries([...counts].sort().map(([op, n]) => [op, round2(n / accounts)]));
}

function mean(values: number[]): number {
  return values.length ? values.reduce((sum, v) => sum + v, 0) / values.length : 0;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
