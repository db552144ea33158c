import { Duration, Fn, Stack } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type EventPattern, type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { AccountPrincipal, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EventsEnvSchema } from '../lambdas/events/env';
import { IAM_EVENTS_REGION } from '../lambdas/shared/domain/creators';
import type { PolicyConfig } from '../lambdas/shared/domain/policy';
import { IAM_CHANGE_EVENTS, SECRET_CHANGE_EVENTS } from '../lambdas/shared/domain/trust-event';
import { REAUTH_EVENT_SOURCE, REAUTH_EVENTS } from '../lambdas/shared/events/schemas';
import { alarmOnCount, alarmOnQueued } from './alarms';
import { eventsGrants, grantCredentialAccess } from './credential-permissions';
import { bindQueueSend, bindSecretRead, bindTable, type EnvBinding, ReauthFunction } from './reauth-function';

/** reauth's own event bus: HR and ITSM systems PutEvents here. */
export const TRUST_EVENTS_BUS_NAME = 'reauth';

export { IAM_EVENTS_REGION } from '../lambdas/shared/domain/creators';

/** Custom events HR and ITSM systems send to the reauth bus, with source `reauth`. */
export const CUSTOM_EVENTS_PATTERN = {
  source: [REAUTH_EVENT_SOURCE],
  detailType: Object.keys(REAUTH_EVENTS),
} satisfies EventPattern;

/**
 * Secrets Manager calls that change who can read a secret, what it is, or who owns it; a policy change
 * may also take reauth's deny off a secret it disabled. And CreateSecret, for its creator. Not filtered by caller: see IAM_CHANGES_PATTERN.
 */
export const SECRET_CHANGES_PATTERN: EventPattern = {
  source: ['aws.secretsmanager'],
  detailType: ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['secretsmanager.amazonaws.com'],
    eventName: [...SECRET_CHANGE_EVENTS],
  },
};

/**
 * IAM calls that change what a user, a group's members or a role may do (policies, groups, managed
 * policy versions, permissions boundaries), a role's trust or an owner tag, or turn back on a key or
 * role reauth disabled (UpdateAccessKey, DeleteRolePolicy), and the creations whose caller becomes a
 * creator hint (CreateUser, CreateAccessKey, CreateRole, CreateLoginProfile): the consumer's
 * `IAM_CHANGE_EVENTS`, so the rules and the consumer cannot disagree. Only writes: no read-only call matches.
 *
 * reauth's own calls are not filtered out here, by name or by caller. A name proves nothing (anyone can
 * call a policy `reauth-disabled`), and a caller filter (`anything-but` on
 * `userIdentity.sessionContext.sessionIssuer.arn`) would drop every call that has no session issuer,
 * such as an IAM user's, unless paired with an `exists: false` branch, and would need the function
 * roles' ARNs in the us-east-1 forwarder's pattern too; it would also hide a call by reauth's role that
 * is not exactly what reauth writes. reauth's own calls are few (a disable or a restore), so the
 * consumer decides, from the caller and the exact document together.
 */
export const IAM_CHANGES_PATTERN: EventPattern = {
  source: ['aws.iam'],
  detailType: ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['iam.amazonaws.com'],
    eventName: [...IAM_CHANGE_EVENTS],
  },
};

const CONSUMER_TIMEOUT = Duration.seconds(60);

/** Properties of {@link TrustEvents}. */
export interface TrustEventsProps {
  /** The decision table: the consumer opens reauthorization requests in it. */
  readonly table: TableV2;
  /** The validated policy, shipped in the bundle as `policy.json` (`bundleFile` or `bundleText`). */
  readonly policyFile: EnvBinding;
  /** The same policy, parsed: its mode and `enforcement.revokeSessionsOn` decide the consumer's grants. */
  readonly policy: PolicyConfig;
  /**
   * The bus's name, unique in the account and region; a forwarder stack sends IAM's events to it by name.
   * @default 'reauth'
   */
  readonly busName?: string;
  /** Slack's bot token, to tell owners. */
  readonly slackSecret: ISecret;
  /**
   * The roles of reauth's functions that change IAM and Secrets Manager (the enforce job's and the
   * Slack worker's): a CloudTrail change is reauth's own only when one of them made it (and it is
   * exactly what reauth writes).
   */
  readonly reauthRoles: readonly IRole[];
  /** Receives the consumer and invalid-event alarms. */
  readonly alarmTopic: ITopic;
  /**
   * The region the stack is deployed to. In us-east-1 the IAM rule listens on the default bus;
   * anywhere else it listens on the reauth bus, to which a forwarder stack in us-east-1 sends IAM's
   * CloudTrail events (see `IamEventForwarderStack`).
   * @default 'us-east-1'
   */
  readonly homeRegion?: string;
  /**
   * Other AWS accounts (HR, ITSM) that may put reauth's own events on the bus: only `source: reauth`
   * and its four detail-types. The stack's own account needs only `events:PutEvents` in IAM.
   * @default none
   */
  readonly publisherAccounts?: readonly string[];
}

/**
 * Event-driven reauthorization: a scope, owner or purpose change reopens trust. Three EventBridge
 * rules (custom HR/ITSM events on reauth's own bus; Secrets Manager and IAM CloudTrail events) feed
 * an encrypted, SSL-only queue drained by a consumer that only reads IAM and Secrets Manager. An
 * event that fails validation goes straight to the InvalidTrustEvents queue with its reason; one that
 * fails processing three times lands there too. Both, and any consumer error, alarm.
 */
export class TrustEvents extends Construct {
  readonly bus: EventBus;
  readonly queue: Queue;
  readonly invalidEventsQueue: Queue;
  readonly consumer: ReauthFunction<typeof EventsEnvSchema>;
  readonly customEventsRule: Rule;
  readonly secretChangesRule: Rule;
  readonly iamChangesRule: Rule;
  private readonly toQueue: SqsQueue;
  private readonly iamOnDefaultBus: boolean;
  private readonly publisherAccounts: readonly string[];

  constructor(scope: Construct, id: string, props: TrustEventsProps) {
    super(scope, id);
    const homeRegion = props.homeRegion ?? IAM_EVENTS_REGION;
    this.publisherAccounts = props.publisherAccounts ?? [];

    this.bus = new EventBus(this, 'Bus', {
      eventBusName: props.busName ?? TRUST_EVENTS_BUS_NAME,
      description:
        'reauth: owner, purpose and scope changes from HR and ITSM systems, and forwarded IAM events',
    });

    for (const account of this.publisherAccounts) {
      this.bus.addToResourcePolicy(
        new PolicyStatement({
          sid: `ReauthEventsFrom${account}`,
          principals: [new AccountPrincipal(account)],
          actions: ['events:PutEvents'],
          resources: [this.bus.eventBusArn],
          // Every entry of a PutEvents call must be one of reauth's own events.
          conditions: {
            'ForAllValues:StringEquals': {
              'events:source': CUSTOM_EVENTS_PATTERN.source,
              'events:detail-type': CUSTOM_EVENTS_PATTERN.detailType,
            },
          },
        }),
      );
    }

    this.invalidEventsQueue = new Queue(this, 'InvalidTrustEvents', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'TrustEventQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's guidance for SQS event sources: at least six times the function's timeout.
      visibilityTimeout: Duration.seconds(CONSUMER_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.invalidEventsQueue, maxReceiveCount: 3 },
    });

    this.consumer = new ReauthFunction(this, 'Consumer', {
      entry: 'lambdas/events/handler.ts',
      description:
        'reauth events: turns owner, purpose and scope changes (HR/ITSM, IAM and Secrets Manager CloudTrail events) into reauthorization requests and records drift; reads IAM and Secrets Manager, and may only end sessions as a request opens (revokeSessionsOn)',
      timeout: CONSUMER_TIMEOUT,
      memorySize: 512,
      environmentSchema: EventsEnvSchema,
      environment: {
        TABLE_NAME: bindTable(props.table, 'write'),
        POLICY_FILE: props.policyFile,
        SLACK_SECRET_ARN: bindSecretRead(props.slackSecret),
        INVALID_EVENTS_QUEUE_URL: bindQueueSend(this.invalidEventsQueue),
        // A change that reaches many principals comes back to the consumer in parts.
        TRUST_EVENTS_QUEUE_URL: bindQueueSend(this.queue),
        REAUTH_ROLE_ARNS: Fn.join(
          ',',
          props.reauthRoles.map((role) => role.roleArn),
        ),
      },
    });
    grantCredentialAccess(this.consumer.role, eventsGrants(props.policy));
    this.consumer.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );

    // Each rule may send to the queue, and nothing else may: the target adds an aws:SourceArn condition.
    const toQueue = new SqsQueue(this.queue);
    this.toQueue = toQueue;
    this.customEventsRule = new Rule(this, 'CustomEventsRule', {
      description: 'reauth: owner departed, owner role, purpose or provider scope changed (HR/ITSM events)',
      eventBus: this.bus,
      eventPattern: CUSTOM_EVENTS_PATTERN,
      targets: [toQueue],
    });
    this.secretChangesRule = new Rule(this, 'SecretChangesRule', {
      description: "reauth: a secret's resource policy, value or tags changed (CloudTrail)",
      eventPattern: SECRET_CHANGES_PATTERN,
      targets: [toQueue],
    });
    const iamBus: IEventBus | undefined = homeRegion === IAM_EVENTS_REGION ? undefined : this.bus;
    this.iamOnDefaultBus = iamBus === undefined;
    this.iamChangesRule = new Rule(this, 'IamChangesRule', {
      description: `reauth: an IAM user's or role's policies, groups, trust, tags or access keys changed (CloudTrail${iamBus ? `, forwarded from ${IAM_EVENTS_REGION}` : ''})`,
      eventBus: iamBus,
      eventPattern: IAM_CHANGES_PATTERN,
      targets: [toQueue],
    });

    alarmOnCount(this, 'ConsumerErrorsAlarm', {
      description:
        'The reauth events consumer failed: a trust change may not have reopened a reauthorization yet (its events are retried, then kept in InvalidTrustEvents).',
      metric: this.consumer.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      topic: props.alarmTopic,
    });
    alarmOnQueued(this, 'InvalidTrustEventsAlarm', {
      description:
        'An event failed validation or processing: see InvalidTrustEvents, each message carries its reason (a message attribute set by the consumer; a message without one failed processing three times).',
      queue: this.invalidEventsQueue,
      topic: props.alarmTopic,
    });
  }

  /**
   * Member accounts of an organization forward their IAM and Secrets Manager CloudTrail events to the
   * bus (see `MemberStack`): rules on the bus send them to the consumer, beside the account's own.
   */
  acceptMemberEvents(): void {
    // Members may put only their forwarded CloudTrail events on the bus (its policy): reauth's own
    // events count only from this account and the configured publishers.
    this.customEventsRule.addEventPattern({
      account: [Stack.of(this).account, ...this.publisherAccounts],
    });
    new Rule(this, 'MemberSecretChangesRule', {
      description:
        "reauth: a member account's secret resource policy, value or tags changed (CloudTrail, forwarded)",
      eventBus: this.bus,
      eventPattern: SECRET_CHANGES_PATTERN,
      targets: [this.toQueue],
    });
    // Outside us-east-1 the IAM rule already listens on the bus, where the forwarder sends IAM's events.
    if (this.iamOnDefaultBus) {
      new Rule(this, 'MemberIamChangesRule', {
        description:
          "reauth: a member account's IAM user or role policies, groups, trust, tags or access keys changed (CloudTrail, forwarded)",
        eventBus: this.bus,
        eventPattern: IAM_CHANGES_PATTERN,
        targets: [this.toQueue],
      });
    }
  }
}
