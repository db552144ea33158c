import {
  CreateEventBusCommand,
  type EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { EventPattern } from 'aws-cdk-lib/aws-events';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { AwsClients } from '../../lambdas/shared/adapters/aws-clients';
import {
  CUSTOM_EVENTS_PATTERN,
  IAM_CHANGES_PATTERN,
  SECRET_CHANGES_PATTERN,
  TRUST_EVENTS_BUS_NAME,
} from '../../lib/trust-events';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { drainQueue } from '../../scripts/local/slack-play';
import { coldStart } from './lambda';

/** A CDK event pattern as EventBridge reads it (`detailType` is `detail-type` on the wire). */
export function eventBridgePattern(pattern: EventPattern): string {
  const { detailType, ...rest } = pattern;
  return JSON.stringify({ ...rest, ...(detailType && { 'detail-type': detailType }) });
}

/**
 * The rules the stack deploys (the same pattern objects), on the emulator's EventBridge, delivering to
 * a new SQS queue as in AWS: IAM's and Secrets Manager's CloudTrail events on the default bus, reauth's
 * own events on its bus. Returns the queue's URL.
 */
export async function routeTrustEvents(
  clients: { events: EventBridgeClient; sqs: SQSClient },
  queueName: string,
): Promise<string> {
  const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  const { Attributes } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  await clients.events.send(new CreateEventBusCommand({ Name: TRUST_EVENTS_BUS_NAME }));
  const rules = [
    { Name: `${queueName}-iam`, pattern: IAM_CHANGES_PATTERN },
    { Name: `${queueName}-secrets`, pattern: SECRET_CHANGES_PATTERN },
    { Name: `${queueName}-custom`, EventBusName: TRUST_EVENTS_BUS_NAME, pattern: CUSTOM_EVENTS_PATTERN },
  ];
  for (const { pattern, ...rule } of rules) {
    await clients.events.send(new PutRuleCommand({ ...rule, EventPattern: eventBridgePattern(pattern) }));
    await clients.events.send(
      new PutTargetsCommand({
        Rule: rule.Name,
        EventBusName: rule.EventBusName,
        Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }],
      }),
    );
  }
  return QueueUrl as string;
}

/** A CloudTrail record as EventBridge carries it ("AWS API Call via CloudTrail"), from its `eventSource`. */
export function cloudTrailEntry(record: { eventSource: string; [field: string]: unknown }) {
  return {
    Source: `aws.${record.eventSource.replace('.amazonaws.com', '')}`,
    DetailType: 'AWS API Call via CloudTrail',
    Detail: JSON.stringify(record),
  };
}

/** Puts the entries on the emulator's EventBridge; throws when any is refused. */
export async function putEvents(
  events: EventBridgeClient,
  ...entries: { Source: string; DetailType: string; Detail: string; EventBusName?: string }[]
): Promise<void> {
  const { FailedEntryCount } = await events.send(new PutEventsCommand({ Entries: entries }));
  if (FailedEntryCount)
    throw new Error(`EventBridge refused ${FailedEntryCount} of ${entries.length} events`);
}

/** The trust-events consumer, cold-started against the emulator behind the stack's own rules. */
export interface TrustEventConsumer {
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  /** The queue the rules deliver to (and the consumer sends a split change's parts to). */
  queue: string;
  /** Where invalid events go. */
  invalidQueue: string;
  slack: FakeSlack;
  /** Delivers whatever is queued, as Lambda's SQS integration does, until the queue is empty; returns how many. */
  deliver(): Promise<number>;
}

/**
 * A decision table, the fake Slack, the rules and their queue, and the consumer cold-started with the
 * environment the stack gives it. `reauthRoleArns`: the roles whose calls are reauth's own.
 */
export async function startTrustEventConsumer(
  clients: Pick<AwsClients, 'dynamodb' | 'secretsManager' | 'sqs' | 'events'>,
  options: { table: string; name: string; reauthRoleArns?: readonly string[] },
): Promise<TrustEventConsumer> {
  const local = await startLocalStack(clients, { table: options.table, policy: {} });
  const queue = await routeTrustEvents(clients, options.name);
  const { QueueUrl: invalidQueue } = await clients.sqs.send(
    new CreateQueueCommand({ QueueName: `${options.name}-invalid` }),
  );
  const handler = await coldStart<TrustEventConsumer['handler']>('../../lambdas/events/handler', {
    ...local.env,
    INVALID_EVENTS_QUEUE_URL: invalidQueue as string,
    TRUST_EVENTS_QUEUE_URL: queue,
    REAUTH_ROLE_ARNS: (
      options.reauthRoleArns ?? ['arn:aws:iam::123456789012:role/Reauth-EnforceJobEnforceServiceRole0C9D8E7F']
    ).join(','),
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
  return {
    handler,
    queue,
    invalidQueue: invalidQueue as string,
    slack: local.slack,
    deliver: () => drainQueue(clients.sqs, queue, (event) => handler(event, {} as Context)),
  };
}
