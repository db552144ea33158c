import { randomUUID } from 'node:crypto';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  createDynamoDBClients,
  createIamClient,
  createLambdaClient,
  createOrganizationsClient,
  createSecretsManagerClient,
  createSqsClient,
  createStsClient,
} from '../shared/adapters/aws-clients';
import { createDecisionStore } from '../shared/adapters/decision-store';
import { createEnforcer } from '../shared/adapters/enforcement';
import { createGrantReader } from '../shared/adapters/iam-grants';
import { assumeMemberRole, memberEnforcer } from '../shared/adapters/member-account';
import { cachedOrganization } from '../shared/adapters/organization';
import { reauthPoliciesThrough } from '../shared/adapters/session-policies';
import { slackDeadline, slackFromEnvironment } from '../shared/adapters/slack-settings';
import { isCreationEvent } from '../shared/domain/creators';
import { policyForAccount, sessionsRoleName, type TargetAccount } from '../shared/domain/organization';
import { type PolicyConfig, policyIdOf } from '../shared/domain/policy';
import { isUntoldDrift } from '../shared/domain/reauthorization';
import { recordedEventIds } from '../shared/domain/trust-change';
import {
  type FanOutPart,
  FanOutPartSchema,
  InvalidEventError,
  interpretEvent,
  type TrustChange,
} from '../shared/domain/trust-event';
import { parseEnv } from '../shared/env';
import { CLOUDTRAIL_DETAIL_TYPE, EventEnvelopeSchema, REAUTH_EVENT_SOURCE } from '../shared/events/schemas';
import { publishRunMetrics } from '../shared/metrics';
import { loadPolicyFile, requireOrganization } from '../shared/policy-file';
import { rememberCreation } from '../shared/use-cases/creator-hints';
import { escalateToFallback, notifyNewRequests } from '../shared/use-cases/notify-owners';
import { SLACK_SETUP_MESSAGE, slackSetupProblems } from '../shared/use-cases/slack-setup';
import {
  applyTrustChange,
  type InventoryLoader,
  inventoryLoader,
  type TrustEventDependencies,
} from '../shared/use-cases/trust-events';
import { EventsEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(EventsEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const organization = env.ORG_MODE ? requireOrganization(policy) : undefined;
const organizationAccounts = organization
  ? cachedOrganization(createOrganizationsClient(), organization)
  : undefined;
const clients = {
  iam: createIamClient(),
  secretsManager: createSecretsManagerClient(),
  sts: createStsClient(),
  sqs: createSqsClient(),
};
const store = createDecisionStore(createDynamoDBClients().documents, env.TABLE_NAME);
const lambda = createLambdaClient();
// It only ever attaches a session revocation, in enforce mode and when revokeSessionsOn asks for it.
const policiesIn = (accountId: string, member = false) =>
  reauthPoliciesThrough(lambda, env, accountId, member);
const slack = slackFromEnvironment(clients.secretsManager, env);
const logger = new Logger({ serviceName: 'reauth-events' });
const processor = new BatchProcessor(EventType.SQS);
let caller: { account: string; reauthRoleArns: string[] } | undefined;
/** Where an event's change is applied: the account, its policy, its clients and its inventory. */
interface AccountScope {
  accountId: string;
  policy: PolicyConfig;
  inventory: InventoryLoader;
  deps: Omit<TrustEventDependencies, 'store'>;
  callers: { reauthRoleArns: string[] };
}

/**
 * Trust-change events (CloudTrail via EventBridge, and reauth's own bus) delivered through SQS. Each
 * opens a reauthorization request on the credentials it touches, or records drift on one recorded as
 * disabled that someone turned back on; an invalid event goes to the dead-letter queue with its reason,
 * never retried; any other failure is retried by SQS alone.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const now = new Date();
  caller ??= await whoAmI();
  const hub = caller.account;
  const hubCallers = caller.reauthRoleArns;
  const scopes = new Map<string, Promise<AccountScope>>();
  /**
   * The hub's own account (and reauth's own events) as in single-account mode; in org mode, a member
   * account through its reader role, under its policy. One scope per account per batch.
   */
  const scopeOf = (account: string, target?: TargetAccount): Promise<AccountScope> => {
    let scope = scopes.get(account);
    if (!scope) {
      scope = (async () => {
        const scoped = target ? policyForAccount(policy, target) : policy;
        const zone = organizationAccounts ? (await organizationAccounts(now)).zone : undefined;
        if (!target) {
          return {
            accountId: account,
            policy: scoped,
            deps: {
              ...clients,
              enforcer: createEnforcer(clients, { policies: policiesIn(account) }),
              grants: createGrantReader(clients.iam),
            },
            inventory: inventoryLoader(clients, { accountId: account, policy: scoped, now, zone }),
            callers: { reauthRoleArns: hubCallers },
          };
        }
        const session = {
          accountId: account,
          job: 'events',
          runId: now.toISOString().replace(/[-:]|\.\d+/g, ''),
        };
        const reader = await assumeMemberRole(clients.sts, {
          ...session,
          roleName: organization?.readerRoleName ?? '',
        });
        // Only a session revocation (enforce mode) writes, and only the enforcer role may: assumed then.
        const enforcerRole = organization?.enforcerRoleName ?? '';
        const memberWriter = memberEnforcer(
          clients.sts,
          { ...session, roleName: enforcerRole },
          policiesIn(account, true),
        );
        return {
          accountId: account,
          policy: scoped,
          deps: { ...reader, enforcer: memberWriter, grants: createGrantReader(reader.iam) },
          inventory: inventoryLoader(reader, { accountId: account, policy: scoped, now, zone }),
          // reauth's own changes in a member account are made by its enforcer role there.
          callers: {
            reauthRoleArns: [
              ...hubCallers,
              `arn:aws:iam::${account}:role/${enforcerRole}`,
              `arn:aws:iam::${account}:role/${sessionsRoleName(enforcerRole)}`,
            ],
          },
        };
      })();
      scopes.set(account, scope);
    }
    return scope;
  };
  const opened = new Set<string>();
  /** Credential → the events of this batch that touched it: whoever recorded them, owners may be owed a word. */
  const touched = new Map<string, string[]>();

  /**
   * Records a change in its account's scope; one too large for a delivery goes back to the queue in
   * parts. `tell`: its owners hear of it now. A part's are not told here: each part would send an owner
   * one more message; the next hourly enforce run tells them all, one message per owner.
   */
  const apply = async (record: SQSRecord, scope: AccountScope, change: TrustChange, tell = true) => {
    const outcome = await applyTrustChange({ ...scope.deps, store }, change, {
      accountId: scope.accountId,
      policy: scope.policy,
      now,
      inventory: scope.inventory,
      holder: `events:${record.messageId}:${randomUUID()}`,
      split: (parts) => sendParts(scope.accountId, parts),
    });
    for (const id of outcome.recorded) opened.add(id);
    if (tell)
      for (const id of outcome.affected) touched.set(id, [...(touched.get(id) ?? []), change.eventId]);
    logger.info('trust change recorded', {
      eventId: outcome.change.eventId,
      trigger: outcome.change.trigger,
      widens: outcome.change.widens,
      affected: outcome.affected.length,
      recorded: outcome.recorded.length,
      ...(outcome.parts && { parts: outcome.parts }),
    });
  };

  /** The account a member's event or part acts in, or why it is not acted on (`deadLetter`/`ignore`). */
  const scopeFor = async (
    account: string,
  ): Promise<AccountScope | { deadLetter: string } | { ignore: string }> => {
    if (!organizationAccounts || account === hub) return scopeOf(hub);
    // A failure to list or to assume the role is retried by SQS (and then dead-lettered by it).
    const listed = await organizationAccounts(now);
    if (!listed.all.has(account))
      return {
        deadLetter: `account ${account} is not in the organization: reauth acts only for its accounts`,
      };
    const target = listed.targets.get(account);
    if (!target) return { ignore: `account ${account} is not a target` };
    return scopeOf(account, target);
  };

  const handleRecord = async (record: SQSRecord) => {
    let envelope: ReturnType<typeof EventEnvelopeSchema.parse> | undefined;
    let part: FanOutPart | undefined;
    try {
      const body: unknown = JSON.parse(record.body);
      // A part of a change this consumer split, or an event from EventBridge.
      const parsedPart = FanOutPartSchema.safeParse(body);
      if (parsedPart.success) part = parsedPart.data.reauthFanOutPart;
      else envelope = EventEnvelopeSchema.parse(body);
    } catch (error) {
      await deadLetter(record, describeParseError(error));
      return;
    }
    if (part) return handlePart(record, part);
    if (!envelope) return;
    // Org mode: a member's event is applied in that account; the hub's own as today. reauth's own
    // events (owner departed, scope changed) are the hub's whichever account put them: only the hub and
    // its configured publishers may (the bus policy and the custom-events rule).
    const account = envelope.source === REAUTH_EVENT_SOURCE ? hub : (envelope.account ?? hub);
    const scope = await scopeFor(account);
    if ('deadLetter' in scope) return deadLetter(record, scope.deadLetter);
    if ('ignore' in scope) {
      logger.info('event ignored', { eventId: envelope.id, why: scope.ignore });
      return;
    }
    // A creation (CreateUser, CreateAccessKey, …) changes no trust: it only says who created what.
    if (
      envelope['detail-type'] === CLOUDTRAIL_DETAIL_TYPE &&
      isCreationEvent((envelope.detail as { eventName?: unknown } | null)?.eventName)
    ) {
      const outcome = await rememberCreation(store, envelope.detail, {
        accountId: scope.accountId,
        ...(scope.policy.owners && { owners: scope.policy.owners }),
      });
      logger.info('creation read', {
        eventId: envelope.id,
        ...('remembered' in outcome
          ? { subject: outcome.remembered.subject, owner: outcome.remembered.owner }
          : { why: outcome.none }),
      });
      return;
    }
    let interpretation: ReturnType<typeof interpretEvent>;
    try {
      interpretation = interpretEvent(envelope, scope.policy, scope.callers);
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
    await apply(record, scope, interpretation.change);
  };

  /** A part of a change this consumer split: recorded in its account, as the whole would have been. */
  const handlePart = async (record: SQSRecord, part: FanOutPart) => {
    const scope = await scopeFor(part.account);
    if ('deadLetter' in scope) return deadLetter(record, scope.deadLetter);
    if ('ignore' in scope) return;
    await apply(record, scope, part.change, false);
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
  let slackSetup = 0;
  const connected = await slack.connect({ deadline: slackDeadline(context, 10_000) });
  if (connected && touched.size > 0) {
    const deps = { store, slack: connected.client };
    // Each credential is told what its own account's deadline does: the scopes of this batch know it.
    const modes = new Map<string, PolicyConfig['mode']>();
    for (const scope of scopes.values()) {
      const { accountId, policy: scoped } = await scope;
      modes.set(accountId, scoped.mode);
    }
    const context = {
      policy,
      policyId: policyIdOf(policy),
      now,
      job: 'events',
      modeOf: (accountId: string) => modes.get(accountId) ?? policy.mode,
    };
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
    slackSetup = slackSetupProblems(failures).length;
    // Once a batch, however many owners it failed to reach there: the metric alarms, the line says how to fix it.
    if (slackSetup > 0) logger.error(SLACK_SETUP_MESSAGE, { problems: slackSetupProblems(failures) });
  }
  if (slackSetup > 0) publishRunMetrics('reauth-events', { SlackSetupProblems: slackSetup });
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

/**
 * The parts of a change, each a message on the consumer's own queue, ten to a call. A failure throws:
 * the event is retried whole, and parts already sent record nothing twice (each credential's state
 * remembers the event).
 */
async function sendParts(account: string, parts: TrustChange[]): Promise<void> {
  const messages = parts.map((change, index) =>
    JSON.stringify({ reauthFanOutPart: { account, part: index + 1, of: parts.length, change } }),
  );
  for (let start = 0; start < messages.length; start += 10) {
    const batch = messages.slice(start, start + 10);
    const { Failed = [] } = await clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: env.TRUST_EVENTS_QUEUE_URL,
        Entries: batch.map((body, index) => ({ Id: String(start + index), MessageBody: body })),
      }),
    );
    if (Failed.length > 0)
      throw new Error(
        `${Failed.length} parts of a trust change could not be queued: ${Failed[0]?.Message ?? ''}`,
      );
  }
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
