import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { ActionsBlock, Block } from '../../lambdas/shared/slack/messages';
import { ASSIGN_OWNER_ACTION_ID } from '../../lambdas/shared/slack/request';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { seedAccount } from '../../scripts/local/seed';
import { drainQueue, slackEvent, userSelectBody } from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart, travelTo, undoTravelAfter } from '../support/lambda';

const { emulator, clients } = useEmulator();
const TABLE = 'assign-owner-under-test';
const ACCOUNT = '123456789012';
const DAY = 86_400_000;
const GRACE_DAYS = 14; // the default tier's
const store = createDecisionStore(clients.documents, TABLE);
const START = new Date();

let fake: FakeSlack;
let signingSecret: string;
let queueUrl: string;
let credentialId: string;
let scan: () => Promise<unknown>;
let endpoint: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let worker: (event: SQSEvent) => Promise<SQSBatchResponse>;
/** The security channel's message about the orphaned key, as posted. */
let posted: { channel: string; ts: string; blocks: Block[] };

function travel(days: number) {
  return travelTo(emulator, new Date(START.getTime() + days * DAY));
}

/** The picker's block id in the posted message: the credential and the request it was shown with. */
function pickerBlockId(blocks: Block[]): string | undefined {
  return blocks.find(
    (block): block is ActionsBlock =>
      block.type === 'actions' && block.elements.some((e) => e.action_id === ASSIGN_OWNER_ACTION_ID),
  )?.block_id;
}

function choose(userId: string, selectedUser: string) {
  const body = userSelectBody({
    userId,
    actionId: ASSIGN_OWNER_ACTION_ID,
    blockId: pickerBlockId(posted.blocks) as string,
    selectedUser,
    responseUrl: fake.responseUrl(userId),
    channelId: posted.channel,
    messageTs: posted.ts,
  });
  return { body, send: () => endpoint(slackEvent(body, { signingSecret, at: new Date() })) };
}

const history = () => store.history(credentialId);
const replies = (userId: string) => fake.calls(`response:${userId}`).map((c) => c.body);

beforeAll(async () => {
  const seeded = await seedAccount(
    emulator,
    clients,
    {
      // No owner tag, group, path, stack or creator: no owner is found.
      users: [{ name: 'nobody-owns-me', keys: [{ createdDaysAgo: 200, usedDaysAgo: 120 }] }],
      secrets: [],
      roles: [],
    },
    START,
  );
  credentialId = `${ACCOUNT}:access-key:${seeded.keyIds.get('nobody-owns-me')?.[0]}`;
  const local = await startLocalStack(clients, {
    table: TABLE,
    policy: { mode: 'enforce', slack: { delegates: { '#security': ['USEC'] } } },
  });
  fake = local.slack;
  signingSecret = local.signingSecret;
  queueUrl = local.queueUrl;
  const env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  scan = await coldStart('../../lambdas/scan/handler', env);
  endpoint = await coldStart('../../lambdas/slack/handler', env);
  worker = await coldStart('../../lambdas/slack-worker/handler', env);
});

undoTravelAfter(emulator, () => fake.close());

describe('Assign owner, from the security channel', () => {
  it("offers a user picker in the security channel's message about an orphaned key", async () => {
    await scan();

    const post = fake.calls('chat.postMessage').find((c) => c.body.channel === '#security');
    expect(post).toBeDefined();
    const state = await store.getState(credentialId);
    expect(state).toMatchObject({ owner: '#security', status: 'pending' });
    expect(state?.triggers).toContain('orphaned');
    expect(state?.message?.channel).toBe('#security');
    posted = { channel: '#security', ts: state?.message?.ts as string, blocks: post?.body.blocks };
    expect(pickerBlockId(posted.blocks)).toBe(`${credentialId}|${state?.requestSeq}`);
  });

  it("refuses a non-approver's choice and records it as other refusals are", async () => {
    await travel(1);
    const before = await store.getState(credentialId);

    expect((await choose('UMALLORY', 'UMALLORY').send()).statusCode).toBe(200);
    await drainQueue(clients.sqs, queueUrl, worker);

    expect(replies('UMALLORY').at(-1)?.text).toMatch(/Only the security approvers/);
    expect((await history()).at(-1)).toMatchObject({
      action: 'refuse',
      actor: 'slack:UMALLORY',
      evidence: { attempted: 'assign-owner', refusedBecause: 'not-authorized' },
    });
    expect(await store.getState(credentialId)).toMatchObject({
      owner: '#security',
      requestSeq: before?.requestSeq,
      deadlineAt: before?.deadlineAt,
    });
  });

  it('records an approver’s choice, asks the new owner with a fresh deadline, and says so in the channel', async () => {
    await travel(2);
    const before = await store.getState(credentialId);
    const decided = (await history()).length;

    const chosen = choose('USEC', 'UDANA');
    expect((await chosen.send()).statusCode).toBe(200);
    // Slack retries the same request: received once.
    expect((await endpoint(slackEvent(chosen.body, { signingSecret, at: new Date() }))).statusCode).toBe(200);
    await drainQueue(clients.sqs, queueUrl, worker);

    const added = (await history()).slice(decided);
    expect(added.map((d) => d.action)).toEqual(['assign-owner', 'notify']);
    expect(added[0]).toMatchObject({
      actor: 'slack:USEC',
      owner: 'UDANA',
      evidence: {
        assignedOwner: 'UDANA',
        previousOwner: '#security',
        by: 'slack:USEC',
        requestSeq: before?.requestSeq,
      },
    });
    const after = await store.getState(credentialId);
    const assignedAt = added[0]?.at as string;
    expect(after).toMatchObject({
      status: 'pending',
      owner: 'UDANA',
      ownerSlackId: 'UDANA',
      ownerSource: { source: 'assigned', via: 'slack:USEC' },
      assignedOwner: { owner: 'UDANA', by: 'slack:USEC', at: assignedAt },
      requestSeq: added[0]?.seq,
      deadlineAt: new Date(Date.parse(assignedAt) + GRACE_DAYS * DAY).toISOString(),
      message: { channel: 'DDANA' },
    });
    expect(after?.triggers).not.toContain('orphaned');
    expect(Date.parse(after?.deadlineAt as string)).toBeGreaterThan(Date.parse(before?.deadlineAt as string));
    // The new owner is asked, in a message of their own, with the new request's buttons.
    const asked = fake.calls('chat.postMessage').filter((c) => c.body.channel === 'UDANA');
    expect(asked).toHaveLength(1);
    expect(JSON.stringify(asked[0]?.body.blocks)).toContain(`${credentialId}|${after?.requestSeq}`);
    expect(JSON.stringify(asked[0]?.body.blocks)).toContain('Why you: assigned to you by <@USEC>');
    // The security channel's message says who was assigned, by whom, and offers the picker no more.
    const rebuilt = replies('USEC').find((body) => body.replace_original === true);
    expect(JSON.stringify(rebuilt?.blocks)).toContain('Assigned to <@UDANA> by <@USEC>');
    expect(pickerBlockId(rebuilt?.blocks ?? [])).toBeUndefined();
  });

  it('records nothing more when the same choice arrives again later', async () => {
    await travel(3);
    const decided = (await history()).length;

    expect((await choose('USEC', 'UDANA').send()).statusCode).toBe(200);
    await drainQueue(clients.sqs, queueUrl, worker);

    expect(await history()).toHaveLength(decided);
    expect(replies('USEC').at(-1)?.text).toMatch(/already assigned to <@UDANA> by <@USEC>/);
  });

  it('keeps the assigned owner on the next scan, though the key still has no owner tag', async () => {
    await travel(4);
    const decided = (await history()).length;

    await scan();

    const state = await store.getState(credentialId);
    expect(state).toMatchObject({
      owner: 'UDANA',
      ownerSource: { source: 'assigned', via: 'slack:USEC' },
      status: 'pending',
    });
    expect(state?.triggers).not.toContain('orphaned');
    expect((await history()).slice(decided).map((d) => d.action)).not.toContain('flag');
  });
});
