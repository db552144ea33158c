import {
  CreateEventBusCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { type Seeded, seedAccount, VENDOR_ACCOUNT } from '../../scripts/local/seed';
import { drainQueue } from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart } from '../support/lambda';

const { emulator, clients } = useEmulator();
const TABLE = 'events-under-test';
const ACCOUNT = '123456789012';
const store = createDecisionStore(clients.documents, TABLE);
let fake: FakeSlack;
let seeded: Seeded;
let trustQueue: string;
let invalidQueue: string;
let consumer: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const keyCredential = (user: string) => `${ACCOUNT}:access-key:${seeded.keyIds.get(user)?.[0]}`;
const secretCredential = (name: string) => `${ACCOUNT}:secret:${seeded.secretArns.get(name)}`;

/** A CloudTrail record as EventBridge delivers it ("AWS API Call via CloudTrail"). */
function cloudTrail(
  service: 'iam' | 'secretsmanager',
  eventName: string,
  eventID: string,
  requestParameters: object,
) {
  return {
    Source: `aws.${service}`,
    DetailType: 'AWS API Call via CloudTrail',
    Detail: JSON.stringify({
      eventSource: `${service}.amazonaws.com`,
      eventName,
      eventID,
      requestParameters,
    }),
  };
}

async function put(
  ...entries: { Source: string; DetailType: string; Detail: string; EventBusName?: string }[]
) {
  const { FailedEntryCount } = await clients.events.send(new PutEventsCommand({ Entries: entries }));
  expect(FailedEntryCount ?? 0).toBe(0);
}

/** Lambda's SQS integration: what the rules delivered, to the consumer. */
function deliver(): Promise<number> {
  return drainQueue(clients.sqs, trustQueue, (event) => consumer(event, {} as Context));
}

async function queueArn(url: string): Promise<string> {
  const { Attributes } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return Attributes?.QueueArn as string;
}

beforeAll(async () => {
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        {
          name: 'ci-deployer',
          tags: { 'reauth:owner': 'UALICE' },
          keys: [{ createdDaysAgo: 40, usedDaysAgo: 1 }],
        },
        { name: 'etl', tags: { 'reauth:owner': 'UDANA' }, keys: [{ createdDaysAgo: 40, usedDaysAgo: 1 }] },
      ],
      secrets: [{ name: 'prod/db', createdDaysAgo: 40, readDaysAgo: 1, tags: { 'reauth:owner': 'UALICE' } }],
      roles: [
        {
          name: 'vendor-monitoring',
          createdDaysAgo: 40,
          trustedAccounts: [VENDOR_ACCOUNT],
          usedDaysAgo: 1,
          tags: { 'reauth:owner': 'UBOB' },
        },
      ],
    },
    new Date(),
  );
  const local = await startLocalStack(clients, { table: TABLE, policy: {} });
  fake = local.slack;
  trustQueue = (await clients.sqs.send(new CreateQueueCommand({ QueueName: 'trust-events' })))
    .QueueUrl as string;
  invalidQueue = (await clients.sqs.send(new CreateQueueCommand({ QueueName: 'invalid-trust-events' })))
    .QueueUrl as string;
  // The rules the stack deploys, on the emulator's EventBridge, delivering to SQS as in AWS.
  await clients.events.send(new CreateEventBusCommand({ Name: 'reauth' }));
  const rules = [
    { Name: 'iam', EventPattern: { source: ['aws.iam'], 'detail-type': ['AWS API Call via CloudTrail'] } },
    {
      Name: 'secrets',
      EventPattern: { source: ['aws.secretsmanager'], 'detail-type': ['AWS API Call via CloudTrail'] },
    },
    { Name: 'custom', EventBusName: 'reauth', EventPattern: { source: ['reauth'] } },
  ];
  const arn = await queueArn(trustQueue);
  for (const rule of rules) {
    await clients.events.send(
      new PutRuleCommand({ ...rule, EventPattern: JSON.stringify(rule.EventPattern) }),
    );
    await clients.events.send(
      new PutTargetsCommand({
        Rule: rule.Name,
        EventBusName: rule.EventBusName,
        Targets: [{ Id: 'queue', Arn: arn }],
      }),
    );
  }
  consumer = await coldStart('../../lambdas/events/handler', {
    ...local.env,
    INVALID_EVENTS_QUEUE_URL: invalidQueue,
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fake.close();
});

describe('trust changes reopen reauthorization', () => {
  it("a policy attached to a user sends each of the user's keys to its owner, scope-changed", async () => {
    await put(
      cloudTrail('iam', 'AttachUserPolicy', 'ct-1', {
        userName: 'ci-deployer',
        policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );

    expect(await deliver()).toBe(1);
    expect(await store.getState(keyCredential('ci-deployer'))).toMatchObject({
      status: 'pending',
      triggers: ['scope-changed'],
      lastEventId: 'ct-1',
      notifiedAt: expect.any(String),
    });
    expect((await store.history(keyCredential('ci-deployer')))[0]).toMatchObject({
      action: 'flag',
      actor: 'system:events',
      evidence: { eventId: 'ct-1', widens: true },
    });
    expect(fake.calls('chat.postMessage').map((c) => c.body.channel)).toEqual(['UALICE']);
  });

  it('opens one request when the same CloudTrail event is delivered twice', async () => {
    await put(
      cloudTrail('iam', 'AttachUserPolicy', 'ct-1', {
        userName: 'ci-deployer',
        policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );

    expect(await deliver()).toBe(1);
    expect((await store.history(keyCredential('ci-deployer'))).map((d) => d.action)).toEqual([
      'flag',
      'notify',
    ]);
    expect(fake.calls('chat.postMessage')).toHaveLength(1);
  });

  it('records a change that only reduces access, and asks nobody', async () => {
    await put(
      cloudTrail('iam', 'DetachUserPolicy', 'ct-2', {
        userName: 'etl',
        policyArn: 'arn:aws:iam::aws:policy/PowerUserAccess',
      }),
    );

    await deliver();
    expect(await store.getState(keyCredential('etl'))).toMatchObject({
      status: 'active',
      lastEventId: 'ct-2',
    });
    expect((await store.history(keyCredential('etl'))).map((d) => d.action)).toEqual(['observe']);
    expect(fake.calls('chat.postMessage').some((c) => c.body.channel === 'UDANA')).toBe(false);
  });

  it("sends every credential of a departed owner to reauthorization (reauth emit, on reauth's bus)", async () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(
        await main(['emit', 'Owner Departed', '--owner', 'UALICE', '--reason', 'left the company']),
      ).toBe(0);
    } finally {
      out.mockRestore();
    }

    await deliver();
    expect(await store.getState(secretCredential('prod/db'))).toMatchObject({
      status: 'pending',
      triggers: ['owner-departed'],
    });
    expect(await store.getState(keyCredential('ci-deployer'))).toMatchObject({
      status: 'pending',
      triggers: ['scope-changed', 'owner-departed'],
    });
    expect(await store.getState(`${ACCOUNT}:role:vendor-monitoring`)).toBeUndefined();
  });

  it("a policy put on a vendor role and a secret policy change reopen them; reauth's own disable does not", async () => {
    await put(
      cloudTrail('iam', 'PutRolePolicy', 'ct-3', {
        roleName: 'vendor-monitoring',
        policyName: 'reauth-disabled',
      }),
      cloudTrail('iam', 'AttachRolePolicy', 'ct-4', {
        roleName: 'vendor-monitoring',
        policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      }),
    );

    await deliver();
    const history = await store.history(`${ACCOUNT}:role:vendor-monitoring`);
    expect(history.map((d) => d.evidence.eventId)).toEqual(['ct-4', undefined]);
    expect(await store.getState(`${ACCOUNT}:role:vendor-monitoring`)).toMatchObject({
      status: 'pending',
      owner: 'UBOB',
    });
  });

  it("an owner's new role, a provider's wider scope and a new purpose each reopen what they name (reauth emit)", async () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await main(['emit', 'Owner Role Changed', '--owner', 'UBOB', '--new-role', 'contractor'])).toBe(
        0,
      );
      expect(
        await main([
          'emit',
          'Provider Scope Changed',
          '--credential-id',
          keyCredential('etl'),
          '--provider',
          'acme',
        ]),
      ).toBe(0);
      expect(
        await main([
          'emit',
          'Purpose Changed',
          '--tag',
          'reauth:owner=UDANA',
          '--reason',
          'moved to billing',
        ]),
      ).toBe(0);
    } finally {
      out.mockRestore();
    }

    expect(await deliver()).toBe(3);
    const role = await store.getState(`${ACCOUNT}:role:vendor-monitoring`);
    expect(role).toMatchObject({ status: 'pending', owner: 'UBOB' });
    expect(role?.triggers.slice().sort()).toEqual(['owner-changed', 'scope-changed']);
    const key = await store.getState(keyCredential('etl'));
    expect(key).toMatchObject({ status: 'pending', owner: 'UDANA', notifiedAt: expect.any(String) });
    expect(key?.triggers.slice().sort()).toEqual(['purpose-changed', 'scope-changed']);
    const flags = (await store.history(keyCredential('etl'))).filter((d) => d.action === 'flag');
    expect(flags.map((d) => d.evidence.trigger).sort()).toEqual(['purpose-changed', 'scope-changed']);
    expect(flags.map((d) => d.reason).join(' | ')).toContain('Purpose Changed: moved to billing');
    expect(fake.calls('chat.postMessage').some((c) => c.body.channel === 'UDANA')).toBe(true);
  });

  it('sends malformed events to the dead-letter queue with their reason, never back to the queue', async () => {
    await put(
      {
        EventBusName: 'reauth',
        Source: 'reauth',
        DetailType: 'Owner Departed',
        Detail: JSON.stringify({ schemaVersion: 1, owner: 5 }),
      },
      cloudTrail('iam', 'AttachUserPolicy', 'ct-5', {
        policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );

    expect(await deliver()).toBe(2);
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: invalidQueue,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(Messages.map((m) => m.MessageAttributes?.reason?.StringValue).sort()).toEqual([
      'AttachUserPolicy without requestParameters.userName',
      expect.stringMatching(/^malformed "Owner Departed" detail: owner: /),
    ]);
    expect(await deliver()).toBe(0);
  });
});
