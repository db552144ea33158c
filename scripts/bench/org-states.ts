/**
 * What each state of the organization fan-out carries, at 10 accounts and at 10,000: runs the hub's
 * synthesized scan state machine on the emulator against an organization of N accounts in three levels
 * of OUs, its list and summary tasks the real handlers, each child a stand-in for the scan
 * (scripts/bench/org-member-stand-in.ts: the subject is the state machine, and moto would take hours to
 * scan 10,000 accounts). Prints, per state, the largest input and output its execution history holds,
 * and the largest payload each function got; fails when any of them at N accounts is larger than at
 * 10 by more than a few bytes (ids and counts grow by a digit), or above Step Functions' 256 KiB.
 *
 *   npx tsx scripts/bench/org-states.ts [--accounts 10000] [--concurrency 40] [--out bench-results/org-states.json]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  MoveAccountCommand,
} from '@aws-sdk/client-organizations';
import { formatTable } from '../../cli/format';
import { createAwsClients, createOrganizationsClient } from '../../lambdas/shared/adapters/aws-clients';
import { mapWithConcurrency } from '../../lambdas/shared/concurrency';
import { emulatorEnv, startEmulator } from '../emulator/emulator';
import type { InvocationDetail } from '../emulator/lambda-bridge';
import { ensureDecisionTable } from '../local/decision-table';
import { runFanOut } from '../local/org-fan-out';
import { HUB_ACCOUNT } from '../local/seed-organization';

const { values: flags } = parseArgs({
  options: {
    accounts: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '40' },
    out: { type: 'string', default: 'bench-results/org-states.json' },
  },
  strict: true,
});
const ACCOUNTS = Number(flags.accounts);
const CONCURRENCY = Number(flags.concurrency);
const SMALL = 10;
/** Step Functions' limit on a state's input or output, and on a task's payload. */
const STATE_LIMIT = 256 * 1024;
/** How much larger a state may be at N accounts than at 10: counts and ids a few digits longer. */
const SLACK_BYTES = 64;
const TABLE = 'reauth-bench-org-states';

const started = Date.now();
const say = (message: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);

interface Measured {
  accounts: number;
  status: string;
  wallMs: number;
  /** Largest input and output by state name, in bytes, from the execution's history. */
  states: Record<string, { input: number; output: number }>;
  /** Largest payload each function was given, in bytes, by its role. */
  payloads: Record<string, number>;
  children: number;
  output: unknown;
}

const emulator = await startEmulator();
try {
  Object.assign(process.env, emulatorEnv(emulator.endpoint), { POWERTOOLS_LOG_LEVEL: 'CRITICAL' });
  const results: Measured[] = [];
  for (const accounts of [SMALL, ACCOUNTS]) results.push(await measure(accounts));
  const [small, large] = results as [Measured, Measured];

  const rows: string[][] = [];
  const failures: string[] = [];
  const compare = (what: string, at10: number, atN: number) => {
    rows.push([what, String(at10), String(atN)]);
    if (atN > at10 + SLACK_BYTES)
      failures.push(`${what}: ${at10} B at ${SMALL} accounts, ${atN} B at ${ACCOUNTS}`);
    if (atN > STATE_LIMIT) failures.push(`${what}: ${atN} B, above Step Functions' 256 KiB`);
  };
  for (const name of Object.keys(large.states)) {
    compare(`${name} input`, small.states[name]?.input ?? 0, large.states[name]?.input ?? 0);
    compare(`${name} output`, small.states[name]?.output ?? 0, large.states[name]?.output ?? 0);
  }
  for (const role of Object.keys(large.payloads))
    compare(`${role} payload (largest)`, small.payloads[role] ?? 0, large.payloads[role] ?? 0);
  console.log(
    `\nThe synthesized scan state machine on the emulator: ${SMALL} and ${ACCOUNTS} member accounts in 3 levels of OUs, maxConcurrency ${CONCURRENCY}; bytes of JSON`,
  );
  console.log(formatTable(['state', `${SMALL} accounts`, `${ACCOUNTS} accounts`], rows));
  for (const run of results)
    console.log(
      `${run.accounts} accounts: ${run.status} in ${(run.wallMs / 1000).toFixed(1)} s, ${run.children} children; summary ${JSON.stringify(run.output)}`,
    );
  const out = resolve(flags.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify({ small, large, failures }, null, 2)}\n`);
  console.log(`wrote ${out}`);
  if (small.status !== 'SUCCEEDED' || large.status !== 'SUCCEEDED')
    failures.push('an execution did not succeed');
  if (large.children !== ACCOUNTS) failures.push(`${large.children} children ran, not ${ACCOUNTS}`);
  if (failures.length > 0) {
    console.error(`FAILED:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
} finally {
  await emulator.stop();
}

/** Seeds an organization of `accounts` members and runs the scan state machine on it once. */
async function measure(accounts: number): Promise<Measured> {
  await emulator.reset();
  const organizations = createOrganizationsClient();
  const clients = createAwsClients();
  say(`seeding an organization of ${accounts} member accounts (not measured)`);
  const { Organization } = await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const root = (await organizations.send(new ListRootsCommand({}))).Roots?.[0]?.Id;
  if (!Organization?.Id || !root) throw new Error('the emulator created no organization');
  // Three levels: 4 × 5 × 5 = 100 leaf OUs, as large organizations nest them (OU paths of four ids).
  const leaves: string[] = [];
  const ou = async (ParentId: string, Name: string) =>
    (await organizations.send(new CreateOrganizationalUnitCommand({ ParentId, Name }))).OrganizationalUnit
      ?.Id as string;
  for (let a = 0; a < 4; a++) {
    const top = await ou(root, `division-${a}`);
    for (let b = 0; b < 5; b++) {
      const middle = await ou(top, `department-${a}-${b}`);
      for (let c = 0; c < 5; c++) leaves.push(await ou(middle, `team-${a}-${b}-${c}`));
    }
  }
  await mapWithConcurrency(
    Array.from({ length: accounts }, (_, i) => i),
    16,
    async (i) => {
      const name = `member-${String(i).padStart(5, '0')}`;
      const { CreateAccountStatus } = await organizations.send(
        new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
      );
      const AccountId = CreateAccountStatus?.AccountId as string;
      await organizations.send(
        new MoveAccountCommand({
          AccountId,
          SourceParentId: root,
          DestinationParentId: leaves[i % leaves.length],
        }),
      );
    },
  );
  await ensureDecisionTable(clients.dynamodb, TABLE);

  const payloads: Record<string, number> = {};
  let children = 0;
  const roleOf = (name: string) =>
    name.includes('ListAccounts') ? 'list' : name.includes('Summary') ? 'summary' : 'child';
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (!entry.name.startsWith('lambda:')) continue;
      const role = roleOf(entry.name);
      const { payload } = (entry as { detail?: unknown }).detail as InvocationDetail;
      const size = Buffer.byteLength(JSON.stringify(payload));
      payloads[role] = Math.max(payloads[role] ?? 0, size);
      if (role === 'child') children++;
    }
  });
  observer.observe({ entryTypes: ['measure'] });
  say(`running the synthesized scan state machine over ${accounts} accounts`);
  const at = Date.now();
  const execution = await runFanOut({
    emulator,
    job: 'scan',
    policy: { organization: { exclude: { accounts: [HUB_ACCOUNT] }, maxConcurrency: CONCURRENCY } },
    organizationId: Organization.Id,
    organizationRootId: root,
    table: TABLE,
    standIns: { perAccount: resolve(import.meta.dirname, 'org-member-stand-in.ts') },
    env: { POWERTOOLS_LOG_LEVEL: 'CRITICAL', POWERTOOLS_METRICS_DISABLED: 'true' },
    timeoutMs: 4 * 3_600_000,
  });
  const wallMs = Date.now() - at;
  await new Promise((flushed) => setTimeout(flushed, 100));
  observer.disconnect();
  say(`${execution.status} in ${(wallMs / 1000).toFixed(1)} s`);
  return {
    accounts,
    status: execution.status,
    wallMs,
    states: await stateSizes(execution.executionArn),
    payloads,
    children,
    output: execution.output ?? { error: execution.error, cause: execution.cause },
  };
}

/** The largest input and output of each state of the execution, from GetExecutionHistory. */
async function stateSizes(executionArn: string): Promise<Record<string, { input: number; output: number }>> {
  const sizes: Record<string, { input: number; output: number }> = {};
  let nextToken: string | undefined;
  do {
    const response = await fetch(emulator.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AWSStepFunctions.GetExecutionHistory',
        authorization:
          'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: JSON.stringify({ executionArn, maxResults: 1000, ...(nextToken && { nextToken }) }),
    });
    const page = (await response.json()) as {
      events?: Record<string, { name?: string; input?: string; output?: string } | undefined>[];
      nextToken?: string;
    };
    for (const event of page.events ?? []) {
      const entered = event.stateEnteredEventDetails;
      const exited = event.stateExitedEventDetails;
      const name = entered?.name ?? exited?.name;
      if (!name) continue;
      const size = (sizes[name] ??= { input: 0, output: 0 });
      if (entered?.input !== undefined) size.input = Math.max(size.input, Buffer.byteLength(entered.input));
      if (exited?.output !== undefined) size.output = Math.max(size.output, Buffer.byteLength(exited.output));
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return sizes;
}
