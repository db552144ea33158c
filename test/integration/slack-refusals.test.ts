import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { ModalView } from '../../lambdas/shared/slack/messages';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { seedAccount } from '../../scripts/local/seed';
import {
  buttonClickBody,
  drainQueue,
  slackEvent,
  stillNeededSubmissionBody,
} from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart, travelTo, undoTravelAfter } from '../support/lambda';
import { captureMetrics } from '../support/metrics-output';

const { emulator, clients } = useEmulator();
const TABLE = 'refusals-under-test';
const DAY = 86_400_000;
const store = createDecisionStore(clients.documents, TABLE);
// Noon UTC tomorrow and the day after: every click of a "day" falls on one UTC day, whenever this runs.
const DAY_ONE = new Date(Math.floor(Date.now() / DAY) * DAY + DAY + DAY / 2);
const DAY_TWO = new Date(DAY_ONE.getTime() + DAY);

let fake: FakeSlack;
let signingSecret: string;
let credentialId: string;
let requestSeq: number;
let endpoint: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let worker: (event: SQSEvent) => Promise<SQSBatchResponse>;
let queueUrl: string;

const metrics = captureMetrics();
const published = (metric: string) => metrics.published('reauth-slack', metric);

function click(userId: string, actionId = 'reauth:disable', name = userId) {
  return endpoint(
    slackEvent(
      buttonClickBody({
        userId,
        actionId,
        value: `${credentialId}|${requestSeq}`,
        responseUrl: fake.responseUrl(name),
      }),
      { signingSecret, at: new Date() },
    ),
  );
}

/** The refusals recorded, once the worker has recorded those the endpoint queued. */
async function refusals(): Promise<string[]> {
  await drainQueue(clients.sqs, queueUrl, worker);
  return (await store.history(credentialId)).filter((d) => d.action === 'refuse').map((d) => d.actor);
}

beforeAll(async () => {
  const seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        {
          name: 'ci-deployer',
          tags: { 'reauth:owner': 'UALICE' },
          keys: [{ createdDaysAgo: 200, usedDaysAgo: 120 }],
        },
      ],
      secrets: [],
      roles: [],
    },
    new Date(),
  );
  credentialId = `123456789012:access-key:${seeded.keyIds.get('ci-deployer')?.[0]}`;
  const local = await startLocalStack(clients, { table: TABLE, policy: { mode: 'enforce' } });
  fake = local.slack;
  signingSecret = local.signingSecret;
  const env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL', POWERTOOLS_METRICS_DISABLED: 'false' };
  await (await coldStart<() => Promise<unknown>>('../../lambdas/scan/handler', env))();
  endpoint = await coldStart('../../lambdas/slack/handler', env);
  worker = await coldStart('../../lambdas/slack-worker/handler', env);
  queueUrl = local.queueUrl;
  requestSeq = (await store.getState(credentialId))?.requestSeq as number;
});

undoTravelAfter(emulator, () => fake.close());

describe("a stranger's refused clicks", () => {
  it('records one refusal a day however often they click, and counts every click', async () => {
    await travelTo(emulator, DAY_ONE);
    for (let i = 0; i < 5; i++) expect((await click('UMALLORY')).statusCode).toBe(200);

    expect(await refusals()).toEqual(['slack:UMALLORY']);
    expect(published('Refused')).toBe(5);
    // Every click is told why, recorded or not.
    const replies = fake.calls('response:UMALLORY').map((c) => c.body.text);
    expect(replies).toHaveLength(5);
    for (const reply of replies) expect(reply).toMatch(/Only <@UALICE> or their delegates/);
    expect(await store.getState(credentialId)).toMatchObject({ status: 'pending', requestSeq });
  });

  it('records two refusals at once as one', async () => {
    await travelTo(emulator, new Date(DAY_ONE.getTime() + 60_000));
    const replies = await Promise.all([click('UEVE'), click('UEVE', 'reauth:rotate')]);

    expect(replies.map((r) => r.statusCode)).toEqual([200, 200]);
    expect(await refusals()).toEqual(['slack:UMALLORY', 'slack:UEVE']);
    expect(published('Refused')).toBe(7);
  });

  it('records the same stranger again the next day (UTC)', async () => {
    await travelTo(emulator, DAY_TWO);
    await click('UMALLORY');
    await click('UMALLORY', 'reauth:still-needed');

    expect(await refusals()).toEqual(['slack:UMALLORY', 'slack:UEVE', 'slack:UMALLORY']);
    expect(published('Refused')).toBe(9);
    expect((await store.history(credentialId)).at(-1)?.at.slice(0, 10)).toBe(
      DAY_TWO.toISOString().slice(0, 10),
    );
  });

  it('records a submitted Still needed dialog from a stranger the same way, with the clicks of the day', async () => {
    await travelTo(emulator, new Date(DAY_TWO.getTime() + 60_000));
    expect((await click('UALICE', 'reauth:still-needed')).statusCode).toBe(200);
    const view = fake.calls('views.open').at(-1)?.body.view as ModalView;
    const submit = (userId: string) =>
      endpoint(
        slackEvent(
          stillNeededSubmissionBody({ userId, view, reason: 'I would like to keep this key', days: 30 }),
          { signingSecret, at: new Date() },
        ),
      );

    const answers = [await submit('UTRUDY'), await submit('UTRUDY'), await submit('UMALLORY')];

    for (const answer of answers) {
      expect(JSON.parse(answer.body ?? '{}')).toMatchObject({
        response_action: 'errors',
        errors: { reason: expect.stringMatching(/Only <@UALICE> or their delegates/) },
      });
    }
    expect(await refusals()).toEqual(['slack:UMALLORY', 'slack:UEVE', 'slack:UMALLORY', 'slack:UTRUDY']);
    expect(published('Refused')).toBe(12);
    expect(await store.getState(credentialId)).toMatchObject({
      status: 'pending',
      refusedOn: { day: DAY_TWO.toISOString().slice(0, 10), users: ['UMALLORY', 'UTRUDY'] },
    });
  });
});
