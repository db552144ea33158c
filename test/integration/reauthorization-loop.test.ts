import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { type CredentialStatus, statusAfter } from '../../lambdas/shared/domain/decision';
import { sessionsPolicyArn } from '../../lambdas/shared/domain/reauth-marks';
import type { ModalView } from '../../lambdas/shared/slack/messages';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { type Seeded, seedAccount } from '../../scripts/local/seed';
import {
  buttonClickBody,
  buttonValue,
  drainQueue,
  slackEvent,
  stillNeededSubmissionBody,
} from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart as startCold, travelTo, undoTravelAfter } from '../support/lambda';

const { emulator, clients } = useEmulator();
const TABLE = 'loop-under-test';
const ACCOUNT = '123456789012';
const DAY = 86_400_000;
const store = createDecisionStore(clients.documents, TABLE);
const START = new Date();

let fake: FakeSlack;
let signingSecret: string;
let seeded: Seeded;
let env: Record<string, string>;

type Handler<E, R> = (event: E) => Promise<R>;
let scan: () => Promise<unknown>;
let enforce: () => Promise<{ disabled: string[]; reminded: number; budget: { limit: number } }>;
let endpoint: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
let worker: Handler<SQSEvent, SQSBatchResponse>;

function coldStart<T>(path: string): Promise<T> {
  return startCold<T>(path, env);
}

const keyId = (user: string) => seeded.keyIds.get(user)?.[0] as string;
const credentialId = (user: string) => `${ACCOUNT}:access-key:${keyId(user)}`;
const now = () => new Date();

async function keyStatus(user: string): Promise<string | undefined> {
  const { AccessKeyMetadata } = await clients.iam.send(new ListAccessKeysCommand({ UserName: user }));
  return AccessKeyMetadata?.[0]?.Status;
}

function click(userId: string, actionId: string, value: string, responseName: string, at = now()) {
  return endpoint(
    slackEvent(buttonClickBody({ userId, actionId, value, responseUrl: fake.responseUrl(responseName) }), {
      signingSecret: signingSecret,
      at,
    }),
  );
}

/** Moves this process's clock and the emulator's to `days` after the start. */
function travel(days: number) {
  return travelTo(emulator, new Date(START.getTime() + days * DAY));
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
          name: 'legacy-batch',
          tags: { 'reauth:owner': 'alice@example.com' },
          keys: [{ createdDaysAgo: 300, usedDaysAgo: 150 }],
        },
        {
          name: 'busy-app',
          tags: { 'reauth:owner': 'UBOB' },
          keys: [{ createdDaysAgo: 30, usedDaysAgo: 1 }],
        },
      ],
      secrets: [],
      roles: [],
    },
    START,
  );
  const local = await startLocalStack(clients, {
    table: TABLE,
    slackUsers: { 'alice@example.com': 'UALICE' },
    policy: {
      mode: 'enforce',
      // A budget of half the inventory: enough for one disable per run here.
      actionBudget: { maxActions: 5, maxFraction: 0.5 },
      slack: { delegates: { 'alice@example.com': ['UCAROL'] } },
    },
  });
  fake = local.slack;
  signingSecret = local.signingSecret;
  env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  scan = await coldStart('../../lambdas/scan/handler');
  enforce = await coldStart('../../lambdas/enforce/handler');
  endpoint = await coldStart('../../lambdas/slack/handler');
  worker = await coldStart('../../lambdas/slack-worker/handler');
});

undoTravelAfter(emulator, () => fake.close());

describe('an idle key, from the scan to the owner’s answer in Slack', () => {
  it('tells the owner once, in one message listing every credential of theirs that needs an answer', async () => {
    await scan();

    const posts = fake.calls('chat.postMessage');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body.channel).toBe('UALICE');
    const blocks = posts[0]?.body.blocks;
    for (const user of ['ci-deployer', 'legacy-batch']) {
      for (const action of ['reauth:still-needed', 'reauth:disable']) {
        expect(buttonValue(blocks, action, credentialId(user))).toBe(`${credentialId(user)}|1`);
      }
      // Neither user is tagged reauth:rotatable=true, so a Rotate click could only be refused.
      expect(() => buttonValue(blocks, 'reauth:rotate', credentialId(user))).toThrow(
        /no reauth:rotate button/,
      );
    }
    expect(JSON.stringify(blocks)).not.toContain(keyId('busy-app'));
    expect(await store.getState(credentialId('ci-deployer'))).toMatchObject({
      status: 'pending',
      ownerSlackId: 'UALICE',
      rotatable: false,
      // The DM Slack opened for the bot and the owner: updates and reminders go there.
      message: { channel: expect.stringMatching(/^D/), ts: expect.any(String) },
    });
    expect((await store.history(credentialId('ci-deployer'))).map((d) => d.action)).toEqual([
      'flag',
      'notify',
    ]);

    await scan();
    expect(fake.calls('chat.postMessage')).toHaveLength(1);
  });

  it('answers a forged, a stale or an unsigned click with a bare 401, and records nothing', async () => {
    const value = `${credentialId('ci-deployer')}|1`;
    const body = buttonClickBody({
      userId: 'UALICE',
      actionId: 'reauth:still-needed',
      value,
      responseUrl: fake.responseUrl('forged'),
    });

    const forged = await endpoint(
      slackEvent(body, { signingSecret: 'not-the-signing-secret-at-all', at: now() }),
    );
    const stale = await endpoint(
      slackEvent(body, { signingSecret: signingSecret, at: new Date(Date.now() - 6 * 60_000) }),
    );
    const unsigned = await endpoint(
      slackEvent(body, { signingSecret: signingSecret, at: now(), signature: 'v0=' }),
    );

    for (const reply of [forged, stale, unsigned]) expect(reply).toEqual({ statusCode: 401 });
    expect(fake.calls('views.open')).toHaveLength(0);
    expect(fake.calls('response:forged')).toHaveLength(0);
    expect(await store.history(credentialId('ci-deployer'))).toHaveLength(2);
  });

  it("refuses another person's click with an ephemeral reply, and records the attempt", async () => {
    const reply = await click('UMALLORY', 'reauth:disable', `${credentialId('ci-deployer')}|1`, 'mallory');

    expect(reply.statusCode).toBe(200);
    expect(fake.calls('response:mallory')[0]?.body).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringMatching(/Only <@UALICE> or their delegates/),
    });
    // The worker records the attempt, from the job the endpoint queued.
    expect(await drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker)).toBe(1);
    expect((await store.history(credentialId('ci-deployer'))).at(-1)).toMatchObject({
      action: 'refuse',
      actor: 'slack:UMALLORY',
    });
    expect(await store.getState(credentialId('ci-deployer'))).toMatchObject({ status: 'pending' });
    expect(await keyStatus('ci-deployer')).toBe('Active');
  });

  it('reauthorizes on Still needed with a reason and a duration: one decision however often Slack sends it', async () => {
    const value = `${credentialId('ci-deployer')}|1`;
    expect((await click('UALICE', 'reauth:still-needed', value, 'alice')).statusCode).toBe(200);
    const view = fake.calls('views.open')[0]?.body.view as ModalView;
    expect(view.callback_id).toBe('reauth:still-needed');

    const submission = stillNeededSubmissionBody({
      userId: 'UALICE',
      view,
      reason: 'deploys the storefront nightly',
      days: 30,
    });
    const first = await endpoint(slackEvent(submission, { signingSecret: signingSecret, at: now() }));
    const retried = await endpoint(slackEvent(submission, { signingSecret: signingSecret, at: now() }));

    expect(JSON.parse(first.body ?? '{}')).toEqual({ response_action: 'clear' });
    expect(JSON.parse(retried.body ?? '{}')).toMatchObject({
      response_action: 'errors',
      errors: { reason: expect.stringMatching(/^Already received/) },
    });
    // The worker records the answer, then rewrites the message: this credential answered, the other
    // still asking. The copy queued nothing.
    expect(await drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker)).toBe(1);
    const history = await store.history(credentialId('ci-deployer'));
    expect(history.filter((d) => d.action === 'reauthorize')).toHaveLength(1);
    expect(history.at(-1)).toMatchObject({
      action: 'reauthorize',
      actor: 'slack:UALICE',
      reason: 'deploys the storefront nightly',
      evidence: { approver: 'slack:UALICE', days: 30 },
    });
    const state = await store.getState(credentialId('ci-deployer'));
    expect(state?.status).toBe('active');
    expect(Date.parse(state?.reviewDueAt ?? '') - Date.now()).toBeGreaterThan(29 * DAY);

    const updated = fake.calls('response:alice').at(-1)?.body;
    expect(updated).toMatchObject({ replace_original: true });
    expect(JSON.stringify(updated.blocks)).toMatch(/<@UALICE> said \*Still needed\* until/);
    expect(buttonValue(updated.blocks, 'reauth:disable', credentialId('legacy-batch'))).toBeDefined();

    await click('UALICE', 'reauth:still-needed', value, 'replay');
    expect(fake.calls('response:replay')[0]?.body.text).toMatch(/already answered/);
  });
});

describe('the deadline, in enforce mode', () => {
  it('reminds the owner halfway through the grace period, without acting', async () => {
    await travel(7.5);
    const run = await enforce();

    expect(run.reminded).toBe(1);
    expect(run.disabled).toEqual([]);
    const reminder = fake.calls('chat.postMessage').at(-1)?.body;
    // Into the owner's DM, where the request was posted.
    expect(reminder.channel).toBe((await store.getState(credentialId('legacy-batch')))?.message?.channel);
    expect(reminder.text).toMatch(/^Reminder/);
    expect((await store.history(credentialId('legacy-batch'))).at(-1)?.action).toBe('remind');
  });

  it('disables the key nobody vouched for, re-checked first, and tells the owner and security', async () => {
    await travel(15);
    const run = await enforce();

    expect(run.disabled).toEqual([credentialId('legacy-batch')]);
    expect(await keyStatus('legacy-batch')).toBe('Inactive');
    expect(await keyStatus('ci-deployer')).toBe('Active');
    expect(await keyStatus('busy-app')).toBe('Active');
    const disable = (await store.history(credentialId('legacy-batch'))).at(-1);
    const policyArn = sessionsPolicyArn(ACCOUNT, disable?.at as string);
    const revokedSessions = { policyArn, issuedBefore: disable?.at };
    expect(disable).toMatchObject({
      action: 'disable',
      actor: 'system:enforce',
      evidence: {
        receipt: { kind: 'access-key', keyId: keyId('legacy-batch'), revokedSessions },
        revokedSessions,
      },
    });
    // The sessions the key handed out (GetSessionToken) end with it: denied if issued before the disable,
    // by the writer's policy of that moment, attached to the user.
    expect(await attachedTo('legacy-batch')).toEqual([policyArn]);
    const { Policy } = await clients.iam.send(new GetPolicyCommand({ PolicyArn: policyArn }));
    const { PolicyVersion } = await clients.iam.send(
      new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: Policy?.DefaultVersionId }),
    );
    expect(JSON.parse(decodeURIComponent(PolicyVersion?.Document ?? '')).Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Action: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': disable?.at } },
      }),
    ]);
    const posts = fake.calls('chat.postMessage').map((c) => c.body);
    const toOwner = posts.find(
      (p) => p.channel === 'UALICE' && JSON.stringify(p.blocks).includes('reauth:restore'),
    );
    expect(toOwner).toBeDefined();
    expect(posts.some((p) => p.channel === '#security' && /legacy-batch/.test(JSON.stringify(p)))).toBe(true);
  });

  it('restores the key from the Restore button, and opens a new request for it', async () => {
    await travel(16);
    const state = await store.getState(credentialId('legacy-batch'));
    const value = `${credentialId('legacy-batch')}|${state?.requestSeq}`;
    const before = fake.calls('chat.postMessage').length;

    expect((await click('UCAROL', 'reauth:restore', value, 'restore')).statusCode).toBe(200);
    expect(await drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker)).toBe(1);

    expect(await keyStatus('legacy-batch')).toBe('Active');
    expect(await attachedTo('legacy-batch')).toEqual([]);
    expect(await store.getState(credentialId('legacy-batch'))).toMatchObject({
      status: 'pending',
      decidedBy: 'slack:UCAROL',
      notifiedAt: expect.any(String),
    });
    expect((await store.history(credentialId('legacy-batch'))).map((d) => d.action).slice(-2)).toEqual([
      'restore',
      'notify',
    ]);
    expect(fake.calls('chat.postMessage').length).toBe(before + 1);
  });
});

describe('the record the whole loop left', () => {
  it('gives every credential the status its decisions say (what the evidence report rebuilds history from)', async () => {
    const states = [...(await store.loadStates(ACCOUNT)).values()];
    expect(new Set(states.map((s) => s.status))).toEqual(new Set(['pending', 'active', 'protected']));

    for (const state of states) {
      const history = await store.history(state.credentialId);
      const fromDecisions = history.reduce<CredentialStatus>(
        (status, d) => statusAfter(d) ?? status,
        'active',
      );
      expect(fromDecisions, state.credentialId).toBe(state.status);
    }
  });
});

/** The managed policies attached to a user (their ARNs). */
async function attachedTo(userName: string): Promise<string[]> {
  const { AttachedPolicies = [] } = await clients.iam.send(
    new ListAttachedUserPoliciesCommand({ UserName: userName }),
  );
  return AttachedPolicies.map((p) => p.PolicyArn as string);
}
