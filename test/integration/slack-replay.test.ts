import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { type Seeded, seedAccount } from '../../scripts/local/seed';
import { buttonClickBody, drainQueue, slackEvent } from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart } from '../support/lambda';
import { captureMetrics } from '../support/metrics-output';

const { emulator, clients } = useEmulator();
const TABLE = 'replay-under-test';
const USERS = [
  'twice-in-a-row',
  'twice-at-once',
  'same-trigger',
  'same-payload',
  'two-people',
  'disable-restore',
] as const;
type User = (typeof USERS)[number];
const store = createDecisionStore(clients.documents, TABLE);

let fake: FakeSlack;
let signingSecret: string;
let seeded: Seeded;
let queueUrl: string;
let endpoint: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let worker: (event: SQSEvent) => Promise<SQSBatchResponse>;

const metrics = captureMetrics();
const published = (metric: string) => metrics.published('reauth-slack', metric);

const credentialId = (user: User) => `123456789012:access-key:${seeded.keyIds.get(user)?.[0]}`;
/** How a reply names the user's key: a user may have two. */
const keyOf = (user: User) => `access key ${seeded.keyIds.get(user)?.[0]} of ${user}`;

async function value(user: User): Promise<string> {
  return `${credentialId(user)}|${(await store.getState(credentialId(user)))?.requestSeq}`;
}

async function keyStatus(user: User): Promise<string | undefined> {
  const { AccessKeyMetadata } = await clients.iam.send(new ListAccessKeysCommand({ UserName: user }));
  return AccessKeyMetadata?.[0]?.Status;
}

/** A click, signed now, as Slack delivers it; `triggerId` plays a copy of an earlier click. */
async function signedClick(
  userId: string,
  actionId: string,
  user: User,
  reply: string,
  triggerId?: string,
): Promise<APIGatewayProxyEventV2> {
  return slackEvent(
    buttonClickBody({
      userId,
      actionId,
      value: await value(user),
      responseUrl: fake.responseUrl(reply),
      ...(triggerId && { triggerId }),
    }),
    { signingSecret, at: new Date() },
  );
}

const replies = (name: string) => fake.calls(`response:${name}`).map((c) => c.body.text as string);
const jobs = () => drainQueue(clients.sqs, queueUrl, worker);
const actions = async (user: User) => (await store.history(credentialId(user))).map((d) => d.action);

beforeAll(async () => {
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: USERS.map((name) => ({
        name,
        tags: { 'reauth:owner': 'UALICE' },
        keys: [{ createdDaysAgo: 200, usedDaysAgo: 120 }],
      })),
      secrets: [],
      roles: [],
    },
    new Date(),
  );
  const local = await startLocalStack(clients, {
    table: TABLE,
    policy: {
      mode: 'enforce',
      actionBudget: { maxActions: 10, maxFraction: 1 },
      slack: { delegates: { UALICE: ['UCAROL'] } },
    },
  });
  fake = local.slack;
  signingSecret = local.signingSecret;
  queueUrl = local.queueUrl;
  const env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL', POWERTOOLS_METRICS_DISABLED: 'false' };
  await (await coldStart<() => Promise<unknown>>('../../lambdas/scan/handler', env))();
  endpoint = await coldStart('../../lambdas/slack/handler', env);
  worker = await coldStart('../../lambdas/slack-worker/handler', env);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fake.close();
});

describe('a copy of a click Slack already delivered', () => {
  it('queues one job for the same signed click delivered twice, and says the copy was received', async () => {
    const click = await signedClick('UALICE', 'reauth:disable', 'twice-in-a-row', 'row');

    expect((await endpoint(click)).statusCode).toBe(200);
    expect((await endpoint(click)).statusCode).toBe(200);

    expect(await jobs()).toBe(1);
    expect(replies('row').slice(0, 2)).toEqual([
      `Working on it: disabling ${keyOf('twice-in-a-row')}…`,
      `Already received: reauth is working on it (disabling ${keyOf('twice-in-a-row')}).`,
    ]);
    expect(await keyStatus('twice-in-a-row')).toBe('Inactive');
    expect((await actions('twice-in-a-row')).filter((a) => a === 'disable')).toHaveLength(1);
    expect(published('Replayed')).toBe(1);
  });

  it('queues one job when both copies arrive at once', async () => {
    const click = await signedClick('UALICE', 'reauth:disable', 'twice-at-once', 'once');

    const answered = await Promise.all([endpoint(click), endpoint(click), endpoint(click)]);

    expect(answered.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(await jobs()).toBe(1);
    expect(replies('once').filter((r) => r.startsWith('Already received'))).toHaveLength(2);
    expect(await keyStatus('twice-at-once')).toBe('Inactive');
    expect(published('Replayed')).toBe(3);
  });

  it('queues one job for two requests with the same trigger_id, even when they ask different things', async () => {
    const trigger = '1234567890.local.the-same-trigger';
    await endpoint(await signedClick('UALICE', 'reauth:disable', 'same-trigger', 'first', trigger));
    await endpoint(await signedClick('UALICE', 'reauth:rotate', 'same-trigger', 'copy', trigger));

    expect(await jobs()).toBe(1);
    expect(replies('copy')[0]).toMatch(/^Already received/);
    expect(await keyStatus('same-trigger')).toBe('Inactive');
    expect(await actions('same-trigger')).not.toContain('rotate');
  });

  it('queues one job for the same action payload under another trigger_id (a re-signed copy, a double click)', async () => {
    await endpoint(await signedClick('UALICE', 'reauth:disable', 'same-payload', 'payload'));
    await endpoint(await signedClick('UALICE', 'reauth:disable', 'same-payload', 'payload-copy'));

    expect(await jobs()).toBe(1);
    expect(replies('payload')[0]).toBe(`Working on it: disabling ${keyOf('same-payload')}…`);
    expect(replies('payload-copy')).toEqual([
      `Already received: reauth is working on it (disabling ${keyOf('same-payload')}).`,
    ]);
    expect(await keyStatus('same-payload')).toBe('Inactive');
  });
});

describe('different clicks, close together', () => {
  it("takes two people's clicks on the same button as two (the second finds the work done)", async () => {
    const [alice, carol] = await Promise.all([
      signedClick('UALICE', 'reauth:disable', 'two-people', 'alice'),
      signedClick('UCAROL', 'reauth:disable', 'two-people', 'carol'),
    ]);

    await Promise.all([endpoint(alice), endpoint(carol)]);

    expect(replies('alice')[0]).toBe(`Working on it: disabling ${keyOf('two-people')}…`);
    expect(replies('carol')[0]).toBe(`Working on it: disabling ${keyOf('two-people')}…`);
    expect(await jobs()).toBe(2);
    expect(await keyStatus('two-people')).toBe('Inactive');
    expect((await actions('two-people')).filter((a) => a === 'disable')).toHaveLength(1);
  });

  it('lets the owner disable, then restore what they disabled, within minutes', async () => {
    await endpoint(await signedClick('UALICE', 'reauth:disable', 'disable-restore', 'disable'));
    expect(await jobs()).toBe(1);
    expect(await keyStatus('disable-restore')).toBe('Inactive');

    await endpoint(await signedClick('UALICE', 'reauth:restore', 'disable-restore', 'restore'));
    expect(await jobs()).toBe(1);

    expect(replies('restore')[0]).toBe(`Working on it: restoring ${keyOf('disable-restore')}…`);
    expect(await keyStatus('disable-restore')).toBe('Active');
    expect(await actions('disable-restore')).toEqual(['flag', 'notify', 'disable', 'restore', 'notify']);
  });
});
