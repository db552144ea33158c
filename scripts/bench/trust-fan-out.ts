/**
 * What one trust change costs when it reaches 2,000 principals: a managed policy attached to 1,600
 * users directly and to a group of 400 gets a wider default version (CreatePolicyVersion), and the
 * trust-events consumer, the real handler, takes the CloudTrail event from an SQS batch with AWS-like
 * latencies on every call (scripts/bench/aws-latencies.ts) and within its 60 s. Then the same message
 * again, as SQS redelivers: nothing new may be written. Part of `npm run bench`.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
} from '@aws-sdk/client-iam';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { AwsClients } from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { mapWithConcurrency } from '../../lambdas/shared/concurrency';
import { recordedEventIds } from '../../lambdas/shared/domain/trust-change';
import type { EmulatorControl } from '../emulator/emulator';
import { startFaultProxy } from '../emulator/fault-proxy';
import { startLocalStack } from '../local/local-stack';
import { seedAccount } from '../local/seed';
import { sqsRecordOf } from '../local/slack-play';
import { AWS_LATENCY_MS, awsLatencyMs } from './aws-latencies';
import { createCallLedger, type LedgerCall } from './call-ledger';

const ACCOUNT = '123456789012';
/** The consumer's Lambda timeout (lib/trust-events.ts): the fan-out must fit in it. */
const CONSUMER_TIMEOUT_MS = 60_000;
const OWNERS = 40;

export interface FanOutDelivery {
  /** Lambda invocations (batches of up to ten messages: the event, then its parts). */
  invocations: number;
  slowestInvocationS: number;
  /** All invocations one after another (Lambda runs them side by side). */
  totalS: number;
  awsCalls: Record<string, number>;
  dynamodbWriteCalls: number;
  dynamodbItemsWritten: number;
  /** Credentials with a decision about this event (its id is on their state). */
  decisions: number;
  batchItemFailures: number;
}

export interface FanOutBench {
  principals: { users: number; throughGroup: number };
  /** Access keys reached: one per user. */
  credentials: number;
  consumerTimeoutS: number;
  latencies: typeof AWS_LATENCY_MS;
  first: FanOutDelivery & { requestsOpened: number; slackMessages: number };
  redelivery: FanOutDelivery;
}

export async function benchTrustFanOut(input: {
  emulator: EmulatorControl;
  clients: AwsClients;
  table: string;
  users?: number;
  throughGroup?: number;
}): Promise<FanOutBench> {
  const { emulator, clients, table } = input;
  const direct = input.users ?? 1600;
  const grouped = input.throughGroup ?? 400;
  const names = Array.from({ length: direct + grouped }, (_, i) => `svc-${String(i).padStart(4, '0')}`);
  await seedAccount(
    emulator,
    clients,
    {
      users: names.map((name, i) => ({
        name,
        tags: { 'reauth:owner': `U${String(i % OWNERS).padStart(4, '0')}` },
        keys: [{ createdDaysAgo: 30 }],
      })),
      secrets: [],
      roles: [],
    },
    new Date(),
    16,
  );
  const document = (actions: string[]) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
    });
  const { Policy } = await clients.iam.send(
    new CreatePolicyCommand({ PolicyName: 'platform-deploy', PolicyDocument: document(['s3:GetObject']) }),
  );
  const policyArn = Policy?.Arn as string;
  await clients.iam.send(new CreateGroupCommand({ GroupName: 'platform' }));
  await clients.iam.send(new AttachGroupPolicyCommand({ GroupName: 'platform', PolicyArn: policyArn }));
  await mapWithConcurrency(names, 16, async (name, i) => {
    if (i < direct)
      await clients.iam.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: policyArn }));
    else await clients.iam.send(new AddUserToGroupCommand({ UserName: name, GroupName: 'platform' }));
  });
  const wider = document(['s3:GetObject', 's3:PutObject', 'iam:PassRole']);
  const { PolicyVersion } = await clients.iam.send(
    new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: wider, SetAsDefault: true }),
  );

  const local = await startLocalStack(clients, { table, policy: {} });
  const { QueueUrl: trustQueue } = await clients.sqs.send(
    new CreateQueueCommand({ QueueName: 'bench-trust-events' }),
  );
  const ledger = createCallLedger(ACCOUNT);
  const proxy = await startFaultProxy({
    target: emulator.endpoint,
    rate: 0,
    latencyMs: awsLatencyMs,
    observe: (call) => ledger.observe(call),
  });
  const throughProxy = (url: string) => `${proxy.endpoint}${new URL(url).pathname}`;
  const saved = { ...process.env };
  Object.assign(process.env, local.env, {
    AWS_ENDPOINT_URL: proxy.endpoint,
    // The queues as seen through the proxy, so the consumer's sends are counted and take their time.
    INVALID_EVENTS_QUEUE_URL: throughProxy(local.queueUrl),
    TRUST_EVENTS_QUEUE_URL: throughProxy(trustQueue as string),
    REAUTH_ROLE_ARNS: `arn:aws:iam::${ACCOUNT}:role/Reauth-EnforceJobServiceRole`,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  try {
    const { handler } = (await import('../../lambdas/events/handler')) as {
      handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    };
    const eventId = randomUUID();
    const body = JSON.stringify({
      version: '0',
      id: randomUUID(),
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.iam',
      account: ACCOUNT,
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: {
        eventVersion: '1.09',
        userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/admin`, accountId: ACCOUNT },
        eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        eventSource: 'iam.amazonaws.com',
        eventName: 'CreatePolicyVersion',
        requestParameters: { policyArn, policyDocument: wider, setAsDefault: true },
        responseElements: { policyVersion: { versionId: PolicyVersion?.VersionId, isDefaultVersion: true } },
        eventID: eventId,
      },
    });
    const store = createDecisionStore(clients.documents, table);
    /** Delivers the event, then whatever it put back on the queue, ten at a time, as Lambda's SQS integration does. */
    const deliver = async (): Promise<FanOutDelivery> => {
      await clients.sqs.send(new SendMessageCommand({ QueueUrl: trustQueue, MessageBody: body }));
      const invocationsS: number[] = [];
      let batchItemFailures = 0;
      for (;;) {
        const { Messages = [] } = await clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: trustQueue, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        if (Messages.length === 0) break;
        const started = performance.now();
        const deadline = Date.now() + CONSUMER_TIMEOUT_MS;
        const response = await handler({ Records: Messages.map(sqsRecordOf) }, {
          getRemainingTimeInMillis: () => deadline - Date.now(),
        } as Context);
        invocationsS.push((performance.now() - started) / 1000);
        batchItemFailures += response.batchItemFailures.length;
        for (const m of Messages)
          await clients.sqs.send(
            new DeleteMessageCommand({ QueueUrl: trustQueue, ReceiptHandle: m.ReceiptHandle }),
          );
      }
      const calls = ledger.take();
      // Each decision about the event wrote its id into its credential's state, in the same transaction
      // (reading every history back would sort moto's whole table once per credential).
      const states = [...(await store.loadStates(ACCOUNT)).values()];
      return {
        invocations: invocationsS.length,
        slowestInvocationS: round1(Math.max(...invocationsS)),
        totalS: round1(invocationsS.reduce((a, b) => a + b, 0)),
        awsCalls: countCalls(calls),
        dynamodbWriteCalls: calls.filter((c) => c.itemsWritten > 0).length,
        dynamodbItemsWritten: calls.reduce((n, c) => n + c.itemsWritten, 0),
        decisions: states.filter((state) => eventId in recordedEventIds(state)).length,
        batchItemFailures,
      };
    };
    const first = await deliver();
    const states = [...(await store.loadStates(ACCOUNT)).values()];
    const slackMessages = local.slack.calls('chat.postMessage').length;
    const redelivery = await deliver();
    return {
      principals: { users: direct, throughGroup: grouped },
      credentials: names.length,
      latencies: AWS_LATENCY_MS,
      consumerTimeoutS: CONSUMER_TIMEOUT_MS / 1000,
      first: { ...first, requestsOpened: states.filter((s) => s.status === 'pending').length, slackMessages },
      redelivery,
    };
  } finally {
    process.env = saved;
    await proxy.stop();
    await local.slack.close();
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function countCalls(calls: LedgerCall[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { service, operation } of calls)
    counts[`${service} ${operation}`] = (counts[`${service} ${operation}`] ?? 0) + 1;
  return counts;
}

/** The fan-out's figures as the bench prints them. */
export function describeFanOut(bench: FanOutBench): string[] {
  const delivery = (name: string, d: FanOutDelivery) => {
    const aws = Object.entries(d.awsCalls)
      .filter(([call]) => !call.startsWith('dynamodb'))
      .map(([call, n]) => `${call} ${n}`)
      .join(', ');
    return [
      `  ${name}: ${d.invocations} invocations, slowest ${d.slowestInvocationS} s, ${d.totalS} s one after another; ${d.decisions} decisions about the event`,
      `    DynamoDB: ${d.dynamodbWriteCalls} write calls, ${d.dynamodbItemsWritten} items; other AWS calls: ${aws}`,
    ];
  };
  return [
    `Trust change fan-out: a managed policy on ${bench.principals.users} users and a group of ${bench.principals.throughGroup} gets a wider default version`,
    `  (AWS-like latencies per call: ${Object.entries(bench.latencies)
      .map(([call, ms]) => `${call} ${ms} ms`)
      .join(', ')})`,
    ...delivery('first delivery', bench.first),
    `    requests opened ${bench.first.requestsOpened}, Slack messages ${bench.first.slackMessages}`,
    ...delivery('redelivered', bench.redelivery),
  ];
}

// Alone: npx tsx scripts/bench/trust-fan-out.ts [users] [through-group]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { createAwsClients } = await import('../../lambdas/shared/adapters/aws-clients');
  const { emulatorEnv, startEmulator } = await import('../emulator/emulator');
  const emulator = await startEmulator();
  try {
    Object.assign(process.env, emulatorEnv(emulator.endpoint));
    const [users, throughGroup] = process.argv.slice(2).map(Number);
    const bench = await benchTrustFanOut({
      emulator,
      clients: createAwsClients(),
      table: 'reauth-bench-fan-out',
      ...(users !== undefined && { users }),
      ...(throughGroup !== undefined && { throughGroup }),
    });
    for (const line of describeFanOut(bench)) console.log(line);
  } finally {
    await emulator.stop();
  }
}
