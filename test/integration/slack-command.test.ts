import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { checkMessage } from '../../lambdas/shared/slack/limits';
import type { ModalView } from '../../lambdas/shared/slack/messages';
import { decodeActionValue } from '../../lambdas/shared/slack/request';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { type Seeded, seedAccount } from '../../scripts/local/seed';
import {
  buttonClickBody,
  drainQueue,
  slackEvent,
  slashCommandBody,
  stillNeededSubmissionBody,
} from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart } from '../support/lambda';

const { emulator, clients } = useEmulator();
const TABLE = 'command-under-test';
const KEYS = 25;
const store = createDecisionStore(clients.documents, TABLE);
const users = Array.from({ length: KEYS }, (_, index) => `svc-listed-${String(index).padStart(2, '0')}`);

let fake: FakeSlack;
let signingSecret: string;
let seeded: Seeded;
let queueUrl: string;
let endpoint: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let worker: (event: SQSEvent) => Promise<SQSBatchResponse>;

const jobs = () => drainQueue(clients.sqs, queueUrl, worker);
const signed = (body: string) => slackEvent(body, { signingSecret, at: new Date() });
/** What was sent to a response_url, last first. */
const responses = (name: string) =>
  fake
    .calls(`response:${name}`)
    .map((call) => call.body)
    .reverse();

interface Posted {
  text: string;
  blocks: { type: string; elements?: { action_id: string; value: string }[] }[];
  response_type?: string;
  replace_original?: boolean;
}

/** The credential ids a listed page offers answers for. */
const listed = (page: Posted) =>
  page.blocks.flatMap((block) =>
    (block.elements ?? [])
      .filter((element) => element.action_id === 'reauth:disable')
      .map((element) => decodeActionValue(element.value).credentialId),
  );

async function command(userId: string, reply: string, text = '') {
  const answered = await endpoint(
    signed(slashCommandBody({ userId, text, responseUrl: fake.responseUrl(reply) })),
  );
  await jobs();
  return answered;
}

beforeAll(async () => {
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: users.map((name) => ({
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
  const env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  await (await coldStart<() => Promise<unknown>>('../../lambdas/scan/handler', env))();
  endpoint = await coldStart('../../lambdas/slack/handler', env);
  worker = await coldStart('../../lambdas/slack-worker/handler', env);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fake.close();
});

describe('/reauth', () => {
  it('lists the requests waiting for the owner, 20 a page, ephemerally, with the same buttons', async () => {
    const answered = await command('UALICE', 'alice');

    expect(answered).toEqual({ statusCode: 200 });
    const [page] = responses('alice') as Posted[];
    expect(page?.response_type).toBe('ephemeral');
    expect(checkMessage(page ?? {}).violations).toEqual([]);
    expect(listed(page as Posted)).toHaveLength(20);
    expect(JSON.stringify(page)).toContain('page 1 of 2');
    const next = page?.blocks.at(-1)?.elements?.find((e) => e.action_id === 'reauth:page-next');
    expect(next?.value).toBe('2');

    await endpoint(
      signed(
        buttonClickBody({
          userId: 'UALICE',
          actionId: 'reauth:page-next',
          value: '2',
          responseUrl: fake.responseUrl('alice'),
          ephemeral: true,
        }),
      ),
    );
    await jobs();

    const [second] = responses('alice') as Posted[];
    expect(second?.replace_original).toBe(true);
    const all = [...listed(page as Posted), ...listed(second as Posted)];
    expect(new Set(all).size).toBe(KEYS);
    expect(all.sort()).toEqual(
      users.map((user) => `123456789012:access-key:${seeded.keyIds.get(user)?.[0]}`).sort(),
    );
  });

  it("shows a delegate the requests of whoever they are a delegate of, and nobody else's to anyone else", async () => {
    await command('UCAROL', 'carol', '2');
    await command('UMALLORY', 'mallory');

    const [carols] = responses('carol') as Posted[];
    expect(listed(carols as Posted)).toHaveLength(KEYS - 20);
    expect(JSON.stringify(carols)).toContain('page 2 of 2');
    const [mallorys] = responses('mallory') as Posted[];
    expect(listed(mallorys as Posted)).toEqual([]);
    expect(mallorys?.text).toMatch(/^Nothing is waiting for you/);
  });

  it('runs one listing per user at a time: a second /reauth before the first is posted is told so and scans nothing', async () => {
    const ask = (userId: string, reply: string) =>
      endpoint(signed(slashCommandBody({ userId, responseUrl: fake.responseUrl(reply) })));

    const first = await ask('UALICE', 'hammer');
    const second = await ask('UALICE', 'hammer');
    const someoneElse = await ask('UCAROL', 'hammer-carol');
    const turned = await endpoint(
      signed(
        buttonClickBody({
          userId: 'UALICE',
          actionId: 'reauth:page-next',
          value: '2',
          responseUrl: fake.responseUrl('hammer'),
          ephemeral: true,
        }),
      ),
    );

    expect(first).toEqual({ statusCode: 200 });
    expect(JSON.parse(String(second.body))).toEqual({
      response_type: 'ephemeral',
      text: expect.stringMatching(/^reauth is already preparing your list/),
    });
    expect(someoneElse).toEqual({ statusCode: 200 });
    expect(turned).toEqual({ statusCode: 200 });
    expect(responses('hammer')).toEqual([
      expect.objectContaining({ text: expect.stringMatching(/^reauth is already preparing your list/) }),
    ]);
    // Alice's one listing and Carol's: one scan each.
    expect(await jobs()).toBe(2);
    const lists = responses('hammer').filter((r) => (r as Posted).blocks !== undefined) as Posted[];
    expect(lists.map((list) => listed(list).length)).toEqual([20]);

    // Posted: the worker gave the lease back, so Alice may list again at once.
    expect(await ask('UALICE', 'hammer')).toEqual({ statusCode: 200 });
    expect(await jobs()).toBe(1);
  });

  it('refuses an unsigned command, and answers only its own', async () => {
    const body = slashCommandBody({ userId: 'UALICE', responseUrl: fake.responseUrl('forged') });

    expect(await endpoint(slackEvent(body, { signingSecret: 'not-the-secret', at: new Date() }))).toEqual({
      statusCode: 401,
    });
    const other = await endpoint(
      signed(slashCommandBody({ userId: 'UALICE', command: '/deploy', responseUrl: fake.responseUrl('x') })),
    );
    expect(JSON.parse(String(other.body))).toMatchObject({ response_type: 'ephemeral' });
    expect(await jobs()).toBe(0);
  });

  it('a Disable from the list disables, lists again without it, and rebuilds the request message that showed it', async () => {
    await command('UCAROL', 'carol-answers');
    const [page] = responses('carol-answers') as Posted[];
    const credentialId = listed(page as Posted)[0] as string;
    const state = await store.getState(credentialId);
    const updates = fake.calls('chat.update').length;

    await endpoint(
      signed(
        buttonClickBody({
          userId: 'UCAROL',
          actionId: 'reauth:disable',
          value: `${credentialId}|${state?.requestSeq}`,
          responseUrl: fake.responseUrl('carol-answers'),
          channelId: 'D0LOCAL',
          messageTs: '1700000000.999999',
          ephemeral: true,
        }),
      ),
    );
    await jobs();

    const { AccessKeyMetadata } = await clients.iam.send(
      new ListAccessKeysCommand({ UserName: state?.principal }),
    );
    expect(AccessKeyMetadata?.[0]?.Status).toBe('Inactive');
    const [relisted] = responses('carol-answers') as Posted[];
    expect(relisted?.replace_original).toBe(true);
    expect(listed(relisted as Posted)).not.toContain(credentialId);
    expect(JSON.stringify(relisted)).toContain('24 requests wait');
    const [update] = fake.calls('chat.update').slice(updates);
    expect(update?.body).toMatchObject({ channel: state?.message?.channel, ts: state?.message?.ts });
    expect(JSON.stringify(update?.body.blocks)).toContain('reauth:restore');
  });

  it('Still needed for all open in a message records one decision per request, each in its own chain, and rebuilds that message', async () => {
    const posts = fake.calls('chat.postMessage').filter((call) => call.body.channel === 'UALICE');
    const last = posts.at(-1)?.body as Posted;
    const shown = last.blocks.flatMap((block) =>
      (block.elements ?? [])
        .filter((element) => element.action_id === 'reauth:still-needed')
        .map((element) => decodeActionValue(element.value).credentialId),
    );
    const where = (await store.getState(shown[0] as string))?.message;
    const open = (await Promise.all(shown.map((id) => store.getState(id)))).filter(
      (s) => s?.status === 'pending',
    );
    expect(open.length).toBeGreaterThan(1);
    const opened = fake.calls('views.open').length;

    await endpoint(
      signed(
        buttonClickBody({
          userId: 'UCAROL',
          actionId: 'reauth:still-needed-all',
          value: 'all',
          responseUrl: fake.responseUrl('all'),
          channelId: where?.channel,
          messageTs: where?.ts,
        }),
      ),
    );
    const view = fake.calls('views.open')[opened]?.body.view as ModalView;
    expect(JSON.stringify(view.blocks[0])).toContain(`*${open.length}* credentials`);
    const submitted = await endpoint(
      signed(
        stillNeededSubmissionBody({
          userId: 'UCAROL',
          view,
          reason: 'The nightly ETL still uses all of them.',
          days: 30,
        }),
      ),
    );
    await jobs();

    expect(JSON.parse(String(submitted.body))).toEqual({ response_action: 'clear' });
    for (const state of open) {
      const history = await store.history(state?.credentialId ?? '');
      const last = history.at(-1);
      expect(last).toMatchObject({ action: 'reauthorize', actor: 'slack:UCAROL' });
      expect(last?.prevHash).toBe(history.at(-2)?.hash);
      expect((await store.getState(state?.credentialId ?? ''))?.status).toBe('active');
    }
    const [rebuilt] = responses('all') as Posted[];
    expect(rebuilt?.replace_original).toBe(true);
    expect(checkMessage(rebuilt ?? {}).violations).toEqual([]);
    expect(JSON.stringify(rebuilt?.blocks)).not.toContain('reauth:still-needed-all');
  });
});
