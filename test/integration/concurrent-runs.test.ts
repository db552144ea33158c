import {
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ActionJob } from '../../lambdas/shared/adapters/action-queue';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { type Enforcer } from '../../lambdas/shared/adapters/enforcement';
import { createSlackClient } from '../../lambdas/shared/adapters/slack-client';
import { parseCredentialId } from '../../lambdas/shared/domain/credential';
import { verifyChain } from '../../lambdas/shared/domain/decision';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { roleDisablePolicyArn, sessionsPolicyArn } from '../../lambdas/shared/domain/reauth-marks';
import { recordedRevocationOf } from '../../lambdas/shared/domain/reauthorization';
import type { ModalView } from '../../lambdas/shared/slack/messages';
import { CLAIM_LEASE_MS } from '../../lambdas/shared/use-cases/claimed-change';
import { ClaimBusyError, runActionJob } from '../../lambdas/shared/use-cases/slack-actions';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { type Seeded, seedAccount, VENDOR_ACCOUNT } from '../../scripts/local/seed';
import {
  buttonClickBody,
  slackEvent,
  sqsRecordOf,
  stillNeededSubmissionBody,
} from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { testEnforcer } from '../support/enforcer';
import { coldStart as startCold, travelTo } from '../support/lambda';

/**
 * Every job may run twice at once (Scheduler retries, manual invokes, SQS at-least-once delivery) and
 * may stop between any two calls. These run two handler instances at once, as two Lambda containers
 * would, and check after each that the record says what is true in IAM and Secrets Manager.
 */
const { emulator, clients } = useEmulator();
const TABLE = 'concurrency-under-test';
const ACCOUNT = '123456789012';
const DAY = 86_400_000;
const START = new Date();
const POLICY = { mode: 'enforce', actionBudget: { maxActions: 10, maxFraction: 1 } };
const store = createDecisionStore(clients.documents, TABLE);
const enforcer = testEnforcer(clients);

type Handler<E, R> = (event: E) => Promise<R>;
let fake: FakeSlack;
let signingSecret: string;
let queueUrl: string;
let seeded: Seeded;
let env: Record<string, string>;
let endpoint: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

const keyId = (user: string) => seeded.keyIds.get(user)?.[0] as string;
const keyCredential = (user: string) => `${ACCOUNT}:access-key:${keyId(user)}`;
const secretCredential = () => `${ACCOUNT}:secret:${seeded.secretArns.get('app/db')}`;
const actionsOf = async (credentialId: string) => (await store.history(credentialId)).map((d) => d.action);

/** A fresh module instance of a handler: a second Lambda container. */
function container<T>(path: string): Promise<T> {
  return startCold<T>(path, env);
}

async function keyStatus(user: string): Promise<string | undefined> {
  const { AccessKeyMetadata } = await clients.iam.send(new ListAccessKeysCommand({ UserName: user }));
  return AccessKeyMetadata?.[0]?.Status;
}

/** Puts `job` on the action queue `copies` times, as SQS may deliver one message more than once. */
async function enqueue(job: ActionJob, copies = 1): Promise<void> {
  for (let i = 0; i < copies; i++) {
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(job) }));
  }
}

/** Every message on the queue, each as its own SQS event (one per worker invocation). */
async function receiveAll(): Promise<SQSEvent[]> {
  const events: SQSEvent[] = [];
  for (;;) {
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return events;
    for (const m of Messages) {
      // Taken off the queue here: a test that wants a message delivered twice hands it over twice.
      await clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
      events.push({ Records: [sqsRecordOf(m)] });
    }
  }
}

/** Another worker container records the answers the endpoint queued (it records none itself). */
async function recordQueuedAnswers(): Promise<void> {
  const worker = await container<Handler<SQSEvent, SQSBatchResponse>>('../../lambdas/slack-worker/handler');
  for (const event of await receiveAll()) {
    expect((await worker(event)).batchItemFailures).toEqual([]);
  }
}

/**
 * The invariant: every STATE says what IAM and Secrets Manager say, and the sessions a disable is
 * recorded to have ended are still denied (from that moment at least: a later revocation of the same
 * user covers it). Returns the credentials where it fails.
 */
async function recordAndWorldDisagree(): Promise<string[]> {
  const wrong: string[] = [];
  for (const state of (await store.loadStates(ACCOUNT)).values()) {
    if (state.status === 'deleted' || state.status === 'protected') continue;
    const { id } = parseCredentialId(state.credentialId);
    const seen = await enforcer.recheck({ kind: state.kind, id, principal: state.principal });
    if (!seen.exists) continue;
    if (seen.disabled !== (state.status === 'disabled')) {
      wrong.push(`${state.credentialId}: recorded ${state.status}, disabled in AWS: ${seen.disabled}`);
    }
    const revoked = recordedRevocationOf(state, new Date());
    if (revoked && !(Date.parse(seen.sessionsRevokedBefore ?? '') >= Date.parse(revoked.issuedBefore))) {
      wrong.push(
        `${state.credentialId}: recorded sessions revoked before ${revoked.issuedBefore}, in AWS: ${seen.sessionsRevokedBefore ?? 'none'}`,
      );
    }
  }
  return wrong;
}

const travel = (days: number) => travelTo(emulator, new Date(START.getTime() + days * DAY));

/** A point one side opens and the other waits at: `passed()` resolves once `open()` was called. */
function gate(): { open: () => void; passed: () => Promise<void> } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open: () => open(), passed: () => opened };
}

beforeAll(async () => {
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        {
          name: 'ci-deployer',
          tags: { 'reauth:owner': 'alice@example.com' },
          keys: [{ createdDaysAgo: 200, usedDaysAgo: 120 }],
        },
        {
          name: 'rotate-me',
          tags: { 'reauth:owner': 'alice@example.com', 'reauth:rotatable': 'true' },
          keys: [{ createdDaysAgo: 250, usedDaysAgo: 110 }],
        },
        {
          name: 'crashed-rotate',
          tags: { 'reauth:owner': 'UBOB', 'reauth:rotatable': 'true' },
          keys: [{ createdDaysAgo: 250, usedDaysAgo: 130 }],
        },
        {
          name: 'legacy-batch',
          tags: { 'reauth:owner': 'alice@example.com' },
          keys: [{ createdDaysAgo: 300, usedDaysAgo: 150 }],
        },
        {
          name: 'report-gen',
          tags: { 'reauth:owner': 'UBOB' },
          keys: [{ createdDaysAgo: 300, usedDaysAgo: 200 }],
        },
        {
          name: 'nightly-sync',
          tags: { 'reauth:owner': 'alice@example.com' },
          keys: [{ createdDaysAgo: 200, usedDaysAgo: 120 }],
        },
        {
          name: 'metrics-push',
          tags: { 'reauth:owner': 'alice@example.com' },
          keys: [{ createdDaysAgo: 200, usedDaysAgo: 120 }],
        },
      ],
      secrets: [
        {
          name: 'app/db',
          createdDaysAgo: 300,
          readDaysAgo: 200,
          tags: { 'reauth:owner': 'alice@example.com' },
        },
      ],
      roles: [
        {
          name: 'vendor-connector',
          createdDaysAgo: 300,
          trustedAccounts: [VENDOR_ACCOUNT],
          usedDaysAgo: 200,
          tags: { 'reauth:owner': 'UBOB' },
        },
      ],
    },
    START,
  );
  const local = await startLocalStack(clients, {
    table: TABLE,
    slackUsers: { 'alice@example.com': 'UALICE' },
    policy: POLICY,
  });
  fake = local.slack;
  signingSecret = local.signingSecret;
  queueUrl = local.queueUrl;
  env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  endpoint = await container('../../lambdas/slack/handler');
});

afterEach(async () => {
  expect(await recordAndWorldDisagree()).toEqual([]);
  // Both clocks back to real time together: an SDK far off the emulator's clock corrects for skew slowly.
  vi.useRealTimers();
  await emulator.unfreeze();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.unfreeze();
  await fake.close();
});

describe('two runs at once, and every message twice', () => {
  it('two scans at once send each owner one message and record one flag and one notify per credential', async () => {
    const [scanA, scanB] = [
      await container<() => Promise<unknown>>('../../lambdas/scan/handler'),
      await container<() => Promise<unknown>>('../../lambdas/scan/handler'),
    ];

    await Promise.all([scanA(), scanB()]);

    const channels = fake.calls('chat.postMessage').map((c) => c.body.channel);
    expect(channels.sort()).toEqual(['UALICE', 'UBOB']);
    for (const id of [keyCredential('ci-deployer'), keyCredential('report-gen'), secretCredential()]) {
      expect(await actionsOf(id)).toEqual(['flag', 'notify']);
    }
  });

  it('two workers given the same Disable job at once, each delivered twice, disable the key once and it stays Inactive', async () => {
    const [workerA, workerB] = [
      await container<Handler<SQSEvent, SQSBatchResponse>>('../../lambdas/slack-worker/handler'),
      await container<Handler<SQSEvent, SQSBatchResponse>>('../../lambdas/slack-worker/handler'),
    ];
    await enqueue(
      { action: 'disable', credentialId: keyCredential('ci-deployer'), requestSeq: 1, slackUserId: 'UALICE' },
      2,
    );
    const [first, second] = await receiveAll();
    if (!first || !second) throw new Error('expected two queued jobs');

    await Promise.all([workerA(first), workerB(second)]);
    await Promise.all([workerA(second), workerB(first)]);

    expect((await actionsOf(keyCredential('ci-deployer'))).filter((a) => a === 'disable')).toHaveLength(1);
    // The owner who asked is named in the record, as Slack named them then.
    const disable = (await store.history(keyCredential('ci-deployer'))).find((d) => d.action === 'disable');
    expect(disable).toMatchObject({
      actor: 'slack:UALICE',
      evidence: { actorName: 'alice', actorEmail: 'alice@example.com' },
    });
    expect(await store.getState(keyCredential('ci-deployer'))).toMatchObject({ status: 'disabled' });
    expect(await keyStatus('ci-deployer')).toBe('Inactive');
    // Its sessions end with it, from the moment of the disable, and the record says so inside the hash.
    const revokedSessions = {
      policyArn: sessionsPolicyArn(ACCOUNT, disable?.at as string),
      issuedBefore: disable?.at,
    };
    expect(disable?.evidence).toMatchObject({ revokedSessions, receipt: { revokedSessions } });
    expect(verifyChain(await store.history(keyCredential('ci-deployer')))).toEqual([]);
    const seen = await enforcer.recheck({
      kind: 'access-key',
      id: keyId('ci-deployer'),
      principal: 'ci-deployer',
    });
    expect(seen.sessionsRevokedBefore).toBe(disable?.at);
  });

  it('two workers given the same Rotate job at once, each delivered twice, create one new key and record one rotation', async () => {
    const [workerA, workerB] = [
      await container<Handler<SQSEvent, SQSBatchResponse>>('../../lambdas/slack-worker/handler'),
      await container<Handler<SQSEvent, SQSBatchResponse>>('../../lambdas/slack-worker/handler'),
    ];
    const id = keyCredential('rotate-me');
    await enqueue({ action: 'rotate', credentialId: id, requestSeq: 1, slackUserId: 'UALICE' }, 2);
    const [first, second] = await receiveAll();
    if (!first || !second) throw new Error('expected two queued jobs');

    await Promise.all([workerA(first), workerB(second)]);
    await Promise.all([workerA(second), workerB(first)]);

    const { AccessKeyMetadata = [] } = await clients.iam.send(
      new ListAccessKeysCommand({ UserName: 'rotate-me' }),
    );
    expect(AccessKeyMetadata.map((k) => k.Status)).toEqual(['Active', 'Active']);
    expect((await actionsOf(id)).filter((a) => a === 'rotate')).toHaveLength(1);
    const state = await store.getState(id);
    expect(state).toMatchObject({ status: 'active' });
    expect(AccessKeyMetadata.map((k) => k.AccessKeyId)).toContain(state?.rotation?.newKeyId);
  });

  it("a change that takes over a stopped attempt's expired claim first puts right what that attempt left", async () => {
    const id = keyCredential('crashed-rotate');
    // A Disable attempt claimed the key and made it Inactive, then its Lambda stopped.
    await store.claim(id, {
      holder: 'job:d-1:first',
      action: 'disable',
      now: new Date(),
      leaseMs: 60_000,
      isDue: (s) => s.status === 'pending',
    });
    await enforcer.disable({ kind: 'access-key', id: keyId('crashed-rotate'), principal: 'crashed-rotate' });
    const policy = parsePolicyConfig(POLICY);
    const deps = {
      store,
      slack: createSlackClient({ botToken: 'xoxb-local-fake', apiBaseUrl: fake.apiBaseUrl }),
      enforcer,
      policy,
      policyId: policyIdOf(policy),
      now: () => new Date(),
    };
    await travelTo(emulator, new Date(Date.now() + 2 * 60_000));

    // The owner's Rotate, a minute after that claim expired: a rotation leaves the old key as it finds it.
    const outcome = await runActionJob(
      deps,
      { action: 'rotate', credentialId: id, requestSeq: 1, slackUserId: 'UBOB' },
      'job:r-1:first',
    );

    expect(outcome.recorded).toBe('rotate');
    const { AccessKeyMetadata = [] } = await clients.iam.send(
      new ListAccessKeysCommand({ UserName: 'crashed-rotate' }),
    );
    expect(AccessKeyMetadata.map((k) => k.Status)).toEqual(['Active', 'Active']);
    expect(await store.getState(id)).toMatchObject({ status: 'active' });
  });

  it("an owner's Still needed recorded while a disable is under way wins, and the disable is undone", async () => {
    const id = secretCredential();
    const value = `${id}|1`;
    const click = buttonClickBody({
      userId: 'UALICE',
      actionId: 'reauth:still-needed',
      value,
      responseUrl: fake.responseUrl('alice'),
    });
    await endpoint(slackEvent(click, { signingSecret, at: new Date() }));
    const view = fake.calls('views.open').at(-1)?.body.view as ModalView;
    // The owner's answer lands between the change in Secrets Manager and the worker's record of it.
    const answeringEnforcer: Enforcer = {
      ...enforcer,
      async disable(target) {
        const receipt = await enforcer.disable(target);
        const submission = stillNeededSubmissionBody({
          userId: 'UALICE',
          view,
          reason: 'the nightly export reads it',
          days: 30,
        });
        await endpoint(slackEvent(submission, { signingSecret, at: new Date() }));
        await recordQueuedAnswers();
        return receipt;
      },
    };
    const policy = parsePolicyConfig(POLICY);

    const outcome = await runActionJob(
      {
        store,
        slack: createSlackClient({ botToken: 'xoxb-local-fake', apiBaseUrl: fake.apiBaseUrl }),
        enforcer: answeringEnforcer,
        policy,
        policyId: policyIdOf(policy),
        now: () => new Date(),
      },
      { action: 'disable', credentialId: id, requestSeq: 1, slackUserId: 'UALICE' },
    );

    expect(outcome.summary).toBe('superseded');
    expect(await actionsOf(id)).toEqual(['flag', 'notify', 'reauthorize']);
    expect(await store.getState(id)).toMatchObject({ status: 'active' });
    expect(await store.getState(id).then((s) => s?.claim)).toBeUndefined();
  });

  it('a change left half-done by a crashed worker is held while its claim lives, then made to match the record', async () => {
    const id = keyCredential('legacy-batch');
    // The worker claimed the key and disabled it in IAM, then its Lambda stopped before recording it.
    const claimed = await store.claim(id, {
      holder: 'job:crashed',
      action: 'disable',
      now: new Date(),
      leaseMs: CLAIM_LEASE_MS,
      isDue: (s) => s.status === 'pending',
    });
    expect(claimed).toHaveProperty('claimed');
    await enforcer.disable({ kind: 'access-key', id: keyId('legacy-batch'), principal: 'legacy-batch' });
    const enforce = await container<() => Promise<{ repaired: string[]; drifted: string[] }>>(
      '../../lambdas/enforce/handler',
    );

    const meanwhile = await enforce();
    expect(meanwhile.repaired).toEqual([]);
    expect(await keyStatus('legacy-batch')).toBe('Inactive');

    await travelTo(emulator, new Date(Date.now() + CLAIM_LEASE_MS + 60_000));
    const after = await enforce();

    expect(after.repaired).toEqual([id]);
    expect(after.drifted).toEqual([]);
    expect(await keyStatus('legacy-batch')).toBe('Active');
    expect(await store.getState(id)).toMatchObject({ status: 'pending' });
    expect(await store.getState(id).then((s) => s?.claim)).toBeUndefined();
    expect(await actionsOf(id)).toEqual(['flag', 'notify']);
  });

  it('a job delivered again after its first attempt stopped mid-change first makes IAM match the record', async () => {
    const id = keyCredential('legacy-batch');
    const target = { kind: 'access-key' as const, id: keyId('legacy-batch'), principal: 'legacy-batch' };
    // The first attempt, with a minute left in its Lambda, claimed the key and disabled it, then stopped.
    await store.claim(id, {
      holder: 'job:m-1:first',
      action: 'disable',
      now: new Date(),
      leaseMs: 60_000,
      isDue: (s) => s.status === 'pending',
    });
    await enforcer.disable(target);
    // Meanwhile the owner answered Still needed.
    const click = buttonClickBody({
      userId: 'UALICE',
      actionId: 'reauth:still-needed',
      value: `${id}|1`,
      responseUrl: fake.responseUrl('alice-legacy'),
    });
    await endpoint(slackEvent(click, { signingSecret, at: new Date() }));
    const view = fake.calls('views.open').at(-1)?.body.view as ModalView;
    const submission = stillNeededSubmissionBody({
      userId: 'UALICE',
      view,
      reason: 'the month-end batch',
      days: 30,
    });
    await endpoint(slackEvent(submission, { signingSecret, at: new Date() }));
    await recordQueuedAnswers();
    const policy = parsePolicyConfig(POLICY);
    const deps = {
      store,
      slack: createSlackClient({ botToken: 'xoxb-local-fake', apiBaseUrl: fake.apiBaseUrl }),
      enforcer,
      policy,
      policyId: policyIdOf(policy),
      now: () => new Date(),
    };
    const job = { action: 'disable' as const, credentialId: id, requestSeq: 1, slackUserId: 'UALICE' };

    // SQS delivers the message again once its visibility timeout has passed: the claim has expired.
    await travelTo(emulator, new Date(Date.now() + 6 * 60_000));
    const outcome = await runActionJob(deps, job, 'job:m-1:second');

    expect(outcome.summary).toBe('refused: not-open');
    expect(await keyStatus('legacy-batch')).toBe('Active');
    expect(await store.getState(id)).toMatchObject({ status: 'active' });
    expect(await store.getState(id).then((s) => s?.claim)).toBeUndefined();
  });

  it('a job that finds another attempt changing the credential is delivered again later, not dropped', async () => {
    const id = keyCredential('report-gen');
    await store.claim(id, {
      holder: 'job:m-2:first',
      action: 'disable',
      now: new Date(),
      leaseMs: 60_000,
      isDue: (s) => s.status === 'pending',
    });
    const worker = await container<Handler<SQSEvent, SQSBatchResponse>>('../../lambdas/slack-worker/handler');
    await receiveAll(); // the message refreshes queued so far
    await enqueue({ action: 'disable', credentialId: id, requestSeq: 1, slackUserId: 'UBOB' });
    const [delivery] = await receiveAll();
    if (!delivery) throw new Error('expected a queued job');

    const { batchItemFailures } = await worker(delivery);

    expect(batchItemFailures).toEqual([{ itemIdentifier: delivery.Records[0]?.messageId }]);
    expect(await keyStatus('report-gen')).toBe('Active');
    await store.release(id, 'job:m-2:first');
  });

  it.each([
    ['after', 'nightly-sync'],
    ['before', 'metrics-push'],
  ] as const)(
    'a worker paused past its lease (%s its change in IAM) records nothing once another run took its claim and put IAM back; the job, delivered again, is done once',
    async (pausedWhen, user) => {
      const id = keyCredential(user);
      const policy = parsePolicyConfig(POLICY);
      const deps = {
        store,
        slack: createSlackClient({ botToken: 'xoxb-local-fake', apiBaseUrl: fake.apiBaseUrl }),
        enforcer,
        policy,
        policyId: policyIdOf(policy),
        now: () => new Date(),
        leaseMs: 60_000,
      };
      const pause = gate();
      const resume = gate();
      // The worker stops in its change (a long pause: a frozen container, a throttled call retried).
      const stop = async () => {
        pause.open();
        await resume.passed();
      };
      const pausing: Enforcer = {
        ...enforcer,
        async disable(target, options) {
          if (pausedWhen === 'before') await stop();
          const receipt = await enforcer.disable(target, options);
          if (pausedWhen === 'after') await stop();
          return receipt;
        },
      };
      const job = { action: 'disable' as const, credentialId: id, requestSeq: 1, slackUserId: 'UALICE' };
      // The owner's Disable, in a worker with a minute left in its Lambda.
      const first = runActionJob({ ...deps, enforcer: pausing }, job, 'job:p-1:first');
      await pause.passed();

      // Two minutes on its claim has expired: the next enforce run takes it and puts IAM back as recorded.
      await travelTo(emulator, new Date(Date.now() + 2 * 60_000));
      const enforce = await container<() => Promise<{ repaired: string[] }>>('../../lambdas/enforce/handler');
      expect((await enforce()).repaired).toEqual([id]);
      expect(await keyStatus(user)).toBe('Active');
      resume.open();

      // The worker wakes, finds its claim gone: it records nothing and undoes its own late change.
      const woke = await first.catch((error: unknown) => error);
      expect(await keyStatus(user)).toBe('Active');
      expect(await store.getState(id)).toMatchObject({ status: 'pending' });
      expect(await store.getState(id).then((s) => s?.claim)).toBeUndefined();
      expect(await actionsOf(id)).toEqual(['flag', 'notify']);
      expect(woke).toBeInstanceOf(ClaimBusyError);

      // SQS delivers the owner's Disable again: done anew under a claim of its own, recorded once.
      const again = await runActionJob(deps, job, 'job:p-1:second');
      expect(again.recorded).toBe('disable');
      expect(await keyStatus(user)).toBe('Inactive');
      expect((await actionsOf(id)).filter((a) => a === 'disable')).toHaveLength(1);
    },
  );

  it("the enforce job at the deadline and the owner's Disable at once disable the key once", async () => {
    const enforce = await container<() => Promise<unknown>>('../../lambdas/enforce/handler');
    const worker = await container<Handler<SQSEvent, SQSBatchResponse>>('../../lambdas/slack-worker/handler');
    // Jobs the endpoint queued so far (message refreshes) go first: the emulator stops at a message past
    // its queue's retention instead of skipping it, and the clock is about to jump two weeks.
    await receiveAll();
    await travel(15);
    await enqueue({
      action: 'disable',
      credentialId: keyCredential('report-gen'),
      requestSeq: 1,
      slackUserId: 'UBOB',
    });
    // The emulator's queue shows a message once its clock has moved past the message's sending.
    await travelTo(emulator, new Date(START.getTime() + 15 * DAY + 1000));
    const [job] = await receiveAll();
    if (!job) throw new Error('expected a queued job');

    await Promise.all([enforce(), worker(job)]);

    expect((await actionsOf(keyCredential('report-gen'))).filter((a) => a === 'disable')).toHaveLength(1);
    expect(await store.getState(keyCredential('report-gen'))).toMatchObject({ status: 'disabled' });
    expect(await keyStatus('report-gen')).toBe('Inactive');
  });

  it('a disabled key turned back on outside reauth is drift: recorded once, reopened, the owner and security told, not disabled again', async () => {
    await travel(16);
    const id = keyCredential('ci-deployer');
    await clients.iam.send(
      new UpdateAccessKeyCommand({
        UserName: 'ci-deployer',
        AccessKeyId: keyId('ci-deployer'),
        Status: 'Active',
      }),
    );
    const posted = fake.calls('chat.postMessage').length;
    const [enforceA, enforceB] = [
      await container<() => Promise<{ drifted: string[] }>>('../../lambdas/enforce/handler'),
      await container<() => Promise<{ drifted: string[] }>>('../../lambdas/enforce/handler'),
    ];

    const reports = await Promise.all([enforceA(), enforceB()]);

    expect(reports.flatMap((r) => r.drifted)).toEqual([id]);
    const history = await store.history(id);
    expect(history.filter((d) => d.action === 'drift')).toHaveLength(1);
    expect(history.find((d) => d.action === 'drift')?.evidence).toMatchObject({
      by: null,
      seenBy: 'recheck',
    });
    expect(await store.getState(id)).toMatchObject({ status: 'pending', triggers: ['idle', 'drift'] });
    expect(await keyStatus('ci-deployer')).toBe('Active');
    const after = fake.calls('chat.postMessage').slice(posted);
    const security = after.filter((c) => c.body.channel === '#security');
    expect(security).toHaveLength(1);
    expect(JSON.stringify(security[0]?.body.blocks)).toContain('turned back on outside reauth');
    expect(after.filter((c) => c.body.channel === 'UALICE')).toHaveLength(1);
    expect(history.slice(-3).map((d) => d.action)).toEqual(['drift', 'notify', 'escalate']);

    await enforceA();
    expect((await store.history(id)).filter((d) => d.action === 'drift')).toHaveLength(1);
  });

  it('a disabled key whose session revocation someone detached within 36 hours gets it back from the same moment, recorded once; it stays disabled', async () => {
    await travel(16.4);
    const id = keyCredential('report-gen');
    const state = await store.getState(id);
    const receipt = state?.disableReceipt;
    const issuedBefore = receipt?.kind === 'access-key' ? receipt.revokedSessions?.issuedBefore : undefined;
    expect(state).toMatchObject({ status: 'disabled' });
    expect(issuedBefore).toBe(state?.disabledAt);
    const policyArn = sessionsPolicyArn(ACCOUNT, issuedBefore as string);
    await clients.iam.send(new DetachUserPolicyCommand({ UserName: 'report-gen', PolicyArn: policyArn }));
    const [enforceA, enforceB] = [
      await container<() => Promise<{ drifted: string[]; revokedAgain: string[] }>>(
        '../../lambdas/enforce/handler',
      ),
      await container<() => Promise<{ drifted: string[]; revokedAgain: string[] }>>(
        '../../lambdas/enforce/handler',
      ),
    ];

    const reports = await Promise.all([enforceA(), enforceB()]);

    expect(reports.flatMap((r) => r.revokedAgain)).toEqual([id]);
    expect(reports.flatMap((r) => r.drifted)).toEqual([]);
    const seen = await enforcer.recheck({
      kind: 'access-key',
      id: keyId('report-gen'),
      principal: 'report-gen',
    });
    expect(seen).toMatchObject({ disabled: true, sessionsRevokedBefore: issuedBefore });
    const observed = (await store.history(id)).filter((d) => d.action === 'observe');
    expect(observed).toHaveLength(1);
    expect(observed[0]?.evidence).toMatchObject({
      revokedSessions: { policyArn, issuedBefore },
      found: null,
      seenBy: 'recheck',
    });
    expect(await store.getState(id)).toMatchObject({ status: 'disabled' });
    expect((await enforceA()).revokedAgain).toEqual([]);
  });

  it('a disabled role whose reauth-disabled policy someone detached is drift too; a role still denied is not', async () => {
    await travel(17);
    const role = `${ACCOUNT}:role:vendor-connector`;
    expect(await store.getState(role)).toMatchObject({ status: 'disabled' });
    const enforce = await container<() => Promise<{ drifted: string[]; revokedAgain: string[] }>>(
      '../../lambdas/enforce/handler',
    );
    expect((await enforce()).drifted).toEqual([]);

    await clients.iam.send(
      new DetachRolePolicyCommand({ RoleName: 'vendor-connector', PolicyArn: roleDisablePolicyArn(ACCOUNT) }),
    );
    // Past the longest session (36 hours) nothing issued before report-gen's disable is alive: its
    // revocation detached now has nothing left to end, and is neither put back nor recorded.
    const reportGen = await store.getState(keyCredential('report-gen'));
    const ended =
      reportGen?.disableReceipt?.kind === 'access-key' ? reportGen.disableReceipt.revokedSessions : undefined;
    await clients.iam.send(
      new DetachUserPolicyCommand({ UserName: 'report-gen', PolicyArn: ended?.policyArn }),
    );
    const report = await enforce();

    expect(report.drifted).toEqual([role]);
    expect(report).toMatchObject({ revokedAgain: [] });
    expect(await store.getState(role)).toMatchObject({ status: 'pending', triggers: ['idle', 'drift'] });
    expect((await store.history(role)).filter((d) => d.action === 'drift')).toHaveLength(1);
  });
});
