import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { ModalView } from '../../lambdas/shared/slack/messages';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { seedAccount } from '../../scripts/local/seed';
import {
  buttonClickBody,
  buttonValue,
  drainQueue,
  slackEvent,
  stillNeededSubmissionBody,
} from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart } from '../support/lambda';

const { emulator, clients } = useEmulator();
const TABLE = 'approver-under-test';
const store = createDecisionStore(clients.documents, TABLE);
let fake: FakeSlack;
let signingSecret: string;
let env: Record<string, string>;
let credentialId: string;
let endpoint: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let worker: (event: SQSEvent) => Promise<SQSBatchResponse>;

const signed = (body: string) => slackEvent(body, { signingSecret: signingSecret, at: new Date() });

beforeAll(async () => {
  const seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        {
          name: 'payments-settlement',
          tags: { 'reauth:owner': 'UALICE', 'reauth:tier': 'critical' },
          keys: [{ createdDaysAgo: 200, usedDaysAgo: 100 }],
        },
      ],
      secrets: [],
      roles: [],
    },
    new Date(),
  );
  credentialId = `123456789012:access-key:${seeded.keyIds.get('payments-settlement')?.[0]}`;
  const local = await startLocalStack(clients, {
    table: TABLE,
    policy: {
      tiers: {
        standard: {
          idleDays: 90,
          maxAgeDays: 365,
          graceDays: 14,
          reauthorizeForDays: 90,
          newCredentialGraceDays: 14,
        },
        critical: {
          idleDays: 30,
          maxAgeDays: 90,
          graceDays: 7,
          reauthorizeForDays: 30,
          newCredentialGraceDays: 7,
          approvers: ['UALICE', 'UBOB'],
        },
      },
    },
  });
  fake = local.slack;
  signingSecret = local.signingSecret;
  env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  await (await coldStart<() => Promise<unknown>>('../../lambdas/scan/handler', env))();
  endpoint = await coldStart('../../lambdas/slack/handler', env);
  worker = await coldStart('../../lambdas/slack-worker/handler', env);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fake.close();
});

describe('a critical key whose tier needs a second approver', () => {
  it("holds the owner's Still needed until an approver other than the owner confirms it", async () => {
    const request = fake.calls('chat.postMessage').find((c) => c.body.channel === 'UALICE')?.body;
    const value = buttonValue(request.blocks, 'reauth:still-needed', credentialId);
    await endpoint(
      signed(
        buttonClickBody({
          userId: 'UALICE',
          actionId: 'reauth:still-needed',
          value,
          responseUrl: fake.responseUrl('alice'),
        }),
      ),
    );
    const view = fake.calls('views.open').at(-1)?.body.view as ModalView;
    await endpoint(
      signed(
        stillNeededSubmissionBody({
          userId: 'UALICE',
          view,
          reason: 'settles card payments hourly',
          days: 30,
        }),
      ),
    );

    await drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker);
    expect(await store.getState(credentialId)).toMatchObject({
      status: 'pending',
      proposal: { by: 'slack:UALICE' },
    });
    const asks = fake.calls('chat.postMessage').filter((c) => /Second approval needed/.test(c.body.text));
    // The owner is in the approvers group too, but cannot confirm their own answer: only Bob is asked.
    expect(asks.map((c) => c.body.channel)).toEqual(['UBOB']);
    const approve = buttonValue(asks[0]?.body.blocks, 'reauth:approve', credentialId);

    await endpoint(
      signed(
        buttonClickBody({
          userId: 'UALICE',
          actionId: 'reauth:approve',
          value: approve,
          responseUrl: fake.responseUrl('self'),
        }),
      ),
    );
    await drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker);
    expect(fake.calls('response:self')[0]?.body.text).toMatch(/other than the owner/);
    expect((await store.getState(credentialId))?.status).toBe('pending');

    await endpoint(
      signed(
        buttonClickBody({
          userId: 'UBOB',
          actionId: 'reauth:approve',
          value: approve,
          responseUrl: fake.responseUrl('bob'),
        }),
      ),
    );
    await drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker);
    expect(fake.calls('response:bob')[0]?.body.text).toMatch(/^Confirmed/);
    expect(await store.getState(credentialId)).toMatchObject({ status: 'active' });
    expect((await store.history(credentialId)).map((d) => [d.action, d.actor])).toEqual([
      ['flag', 'system:scan'],
      ['notify', 'system:scan'],
      ['notify', 'slack:UALICE'],
      ['refuse', 'slack:UALICE'],
      ['reauthorize', 'slack:UBOB'],
    ]);
    expect((await store.history(credentialId)).at(-1)?.evidence).toMatchObject({
      approver: 'slack:UBOB',
      proposedBy: 'slack:UALICE',
      days: 30,
    });
  });
});
