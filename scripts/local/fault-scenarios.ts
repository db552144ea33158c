/**
 * Fault scenarios: reauth's jobs run against a small seeded account twice, once plainly (the
 * reference) and once under stress (AWS faults through `fault-proxy.ts`, duplicated SQS deliveries,
 * two instances at once, an instance killed mid-run), then the two records are compared and checked:
 * no decision duplicated or lost, no credential whose recorded status disagrees with IAM or Secrets
 * Manager, no broken hash chain. Used by `npm run bench:faults` and `test/integration/faults.test.ts`.
 */
import {
  GetLoginProfileCommand,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { GetResourcePolicyCommand } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { type AwsClients, createAwsClients } from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { listStatusCredentials } from '../../lambdas/shared/adapters/status-credentials';
import { type CredentialState, type Decision, verifyChain } from '../../lambdas/shared/domain/decision';
import { isRoleDisablePolicyArn, REAUTH_DENY_SID } from '../../lambdas/shared/domain/reauth-marks';
import { type EmulatorControl, emulatorEnv } from '../emulator/emulator';
import { FAULT_KINDS, type FaultKind, type FaultProxy, startFaultProxy } from '../emulator/fault-proxy';
import { startLocalStack } from './local-stack';
import { type AccountSpec, seedAccount, VENDOR_ACCOUNT } from './seed';
import { buttonClickBody, slackEvent, sqsRecordOf } from './slack-play';

export const SCENARIOS = [
  'scan',
  'enforce',
  'duplicate-jobs',
  'concurrent-scans',
  'concurrent-workers',
  'crashed-scan',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

const ACCOUNT = '123456789012';
const TABLE = 'reauth-faults';
const DAY = 86_400_000;
/** Past the standard tier's 14-day grace: every open request is due. */
const DEADLINE_PASSED_DAYS = 15;
/** Scheduler and SQS redeliver a failed invocation; a few times, then it is dead-lettered. */
export const INVOCATIONS = 3;
const OWNER = 'UALICE';

/** A handful of credentials: three idle keys and a busy one, an idle and a read secret, a vendor role. */
export const SMALL_ACCOUNT: AccountSpec = {
  users: [
    {
      name: 'ci-deployer',
      tags: { 'reauth:owner': OWNER },
      keys: [{ createdDaysAgo: 200, usedDaysAgo: 120 }],
    },
    {
      name: 'legacy-batch',
      tags: { 'reauth:owner': OWNER },
      keys: [{ createdDaysAgo: 300, usedDaysAgo: 150 }],
    },
    { name: 'report-export', tags: { 'reauth:owner': OWNER }, keys: [{ createdDaysAgo: 250 }] },
    { name: 'busy-app', tags: { 'reauth:owner': 'UBOB' }, keys: [{ createdDaysAgo: 30, usedDaysAgo: 1 }] },
  ],
  secrets: [
    { name: 'billing/api-key', createdDaysAgo: 200, readDaysAgo: 130, tags: { 'reauth:owner': OWNER } },
    { name: 'search/token', createdDaysAgo: 100, readDaysAgo: 2, tags: { 'reauth:owner': 'UBOB' } },
  ],
  roles: [
    {
      name: 'vendor-monitoring',
      createdDaysAgo: 300,
      trustedAccounts: [VENDOR_ACCOUNT],
      externalId: 'ext-1',
      usedDaysAgo: 140,
      tags: { 'reauth:owner': OWNER },
    },
  ],
};

const POLICY = { mode: 'enforce', actionBudget: { maxActions: 25, maxFraction: 1 } };

export interface Finding {
  /** `<kind>:<principal>`: credential ids differ between the two runs (keys get new ids). */
  credential: string;
  problem: string;
}

export interface ScenarioOutcome {
  scenario: Scenario;
  injected: Record<FaultKind, number>;
  /** AWS calls refused by a crashed instance's proxy. */
  crashedCalls: number;
  /** Handler invocations that threw (then re-invoked, up to a bound). */
  failedInvocations: number;
  /** Decisions the reference run recorded, by action: what the scenario exercised. */
  expected: Record<string, number>;
  duplicates: Finding[];
  lost: Finding[];
  violations: Finding[];
  brokenChains: Finding[];
}

export interface ScenarioOptions {
  emulator: EmulatorControl;
  /** Fraction of AWS calls faulted in the stressed run. @default 0.1 */
  rate?: number;
  seed?: number;
  account?: AccountSpec;
}

/**
 * The Lambdas' own clients (`createAwsClients()`), pointed at `endpoint` for good. The SDK reads
 * `AWS_ENDPOINT_URL` at each client's first request, not when it is built, so each client resolves
 * its endpoint here, while the variable says `endpoint`.
 */
export async function awsClientsAt(endpoint: string): Promise<AwsClients> {
  return withEnv({ ...emulatorEnv(endpoint) }, async () => {
    const clients = createAwsClients();
    await Promise.all(
      Object.values(clients).map((client) =>
        (
          client as { config: { serviceConfiguredEndpoint?: () => Promise<unknown> } }
        ).config.serviceConfiguredEndpoint?.(),
      ),
    );
    return clients;
  });
}

/**
 * The most work a scenario can do, in runs that each read or act on the whole (small) account: the
 * seeding of each round, every scan, enforce and worker batch at its retry bound (INVOCATIONS; a
 * batch is received up to INVOCATIONS times, each invoked up to INVOCATIONS times), the owner's clicks
 * together as one. Nothing in a scenario loops without such a bound (the SDK's attempts are bounded
 * too, a slow answer is at most 300 ms, a crashed instance is raced), so a test may bound a scenario
 * by this count times what one run may take: a loaded machine makes each run slower, not more numerous.
 */
export function scenarioWork(scenario: Scenario): number {
  const retried = INVOCATIONS;
  const delivered = INVOCATIONS * INVOCATIONS;
  const setupScan = 1;
  const clicks = 1;
  const runs: Record<Scenario, readonly [reference: number, stressed: number]> = {
    scan: [retried, retried],
    'concurrent-scans': [retried, 2 * retried],
    // The reference's scan runs once, counted; the stressed run's first instance dies, then one retries.
    'crashed-scan': [1, 1 + retried],
    enforce: [setupScan + retried, setupScan + retried],
    'duplicate-jobs': [setupScan + clicks + delivered, setupScan + clicks + 2 * delivered],
    'concurrent-workers': [setupScan + clicks + delivered, setupScan + clicks + 2 * delivered],
  };
  const [reference, stressed] = runs[scenario];
  const seeding = 2;
  return seeding + reference + stressed;
}

/** Runs one scenario: the reference, then the stressed run, and what differs or is wrong. */
export async function runScenario(scenario: Scenario, options: ScenarioOptions): Promise<ScenarioOutcome> {
  const { emulator } = options;
  const direct = await awsClientsAt(emulator.endpoint);
  const reference = await playRound(scenario, options, direct, undefined, undefined);
  const proxy = await startFaultProxy({
    target: emulator.endpoint,
    rate: options.rate ?? 0.1,
    seed: (options.seed ?? 1) * 7919 + SCENARIOS.indexOf(scenario),
  });
  try {
    // A crash at a seeded point among the calls the reference scan made.
    const crashAt = 1 + (((options.seed ?? 1) * 104_729) % Math.max(1, reference.calls - 1));
    const stressed = await playRound(scenario, options, direct, proxy, crashAt);
    return {
      scenario,
      injected: { ...proxy.injected },
      crashedCalls: stressed.crashedCalls,
      failedInvocations: stressed.failedInvocations,
      expected: Object.fromEntries(countActions([...reference.record.values()].flatMap((r) => r.decisions))),
      ...compare(reference.record, stressed.record),
      violations: await checkInvariants(direct, stressed.record),
      brokenChains: checkChains(stressed.record),
    };
  } finally {
    await proxy.stop();
  }
}

interface CredentialRecord {
  state: CredentialState;
  decisions: Decision[];
}
type RunRecord = Map<string, CredentialRecord>;

interface Round {
  record: RunRecord;
  /** AWS calls of the step under test, in the reference (crashed-scan only). */
  calls: number;
  crashedCalls: number;
  failedInvocations: number;
}

type Handler = (event?: unknown) => Promise<unknown>;
let instances = 0;

/** Seeds a fresh account, runs the setup plainly, then the scenario's step (through `proxy` if given). */
async function playRound(
  scenario: Scenario,
  options: ScenarioOptions,
  direct: AwsClients,
  proxy: FaultProxy | undefined,
  crashAt: number | undefined,
): Promise<Round> {
  const { emulator } = options;
  // Seeding signs with the keys it creates, through clients that read AWS_ENDPOINT_URL at first use.
  Object.assign(process.env, emulatorEnv(emulator.endpoint));
  await emulator.reset();
  const start = new Date();
  await seedAccount(emulator, direct, options.account ?? SMALL_ACCOUNT, start);
  const local = await startLocalStack(direct, { table: TABLE, policy: POLICY });
  const store = createDecisionStore(direct.documents, TABLE);
  const round: Round = { record: new Map(), calls: 0, crashedCalls: 0, failedInvocations: 0 };
  const envAt = (endpoint: string) => ({
    ...emulatorEnv(endpoint),
    ...local.env,
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
  const plain = (name: string) => coldStart(name, envAt(emulator.endpoint));
  const stressed = (name: string, endpoint = proxy?.endpoint ?? emulator.endpoint) =>
    coldStart(name, envAt(endpoint));
  /** Scheduler and SQS invoke again a function that failed, up to a bound. */
  const invoke = async (handler: Handler, event?: unknown) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await handler(event);
      } catch (error) {
        round.failedInvocations++;
        if (attempt >= INVOCATIONS) throw error;
      }
    }
  };
  /** Lambda's SQS integration: the batch, then the records it reported failed, up to a bound. */
  const deliver = async (worker: Handler, records: SQSRecord[]) => {
    let pending = records;
    for (let receive = 1; pending.length > 0 && receive <= INVOCATIONS; receive++) {
      const { batchItemFailures } = (await invoke(worker, { Records: pending })) as SQSBatchResponse;
      const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
      if (failed.size > 0) round.failedInvocations++;
      pending = pending.filter((r) => failed.has(r.messageId));
    }
  };
  try {
    // The scan scenarios test the first scan; the others start from one, run plainly.
    if (!['scan', 'concurrent-scans', 'crashed-scan'].includes(scenario)) await (await plain('scan'))();
    if (scenario === 'scan') await invoke(await stressed('scan'));
    if (scenario === 'concurrent-scans') {
      // The reference is one scan: two at once must record what one records.
      if (!proxy) await invoke(await plain('scan'));
      else {
        const [a, b] = [await stressed('scan'), await stressed('scan')];
        await Promise.all([invoke(a), invoke(b)]);
      }
    }
    if (scenario === 'crashed-scan') {
      // Its own proxy, without faults: the reference counts the calls a scan makes, and the
      // stressed run's first instance dies after `crashAt` of them, frozen where it stood.
      const own = await startFaultProxy({ target: emulator.endpoint, rate: 0 });
      try {
        if (crashAt === undefined) {
          await (await stressed('scan', own.endpoint))();
          round.calls = own.forwarded;
        } else {
          own.crashAfter(crashAt, 'hang');
          const killed = await stressed('scan', own.endpoint);
          await Promise.race([killed(), own.onCrash]);
          round.crashedCalls += own.crashed;
          // Lambda retries a failed asynchronous invocation (the Scheduler's) about a minute later.
          await travel(emulator, new Date(Date.now() + LAMBDA_RETRY_DELAY_MS));
          await invoke(await stressed('scan'));
        }
      } finally {
        await own.stop();
      }
    }
    if (scenario === 'enforce') {
      await travel(emulator, new Date(start.getTime() + DEADLINE_PASSED_DAYS * DAY));
      await invoke(await stressed('enforce'));
    }
    if (scenario === 'duplicate-jobs' || scenario === 'concurrent-workers') {
      await clickDisableOnEveryRequest(
        await plain('slack'),
        store,
        local.signingSecret,
        local.slack.responseUrl('owner'),
      );
      const records = await receiveAll(direct.sqs, local.queueUrl);
      if (!proxy) await deliver(await plain('slack-worker'), records);
      else if (scenario === 'duplicate-jobs') {
        // At-least-once: every message comes again, after the first delivery was handled.
        const worker = await stressed('slack-worker');
        await deliver(worker, records);
        await deliver(worker, records);
      } else {
        // The visibility timeout ran out under the first worker: a second one got the same batch.
        const [a, b] = [await stressed('slack-worker'), await stressed('slack-worker')];
        await Promise.all([deliver(a, records), deliver(b, records)]);
      }
    }
  } finally {
    await travel(emulator, undefined);
    await local.slack.close();
    Object.assign(process.env, emulatorEnv(emulator.endpoint));
  }
  for (const state of (await store.loadStates(ACCOUNT)).values()) {
    round.record.set(`${state.kind}:${state.principal}`, {
      state,
      decisions: await store.history(state.credentialId),
    });
  }
  return round;
}

/** Lambda's wait before its first retry of a failed asynchronous invocation. */
const LAMBDA_RETRY_DELAY_MS = 60_000;

const HANDLERS: Record<string, URL> = {
  scan: new URL('../../lambdas/scan/handler.ts', import.meta.url),
  enforce: new URL('../../lambdas/enforce/handler.ts', import.meta.url),
  slack: new URL('../../lambdas/slack/handler.ts', import.meta.url),
  'slack-worker': new URL('../../lambdas/slack-worker/handler.ts', import.meta.url),
};

/**
 * A cold start of its own: the handler module imported afresh (a new query string), so two
 * instances hold their own clients. The environment stays set: the SDK reads it at first use.
 */
async function coldStart(name: string, env: Record<string, string>): Promise<Handler> {
  Object.assign(process.env, env);
  const url = `${HANDLERS[name]?.href}?instance=${++instances}`;
  return ((await import(/* @vite-ignore */ url)) as { handler: Handler }).handler;
}

/** Moves this process's Date and the emulator's clock to `at` (undefined: back to real time). */
const RealDate = Date;
async function travel(emulator: EmulatorControl, at: Date | undefined): Promise<void> {
  if (!at) {
    globalThis.Date = RealDate;
    return emulator.unfreeze();
  }
  const offset = at.getTime() - RealDate.now();
  class ShiftedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...(args as [string]));
    }
    static override now(): number {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
  await emulator.freeze(at);
}

/** The owner clicks *Disable now* on each open request; the endpoint queues one job per click. */
async function clickDisableOnEveryRequest(
  endpoint: Handler,
  store: ReturnType<typeof createDecisionStore>,
  signingSecret: string,
  responseUrl: string,
): Promise<void> {
  for (const state of (await store.loadStates(ACCOUNT)).values()) {
    if (state.status !== 'pending' || state.requestSeq === undefined) continue;
    const body = buttonClickBody({
      userId: state.ownerSlackId ?? state.owner,
      actionId: 'reauth:disable',
      value: `${state.credentialId}|${state.requestSeq}`,
      responseUrl,
    });
    await endpoint(slackEvent(body, { signingSecret, at: new Date() }));
  }
}

async function receiveAll(sqs: SQSClient, queueUrl: string): Promise<SQSRecord[]> {
  const records: SQSRecord[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }),
    );
    if (Messages.length === 0) return records;
    records.push(...Messages.map(sqsRecordOf));
  }
}

/** Per credential, each action as often as in the reference: more is a duplicate, fewer a loss. */
function compare(reference: RunRecord, stressed: RunRecord): { duplicates: Finding[]; lost: Finding[] } {
  const duplicates: Finding[] = [];
  const lost: Finding[] = [];
  for (const credential of new Set([...reference.keys(), ...stressed.keys()])) {
    const expected = countActions(reference.get(credential)?.decisions ?? []);
    const actual = countActions(stressed.get(credential)?.decisions ?? []);
    for (const action of new Set([...expected.keys(), ...actual.keys()])) {
      const difference = (actual.get(action) ?? 0) - (expected.get(action) ?? 0);
      const problem = `${action}: ${actual.get(action) ?? 0} recorded, ${expected.get(action) ?? 0} expected`;
      for (let n = 0; n < Math.abs(difference); n++)
        (difference > 0 ? duplicates : lost).push({ credential, problem });
    }
  }
  return { duplicates, lost };
}

function countActions(decisions: Decision[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const d of decisions) counts.set(d.action, (counts.get(d.action) ?? 0) + 1);
  return counts;
}

/** What IAM and Secrets Manager say must match the recorded status. */
async function checkInvariants(clients: AwsClients, record: RunRecord): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const [credential, { state }] of record) {
    const usable = await isUsable(clients, state);
    if (state.status === 'disabled' && usable)
      findings.push({ credential, problem: 'recorded disabled, but still usable' });
    if (['active', 'pending', 'exempt'].includes(state.status) && !usable)
      findings.push({ credential, problem: `recorded ${state.status}, but disabled` });
  }
  return findings;
}

async function isUsable(clients: AwsClients, state: CredentialState): Promise<boolean> {
  const id = state.credentialId.split(':').slice(2).join(':');
  switch (state.kind) {
    case 'access-key': {
      const { AccessKeyMetadata = [] } = await clients.iam.send(
        new ListAccessKeysCommand({ UserName: state.principal }),
      );
      return AccessKeyMetadata.find((k) => k.AccessKeyId === id)?.Status === 'Active';
    }
    case 'secret': {
      const { ResourcePolicy } = await clients.secretsManager.send(
        new GetResourcePolicyCommand({ SecretId: id }),
      );
      return !(ResourcePolicy ?? '').includes(`"${REAUTH_DENY_SID}"`);
    }
    case 'role': {
      const { AttachedPolicies = [] } = await clients.iam.send(
        new ListAttachedRolePoliciesCommand({ RoleName: state.principal }),
      );
      return !AttachedPolicies.some((p) => isRoleDisablePolicyArn(p.PolicyArn));
    }
    case 'password': {
      const profile = await clients.iam
        .send(new GetLoginProfileCommand({ UserName: state.principal }))
        .catch((error: Error) =>
          error.name === 'NoSuchEntityException' ? undefined : Promise.reject(error),
        );
      return profile?.LoginProfile !== undefined;
    }
    case 'signing-certificate':
    case 'ssh-key':
    case 'service-credential': {
      const listed = await listStatusCredentials(clients.iam, state.kind, state.principal);
      return listed?.find((c) => c.id === id)?.status === 'Active';
    }
  }
}

/** Every chain verifies, and its state points at its tip. */
function checkChains(record: RunRecord): Finding[] {
  const findings: Finding[] = [];
  for (const [credential, { state, decisions }] of record) {
    for (const p of verifyChain(decisions))
      findings.push({ credential, problem: `seq ${p.seq}: ${p.problem}` });
    const tip = decisions.at(-1);
    if (state.seq !== (tip?.seq ?? 0) || (tip && state.lastHash !== tip.hash))
      findings.push({
        credential,
        problem: `STATE says seq ${state.seq}, the chain ends at ${tip?.seq ?? 0}`,
      });
  }
  return findings;
}

/** Sets `env` for the duration of `run`, then puts back what was there. */
async function withEnv<T>(env: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return await run();
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

export { FAULT_KINDS };
