import { Aws, Duration, Fn, RemovalPolicy, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import { Alarm, MathExpression, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { ContextAttribute, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { EnforceEnvSchema } from '../lambdas/enforce/env';
import { ExportEnvSchema } from '../lambdas/export/env';
import { ScanEnvSchema } from '../lambdas/scan/env';
import { REAUTH_SLACK_SECRET_PATH } from '../lambdas/shared/domain/evaluate';
import { sessionsRoleName } from '../lambdas/shared/domain/organization';
import {
  canonicalJson,
  type PolicyConfig,
  type PolicyConfigInput,
  parsePolicyConfig,
  policyIdOf,
} from '../lambdas/shared/domain/policy';
import type { MetricsService, RunMetric } from '../lambdas/shared/metric-names';
import { loadPolicyFile } from '../lambdas/shared/policy-file';
import { alarmOnCount } from './alarms';
import { CheckpointKey } from './checkpoint-key';
import { enforceGrants, eventsRevokeSessions, keepOffOwnRoles, scanGrants } from './credential-permissions';
import { DecisionTable } from './decision-table';
import { bindExportRecords, bindTableExport, EvidenceBucket } from './evidence-bucket';
import { Organization } from './organization';
import { ReauthDashboard } from './reauth-dashboard';
import { bindSecretRead, bindTable, bundleFile, bundleText, type EnvBinding } from './reauth-function';
import { ScheduledJob } from './scheduled-job';
import { roleDisablePolicy, SessionPolicies } from './session-policies';
import { SlackEndpoint } from './slack-endpoint';
import { IAM_EVENTS_REGION, TrustEvents } from './trust-events';

/** Tag on every resource reauth creates (IAM roles aside): its value is `reauth`. */
export const MANAGED_BY_TAG = 'reauth:managed-by';
/** Tag on every resource reauth creates (IAM roles aside): the id of the policy it runs (`PolicyId`). */
export const POLICY_ID_TAG = 'reauth:policy-id';

/** The scan function's memory: see where ScanJob sets it (`npm run bench` sizes V8 from it as Lambda does). */
export const SCAN_MEMORY_MB = 512;
/** The scan function's MALLOC_ARENA_MAX: see where ScanJob sets it (`npm run bench` runs the handler with it). */
export const SCAN_MALLOC_ARENAS = 2;

const NAME_PREFIX = /^[A-Za-z][A-Za-z0-9-]{0,31}$/;

/** Properties of the {@link Reauth} construct. */
export interface ReauthProps {
  /**
   * The policy: the path of a policy file (`reauth.config.json`, shipped to the functions as is), or the
   * policy itself as that file would hold it. Either is validated here: a bad one throws a
   * `PolicyConfigError` naming each bad field.
   * @default `{}`: every default, report mode
   */
  readonly policy?: string | PolicyConfigInput;
  /**
   * Starts the physical names reauth gives (its event bus, dashboard and Slack secret), so that two
   * copies with different prefixes fit in one account and region. Letters, digits and hyphens, at most 32.
   * @default 'reauth'
   */
  readonly namePrefix?: string;
  /**
   * Receives every reauth alarm. Its policy (and its key's, if encrypted) must let
   * `cloudwatch.amazonaws.com` publish.
   * @default a new KMS-encrypted, SSL-only topic that CloudWatch may publish to
   */
  readonly alarmTopic?: ITopic;
  /**
   * Slack's signing secret and bot token, JSON `{"signingSecret": "...", "botToken": "xoxb-..."}`, for
   * example one a previous deployment retained: `Secret.fromSecretNameV2(this, 'Slack', 'reauth/slack')`.
   * reauth protects a secret under `reauth/slack` from its own findings; name an imported one so, or
   * list it in the policy's `protectedPrincipals`.
   * @default a new secret `reauth/slack/<namePrefix>-<id>` with a placeholder value, retained on delete
   */
  readonly slackSecret?: ISecret;
  /**
   * The region the construct is deployed to. IAM's CloudTrail events reach EventBridge only in
   * us-east-1: elsewhere the IAM rule listens on reauth's bus, which an `IamEventForwarderStack` in
   * us-east-1 must feed.
   * @default the stack's region, else (an environment-agnostic stack) 'us-east-1'
   */
  readonly homeRegion?: string;
  /** Other accounts (HR, ITSM) allowed to put reauth's own events on its bus. @default none */
  readonly eventPublisherAccounts?: readonly string[];
  /**
   * The AWS Organization's id (`o-…`), needed when the policy has an `organization` section: member
   * roles trust, and the bus accepts events from, only its principals.
   * @default none
   */
  readonly organizationId?: string;
  /**
   * The organization's root id (`r-…`): where the member StackSet deploys when the policy's
   * `organization.include` names no OU, or names accounts.
   * @default none
   */
  readonly organizationRootId?: string;
}

/**
 * reauth in one account, to compose into any stack: the decision table, the daily scan, the hourly
 * enforce job (which changes IAM and Secrets Manager only in enforce mode, behind its safety rails),
 * the Slack secret, Slack's interactivity endpoint with its action worker, the trust-events bus, rules
 * and consumer, the compliance exports, the dashboard and the alarms. Every resource but the IAM roles
 * carries the tags `reauth:managed-by` and `reauth:policy-id` (a role tagged `reauth:*` opts into
 * reauth's own findings).
 */
export class Reauth extends Construct {
  /** The validated policy, defaults filled in. */
  readonly policy: PolicyConfig;
  /** Recorded as `policyId` on every decision made under this policy. */
  readonly policyId: string;
  readonly namePrefix: string;
  readonly homeRegion: string;
  /** Every reauth alarm publishes here; subscribe the security team to it. */
  readonly alarmTopic: ITopic;
  readonly table: DecisionTable;
  /** Slack's signing secret and bot token, put here by the operator after deploy. */
  readonly slackSecret: ISecret;
  readonly scanJob: ScheduledJob<typeof ScanEnvSchema>;
  readonly enforceJob: ScheduledJob<typeof EnforceEnvSchema>;
  readonly slackEndpoint: SlackEndpoint;
  readonly trustEvents: TrustEvents;
  /** The session policy writer, in enforce mode (any account's). */
  readonly sessionPolicies?: SessionPolicies;
  /** The compliance exports of the decision table. */
  readonly evidence: EvidenceBucket;
  /** Signs the scans' population records; `reauth verify --key-id` checks them with its public key. */
  readonly checkpointKey: CheckpointKey;
  readonly exportJob: ScheduledJob<typeof ExportEnvSchema>;
  readonly dashboard: ReauthDashboard;
  /** With the policy's `organization` section: the fan-out across member accounts and their roles. */
  readonly organization?: Organization;

  constructor(scope: Construct, id: string, props: ReauthProps = {}) {
    super(scope, id);
    this.namePrefix = props.namePrefix ?? 'reauth';
    if (!NAME_PREFIX.test(this.namePrefix)) {
      throw new Error(
        `namePrefix: "${this.namePrefix}" must start with a letter and hold only letters, digits and hyphens (at most 32)`,
      );
    }
    const source = props.policy ?? {};
    let policyFile: EnvBinding;
    if (typeof source === 'string') {
      this.policy = loadPolicyFile(source);
      policyFile = bundleFile(source, 'policy.json');
    } else {
      this.policy = parsePolicyConfig(source, `${this.node.path} policy`);
      policyFile = bundleText(canonicalJson(this.policy), 'policy.json');
    }
    this.policyId = policyIdOf(this.policy);
    const region = Stack.of(this).region;
    this.homeRegion = props.homeRegion ?? (Token.isUnresolved(region) ? IAM_EVENTS_REGION : region);

    this.table = new DecisionTable(this, 'DecisionTable');

    this.alarmTopic = props.alarmTopic ?? this.createAlarmTopic();

    this.slackSecret = props.slackSecret ?? this.createSlackSecret();

    this.checkpointKey = new CheckpointKey(this, 'CheckpointKey');
    this.evidence = new EvidenceBucket(this, 'Evidence', {
      retentionDays: this.policy.compliance.exportRetentionDays,
    });

    const org = this.policy.organization;
    // This copy's deny-all in its own account (two copies in one account each have theirs); a member
    // account's, `reauth-disabled`, comes with the StackSet.
    const disablePolicyName = org ? undefined : `${this.namePrefix}-disabled`;
    if (org) {
      if (props.organizationId === undefined) {
        throw new Error(
          'organizationId: the policy covers an AWS Organization; give its id with -c organizationId=o-…',
        );
      }
      this.organization = new Organization(this, 'Organization', {
        config: org,
        organizationId: props.organizationId,
        rootId: props.organizationRootId,
        policyFile,
        table: this.table,
        slackSecret: this.slackSecret,
        accessLogs: this.evidence.accessLogs,
        metricsNamespace: this.namePrefix,
        alarmTopic: this.alarmTopic,
      });
    }

    this.scanJob = new ScheduledJob(this, 'ScanJob', {
      functionId: 'Scan',
      label: 'reauth scan',
      entry: 'lambdas/scan/handler.ts',
      description: 'reauth scan: inventories access keys, secrets and third-party roles and records findings',
      timeout: Duration.minutes(15),
      // From `npm run bench -- --memory-only` (the handler bundled as shipped, started with this
      // function's MALLOC_ARENA_MAX and the flags the Lambda Node.js runtime's bootstrap gives a function
      // of a given size: a tenth of it new space, the rest old generation). One first scan (the heaviest
      // run) as a 128 MB function would run it peaks at 83 MB on an empty account and 117 to 118 MB with
      // 10,000 access keys (six runs on a busy machine; 123 to 125 over four before the scan let go of
      // its inventory and evaluations ahead of its writes). Before that change, 20,000 keys peaked at
      // 151 to 162 MB: about 4 MB per 1,000 keys, on the 83 MB of an empty account's scan (node, the
      // bundle, the SDK). So 10,000 keys fit in 128 MB with 10 MB to spare, and an account much past
      // that would not. The size is 512 MB instead, for that room (V8 sized for 512 MB lets garbage wait
      // longer: 167 to 168 MB at 10,000 keys, 204 MB at 20,000 before that change) and for CPU, which
      // Lambda scales with memory (one vCPU at 1,769 MB): a scan of 20,000 keys takes about 16 s of CPU here, which 0.29 of a vCPU
      // gives in about a minute and 128 MB's 0.07 in four, while an organization's run waits on its
      // accounts' scans. A minute a day at 512 MB costs under a cent.
      memorySize: SCAN_MEMORY_MB,
      // Without it, the same scan peaked at 126 to 136 MB as a 128 MB function: glibc's other arenas
      // (one per thread, up to 8 per core) held what V8's helper threads freed (see `mallocArenas`).
      mallocArenas: SCAN_MALLOC_ARENAS,
      environmentSchema: ScanEnvSchema,
      environment: {
        TABLE_NAME: bindTable(this.table, 'write'),
        POLICY_FILE: policyFile,
        SLACK_SECRET_ARN: bindSecretRead(this.slackSecret),
        CHECKPOINT_KEY_ID: this.checkpointKey.bindSign(),
      },
      // Across an organization it reads each member through reauth-reader, never the hub's own IAM.
      grants: org ? [] : scanGrants(),
      schedule: ScheduleExpression.cron({ minute: '0', hour: '6' }),
      scheduleDescription: 'Runs the reauth scan daily',
      failureImpact: 'findings may be stale.',
      alarmTopic: this.alarmTopic,
      // One scan at a time: a retried or manual run waits for the one under way (see ScheduledJob).
      // Across an organization, one run's accounts are scanned at once instead (maxConcurrency).
      reservedConcurrentExecutions: this.organization ? undefined : 1,
      fanOut: this.organization?.fanOut('scan', 'reauth scan', Duration.hours(2)),
    });

    this.enforceJob = new ScheduledJob(this, 'EnforceJob', {
      functionId: 'Enforce',
      label: 'reauth enforce job',
      entry: 'lambdas/enforce/handler.ts',
      description: `reauth enforce (hourly): scans, reminds and escalates owners, and past the deadline ${this.policy.mode === 'enforce' ? 'disables credentials nobody reauthorized, behind the safety rails' : 'records credentials nobody reauthorized (report mode: changes nothing in IAM or Secrets Manager)'}`,
      timeout: Duration.minutes(15),
      memorySize: 1024,
      environmentSchema: EnforceEnvSchema,
      environment: {
        TABLE_NAME: bindTable(this.table, 'write'),
        POLICY_FILE: policyFile,
        SLACK_SECRET_ARN: bindSecretRead(this.slackSecret),
        CHECKPOINT_KEY_ID: this.checkpointKey.bindSign(),
      },
      // Across an organization it works through each member's reauth-enforcer or reauth-reader.
      grants: org ? [] : enforceGrants(this.policy.mode, disablePolicyName),
      schedule: ScheduleExpression.rate(Duration.hours(1)),
      scheduleDescription: 'Runs the reauth enforce job hourly: reminders, escalations and deadlines',
      failureImpact: 'reminders, escalations and deadlines wait for the next run.',
      alarmTopic: this.alarmTopic,
      // One enforce run at a time, so two never race to remind, escalate or disable the same credentials.
      // Across an organization, one run's accounts at once; the run stops before the next one starts.
      reservedConcurrentExecutions: this.organization ? undefined : 1,
      fanOut: this.organization?.fanOut('enforce', 'reauth enforce job', Duration.minutes(55)),
    });
    // The enforce handler logs this (Powertools JSON) once per rail that stopped it.
    const heldBack = new MetricFilter(this, 'EnforcementHeldBackFilter', {
      logGroup: this.enforceJob.function.logGroup,
      filterPattern: FilterPattern.stringValue('$.message', '=', 'enforcement held back'),
      metricNamespace: this.namePrefix,
      metricName: 'EnforcementHeldBack',
      metricValue: '1',
    });
    alarmOnCount(this, 'EnforcementHeldBackAlarm', {
      description:
        'A safety rail held back enforcement: budget exceeded, stale inventory or a protected principal. Nothing was disabled; a person has to look.',
      metric: heldBack.metric({ period: Duration.hours(1), statistic: 'Sum' }),
      topic: this.alarmTopic,
    });

    this.slackEndpoint = new SlackEndpoint(this, 'SlackEndpoint', {
      table: this.table,
      policyFile,
      policy: this.policy,
      slackSecret: this.slackSecret,
      alarmTopic: this.alarmTopic,
      // Across an organization the worker acts through each member's reauth-enforcer.
      memberAccountsOnly: org !== undefined,
      disablePolicyName,
    });

    // What the enforcer attaches, in enforce mode: this copy's deny-all (in this account; a member's
    // comes with the StackSet) and the session policies made by a writer it can invoke and not be.
    const enforceAnywhere = [this.policy.mode, ...(org?.overrides ?? []).map((o) => o.mode)].includes(
      'enforce',
    );
    const consumerRevokes = enforceAnywhere && eventsRevokeSessions({ ...this.policy, mode: 'enforce' });
    if (enforceAnywhere) {
      if (disablePolicyName) roleDisablePolicy(this, 'RoleDisablePolicy', disablePolicyName);
      this.sessionPolicies = new SessionPolicies(this, 'SessionPolicies', {
        ...(org && { memberRoleName: sessionsRoleName(org.enforcerRoleName) }),
      });
    }

    this.trustEvents = new TrustEvents(this, 'TrustEvents', {
      table: this.table,
      policyFile,
      policy: this.policy,
      slackSecret: this.slackSecret,
      alarmTopic: this.alarmTopic,
      // The functions that disable and restore credentials: their calls may be reauth's own.
      reauthRoles: [
        this.enforceJob.function.role,
        this.slackEndpoint.worker.role,
        ...(this.sessionPolicies ? [this.sessionPolicies.writer.role] : []),
      ],
      homeRegion: this.homeRegion,
      busName: this.namePrefix,
      publisherAccounts: props.eventPublisherAccounts,
    });

    if (this.sessionPolicies) {
      for (const fn of [
        this.enforceJob.function,
        this.slackEndpoint.worker,
        ...(consumerRevokes ? [this.trustEvents.consumer] : []),
      ])
        this.sessionPolicies.grantUse(fn, disablePolicyName);
    }

    if (this.organization) {
      const enforce = enforceAnywhere;
      // The consumer ends sessions in a member in enforce mode (revokeSessionsOn owner-departed or
      // scope-changed), through its reauth-enforcer; overrides change the mode, never revokeSessionsOn.
      const consumer = this.trustEvents.consumer.role;
      // It picks the member events to act on from the organization's accounts.
      this.organization.grantOrganizationRead(consumer);
      this.organization.grantMemberAccess({
        // The enforce job reads through reauth-reader where an account is in report mode.
        readers: [this.scanJob.function.role, this.enforceJob.function.role, consumer],
        enforcers: [
          this.enforceJob.function.role,
          this.slackEndpoint.worker.role,
          ...(consumerRevokes ? [consumer] : []),
        ],
        sessionWriters: this.sessionPolicies ? [this.sessionPolicies.writer.role] : [],
        enforce,
        bus: this.trustEvents.bus,
        hubRegion: this.homeRegion,
        namePrefix: this.namePrefix,
      });
      this.trustEvents.acceptMemberEvents();
      // The Slack functions answer for a credential under its account's policy (its OU path), and the
      // worker changes it in that account through its reauth-enforcer, never in the hub.
      for (const fn of [this.slackEndpoint.endpoint, this.slackEndpoint.worker])
        this.organization.grantAccountLookup(fn.role);
      for (const fn of [this.trustEvents.consumer, this.slackEndpoint.endpoint, this.slackEndpoint.worker]) {
        fn.function.addEnvironment('ORG_MODE', 'true');
      }
    }

    const exportPrefix = 'exports';
    this.exportJob = new ScheduledJob(this, 'ExportJob', {
      functionId: 'Export',
      label: 'reauth export',
      entry: 'lambdas/export/handler.ts',
      description:
        'reauth export: exports the decision table to the evidence bucket for compliance (full or incremental) and records each export',
      timeout: Duration.minutes(1),
      environmentSchema: ExportEnvSchema,
      environment: {
        TABLE_NAME: bindExportRecords(this.table),
        TABLE_ARN: bindTableExport(this.table),
        POLICY_FILE: policyFile,
        EXPORT_BUCKET: this.evidence.bindExportWrite(exportPrefix),
        EXPORT_PREFIX: exportPrefix,
        EXPORT_KMS_KEY_ARN: this.evidence.bindKeyArn(),
        CHECKPOINT_KEY_ID: this.checkpointKey.bindPublicKey(),
      },
      schedule: ScheduleExpression.cron({ minute: '0', hour: '3' }),
      scheduleDescription: 'Exports the reauth decision table to the evidence bucket daily',
      // The same scheduled time on every retry of one run: the same export client token, one export.
      input: ScheduleTargetInput.fromObject({ scheduledTime: ContextAttribute.scheduledTime }),
      failureImpact: 'the compliance export of the decision table is missing for the day.',
      alarmTopic: this.alarmTopic,
    });

    // The roles that may change IAM here never reach reauth's own roles (this construct's, all of
    // them). In organization mode they change nothing in this account: the members' enforcers do.
    if (!org)
      keepOffOwnRoles(
        [
          this.enforceJob.function.role,
          this.slackEndpoint.worker.role,
          this.trustEvents.consumer.role,
          ...(this.sessionPolicies ? [this.sessionPolicies.writer.role] : []),
        ],
        this.node.findAll().filter((c): c is Role => c instanceof Role),
      );

    // Each copy publishes its metrics under its own prefix, and its dashboard and alarms read those.
    for (const fn of [
      this.scanJob.function,
      this.enforceJob.function,
      this.slackEndpoint.endpoint,
      this.slackEndpoint.worker,
      this.trustEvents.consumer,
      this.exportJob.function,
    ]) {
      fn.function.addEnvironment('POWERTOOLS_METRICS_NAMESPACE', this.namePrefix);
    }
    // Once a run: each job counts the channels it could not reach for a reason only a person mends.
    const slackSetup = (service: MetricsService) =>
      new Metric({
        namespace: this.namePrefix,
        metricName: 'SlackSetupProblems' satisfies RunMetric<'reauth-scan'>,
        dimensionsMap: { service },
        statistic: 'Sum',
        period: Duration.hours(1),
      });
    alarmOnCount(this, 'SlackSetupAlarm', {
      description:
        "Slack refused reauth's messages for a reason only a person mends: the bot is not in the fallback channel (not_in_channel; a private channel needs /invite @reauth), a channel is gone, a scope is missing or the token revoked. The run's 'slack setup problem' log line names each channel and the fix; nothing is lost, the posts are retried every run. See docs/slack.md.",
      metric: new MathExpression({
        expression: 'FILL(scan, 0) + FILL(enforce, 0) + FILL(events, 0) + FILL(summary, 0)',
        usingMetrics: {
          scan: slackSetup('reauth-scan'),
          enforce: slackSetup('reauth-enforce'),
          events: slackSetup('reauth-events'),
          summary: slackSetup('reauth-org-summary'),
        },
        label: 'SlackSetupProblems',
        period: Duration.hours(1),
      }),
      topic: this.alarmTopic,
    });
    this.dashboard = new ReauthDashboard(this, 'Dashboard', {
      namespace: this.namePrefix,
      // Dashboard names are unique in an account, across its regions.
      dashboardName: `${this.namePrefix}-${Stack.of(this).region}`,
      functions: {
        scan: this.scanJob.function.function,
        enforce: this.enforceJob.function.function,
        'slack endpoint': this.slackEndpoint.endpoint.function,
        'slack worker': this.slackEndpoint.worker.function,
        events: this.trustEvents.consumer.function,
        export: this.exportJob.function.function,
      },
      // Every alarm above, wherever its construct made it.
      alarms: this.node.findAll().filter((c): c is Alarm => c instanceof Alarm),
    });

    // Roles are left untagged: the scan takes a role tagged reauth:* as opted in to its findings.
    const untagged = { excludeResourceTypes: ['AWS::IAM::Role'] };
    Tags.of(this).add(MANAGED_BY_TAG, 'reauth', untagged);
    Tags.of(this).add(POLICY_ID_TAG, this.policyId, untagged);
  }

  private createAlarmTopic(): Topic {
    // A customer key: CloudWatch can publish to an encrypted topic only if the key policy lets it,
    // and the AWS managed SNS key's policy cannot be changed.
    const alarmKey = new Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the reauth alarm topic',
      enableKeyRotation: true,
    });
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    alarmKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const topic = new Topic(this, 'AlarmTopic', {
      displayName: 'reauth alarms',
      masterKey: alarmKey,
      enforceSSL: true,
    });
    // The SSL-only topic policy replaces the default one, so CloudWatch's publish is allowed explicitly.
    topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    return topic;
  }

  private createSlackSecret(): Secret {
    // A placeholder the handlers reject until the operator puts Slack's real values: a generated
    // signingSecret matches no request Slack signs, and the bot token is not a token.
    const secret = new Secret(this, 'SlackSecret', {
      // Under reauth/slack/, which reauth's functions never touch; unique to each creation of the stack,
      // so a redeploy after `cdk destroy` does not collide with the secret it retained.
      secretName: `${REAUTH_SLACK_SECRET_PATH}${this.namePrefix}-${Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', Aws.STACK_ID))))}`,
      description:
        'reauth: Slack signing secret and bot token, JSON {"signingSecret": "...", "botToken": "xoxb-..."}; put the Slack app\'s values here after deploy',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ botToken: 'xoxb-replace-me' }),
        generateStringKey: 'signingSecret',
        excludePunctuation: true,
        passwordLength: 32,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // No owner tag: reauth always protects its own Slack secret from its findings (and a
    // fallback owner such as "#security" is not a valid tag value).
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "No rotation Lambda: Secrets Manager cannot rotate Slack credentials. The signing secret and bot token are regenerated in the Slack app's settings, then put into this secret by the operator.",
    });
    return secret;
  }
}
