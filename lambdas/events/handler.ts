import { randomUUID } from 'node:crypto';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  createDynamoDBClients,
  createIamClient,
  createSecretsManagerClient,
  createSqsClient,
  createStsClient,
} from '../shared/adapters/aws-clients';
import { createDecisionStore } from '../shared/adapters/decision-store';
import { createEnforcer } from '../shared/adapters/enforcement';
import { slackDeadline, slackFromEnvironment } from '../shared/adapters/slack-settings';
import { policyIdOf } from '../shared/domain/policy';
import { isUntoldDrift } from '../shared/domain/reauthorization';
import { recordedEventIds } from '../shared/domain/trust-change';
import { InvalidEventError, interpretEvent } from '../shared/domain/trust-event';
import { parseEnv } from '../shared/env';
import { EventEnvelopeSchema } from '../shared/events/schemas';
import { publishRunMetrics } from '../shared/metrics';
import { loadPolicyFile } from '../shared/policy-file';
import { escalateToFallback, notifyNewRequests } from '../shared/use-cases/notify-owners';
import { applyTrustChange, inventoryLoader } from '../shared/use-cases/trust-events';
import { EventsEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(EventsEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const clients = {
  iam: createIamClient(),
  secretsManager: createSecretsManagerClient(),
  sts: createStsClient(),
  sqs: createSqsClient(),
};
const store = createDecisionStore(createDynamoDBClients().documents, env.TABLE_NAME);
// It only ever puts a session revocation, in enforce mode and when revokeSessionsOn asks for it.
const enforcer = createEnforcer(clients);
const slack = slackFromEnvironment(clients.secretsManager, env);
const logger = new Logger({ serviceName: 'reauth-events' });
const processor = new BatchProcessor(EventType.SQS);
let caller: { account: string; reauthRoleArns: string[] } | undefined;

/**
 * Trust-change events (CloudTrail via EventBridge, and reauth's own bus) delivered through SQS. Each
 * opens a reauthorization request on the credentials it touches, or records drift on one recorded as
 * disabled that someone turned back on; an invalid event goes to the dead-letter queue with its reason,
 * never retried; any other failure is retried by SQS alone.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const now = new Date();
  caller ??= await whoAmI();
  const { account } = caller;
  const callers = { reauthRoleArns: caller.reauthRoleArns };
  // One inventory for the batch, read only if an event needs it.
  const inventory = inventoryLoader(clients, { accountId: account, policy, now });
  const opened = new Set<string>();
  /** Credential → the events of this batch that touched it: whoever recorded them, owners may be owed a word. */
  const touched = new Map<string, string[]>();

  const handleRecord = async (record: SQSRecord) => {
    let envelope: ReturnType<typeof EventEnvelopeSchema.parse>;
    let interpretation: ReturnType<typeof interpretEvent>;
    try {
      envelope = EventEnvelopeSchema.parse(JSON.parse(record.body));
      interpretation = interpretEvent(envelope, policy, callers);
    } catch (error) {
      await deadLetter(
        record,
        error instanceof InvalidEventError ? error.message : describeParseError(error),
      );
      return;
    }
    if ('ignored' in interpretation) {
      logger.info('event ignored', { eventId: envelope.id, why: interpretation.ignored });
      return;
    }
    const outcome = await applyTrustChange({ ...clients, store, enforcer }, interpretation.change, {
      accountId: account,
      policy,
      now,
      inventory,
      holder: `events:${record.messageId}:${randomUUID()}`,
    });
    for (const id of outcome.recorded) opened.add(id);
    for (const id of outcome.affected)
      touched.set(id, [...(touched.get(id) ?? []), interpretation.change.eventId]);
    logger.info('trust change recorded', {
      eventId: interpretation.change.eventId,
      trigger: interpretation.change.trigger,
      widens: interpretation.change.widens,
      affected: outcome.affected.length,
      recorded: outcome.recorded.length,
    });
  };

  const response = await processPartialResponse(event, handleRecord, processor, { context });
  publishRunMetrics('reauth-events', {
    Events: event.Records.length,
    EventsFailed: response.batchItemFailures.length,
    RequestsOpened: opened.size,
  });

  // Owners hear of what was opened, in one message each, through the same flow as the scan's; the
  // fallback owner hears of drift. A redelivered event records nothing, but what its first delivery
  // opened may still be untold (that run ended before Slack took the message): those are told now.
  const connected = await slack.connect({ deadline: slackDeadline(context, 10_000) });
  if (connected && touched.size > 0) {
    const deps = { store, slack: connected.client };
    const context = { policy, policyId: policyIdOf(policy), now, job: 'events' };
    const ours = async () =>
      [...(await store.getStates([...touched.keys()])).values()].filter(
        (s) =>
          opened.has(s.credentialId) ||
          (touched.get(s.credentialId) ?? []).some((id) => id in recordedEventIds(s)),
      );
    const told = await notifyNewRequests(deps, await ours(), context);
    const drifted = (await ours()).filter(isUntoldDrift);
    const escalated = await escalateToFallback(
      deps,
      drifted,
      'drift',
      'Recorded as disabled, turned back on outside reauth. reauth did not disable them again: each owner is asked to reauthorize, and the change is in the record with who made it.',
      context,
    );
    const failures = [...told.failures, ...escalated.failures];
    if (failures.length > 0) logger.error('some owners could not be told', { failures });
  }
  return response;
}

/**
 * This account, and the roles whose calls are reauth's own: those configured, and this function's own
 * (it puts session revocations), read from its session's ARN (`assumed-role/<name>/<session>`; reauth's
 * roles have no path).
 */
async function whoAmI(): Promise<{ account: string; reauthRoleArns: string[] }> {
  const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  if (!identity.Account) throw new Error('STS GetCallerIdentity returned no account');
  const own = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(identity.Arn ?? '');
  const ownRole = own ? [`arn:${own[1]}:iam::${own[2]}:role/${own[3]}`] : [];
  return { account: identity.Account, reauthRoleArns: [...env.REAUTH_ROLE_ARNS, ...ownRole] };
}

/** An event reauth cannot use goes to the dead-letter queue at once, with why: retrying cannot fix it. */
async function deadLetter(record: SQSRecord, reason: string): Promise<void> {
  logger.warn('invalid event dead-lettered', { messageId: record.messageId, reason });
  await clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: env.INVALID_EVENTS_QUEUE_URL,
      MessageBody: record.body,
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: reason.slice(0, 1000) },
        sourceMessageId: { DataType: 'String', StringValue: record.messageId },
      },
    }),
  );
}

function describeParseError(error: unknown): string {
  if (error instanceof SyntaxError) return 'the message body is not JSON';
  if (error instanceof Error && error.name === 'ZodError')
    return `not an EventBridge event: ${error.message.slice(0, 500)}`;
  return error instanceof Error ? error.message : 'unreadable event';
}
