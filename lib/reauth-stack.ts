import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { ContextAttribute, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { EnforceEnvSchema } from '../lambdas/enforce/env';
import { ExportEnvSchema } from '../lambdas/export/env';
import { ScanEnvSchema } from '../lambdas/scan/env';
import { type PolicyConfig, policyIdOf } from '../lambdas/shared/domain/policy';
import { alarmOnCount } from './alarms';
import { enforceGrants, scanGrants } from './credential-permissions';
import { DecisionTable } from './decision-table';
import { bindExportRecords, bindTableExport, EvidenceBucket } from './evidence-bucket';
import { ReauthDashboard } from './reauth-dashboard';
import { bindSecretRead, bindTable, bundleFile } from './reauth-function';
import { ScheduledJob } from './scheduled-job';
import { SlackEndpoint } from './slack-endpoint';
import { IAM_EVENTS_REGION, TrustEvents } from './trust-events';

/** The name of reauth's Slack secret; the Lambdas always treat it as a protected principal. */
export const SLACK_SECRET_NAME = 'reauth/slack';

/** Properties of the {@link ReauthStack}. */
export interface ReauthStackProps extends StackProps {
  /** The validated policy; the stack records its id and mode. */
  readonly policy: PolicyConfig;
  /** The policy file it was read from, shipped to the Lambdas as is. */
  readonly configPath: string;
  /**
   * The region this stack is deployed to, and bound to (its `env.region`). IAM's CloudTrail events
   * reach EventBridge only in us-east-1: elsewhere the IAM rule listens on the reauth bus, fed by the
   * `ReauthIamEventForwarder` stack.
   * @default 'us-east-1'
   */
  readonly homeRegion?: string;
  /** Other accounts (HR, ITSM) allowed to put reauth's own events on its bus. @default none */
  readonly eventPublisherAccounts?: readonly string[];
}

/**
 * reauth in one account: the decision table, the daily scan, the hourly enforce job (which changes IAM
 * and Secrets Manager only in enforce mode, behind its safety rails), the Slack secret, Slack's
 * interactivity endpoint with its action worker, the trust-events bus, rules and consumer, and the alarm
 * topic. Bound to its home region (where IAM's events must arrive), any account.
 */
export class ReauthStack extends Stack {
  /** Every reauth alarm publishes here; subscribe the security team to it. */
  readonly alarmTopic: Topic;
  readonly table: DecisionTable;
  /** Slack's signing secret and bot token, put here by the operator after deploy. */
  readonly slackSecret: Secret;
  readonly scanJob: ScheduledJob<typeof ScanEnvSchema>;
  readonly enforceJob: ScheduledJob<typeof EnforceEnvSchema>;
  readonly slackEndpoint: SlackEndpoint;
  readonly trustEvents: TrustEvents;
  /** The compliance exports of the decision table. */
  readonly evidence: EvidenceBucket;
  readonly exportJob: ScheduledJob<typeof ExportEnvSchema>;
  readonly dashboard: ReauthDashboard;

  constructor(scope: Construct, id: string, props: ReauthStackProps) {
    super(scope, id, {
      description: `reauth: finds stale machine credentials, asks their owners in Slack to reauthorize them, records every decision and ${props.policy.mode === 'enforce' ? 'disables or rotates what nobody vouches for' : 'changes nothing in IAM or Secrets Manager'} (${props.policy.mode} mode)`,
      ...props,
      env: { ...props.env, region: props.homeRegion ?? IAM_EVENTS_REGION },
    });
    this.table = new DecisionTable(this, 'DecisionTable');

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
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'reauth alarms',
      masterKey: alarmKey,
      enforceSSL: true,
    });
    // The SSL-only topic policy replaces the default one, so CloudWatch's publish is allowed explicitly.
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );

    // A placeholder the handlers reject until the operator puts Slack's real values: a generated
    // signingSecret matches no request Slack signs, and the bot token is not a token.
    this.slackSecret = new Secret(this, 'SlackSecret', {
      secretName: SLACK_SECRET_NAME,
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
    // No owner tag: reauth always protects its own reauth/slack secret from its findings (and a
    // fallback owner such as "#security" is not a valid tag value).
    Validations.of(this.slackSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "No rotation Lambda: Secrets Manager cannot rotate Slack credentials. The signing secret and bot token are regenerated in the Slack app's settings, then put into this secret by the operator.",
    });

    const policyFile = props.configPath;
    this.scanJob = new ScheduledJob(this, 'ScanJob', {
      functionId: 'Scan',
      label: 'reauth scan',
      entry: 'lambdas/scan/handler.ts',
      description: 'reauth scan: inventories access keys, secrets and third-party roles and records findings',
      timeout: Duration.minutes(15),
      memorySize: 1024,
      environmentSchema: ScanEnvSchema,
      environment: {
        TABLE_NAME: bindTable(this.table, 'write'),
        POLICY_FILE: bundleFile(policyFile, 'policy.json'),
        SLACK_SECRET_ARN: bindSecretRead(this.slackSecret),
      },
      grants: scanGrants(),
      schedule: ScheduleExpression.cron({ minute: '0', hour: '6' }),
      scheduleDescription: 'Runs the reauth scan daily',
      failureImpact: 'findings may be stale.',
      alarmTopic: this.alarmTopic,
      // One scan at a time: a retried or manual run waits for the one under way (see ScheduledJob).
      reservedConcurrentExecutions: 1,
    });

    this.enforceJob = new ScheduledJob(this, 'EnforceJob', {
      functionId: 'Enforce',
      label: 'reauth enforce job',
      entry: 'lambdas/enforce/handler.ts',
      description: `reauth enforce (hourly): scans, reminds and escalates owners, and past the deadline ${props.policy.mode === 'enforce' ? 'disables credentials nobody reauthorized, behind the safety rails' : 'records credentials nobody reauthorized (report mode: changes nothing in IAM or Secrets Manager)'}`,
      timeout: Duration.minutes(15),
      memorySize: 1024,
      environmentSchema: EnforceEnvSchema,
      environment: {
        TABLE_NAME: bindTable(this.table, 'write'),
        POLICY_FILE: bundleFile(policyFile, 'policy.json'),
        SLACK_SECRET_ARN: bindSecretRead(this.slackSecret),
      },
      grants: enforceGrants(props.policy.mode),
      schedule: ScheduleExpression.rate(Duration.hours(1)),
      scheduleDescription: 'Runs the reauth enforce job hourly: reminders, escalations and deadlines',
      failureImpact: 'reminders, escalations and deadlines wait for the next run.',
      alarmTopic: this.alarmTopic,
      // One enforce run at a time, so two never race to remind, escalate or disable the same credentials.
      reservedConcurrentExecutions: 1,
    });
    // The enforce handler logs this (Powertools JSON) once per rail that stopped it.
    const heldBack = new MetricFilter(this, 'EnforcementHeldBackFilter', {
      logGroup: this.enforceJob.function.logGroup,
      filterPattern: FilterPattern.stringValue('$.message', '=', 'enforcement held back'),
      metricNamespace: 'reauth',
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
      policy: props.policy,
      slackSecret: this.slackSecret,
      alarmTopic: this.alarmTopic,
    });

    this.trustEvents = new TrustEvents(this, 'TrustEvents', {
      table: this.table,
      policyFile,
      slackSecret: this.slackSecret,
      alarmTopic: this.alarmTopic,
      // The functions that disable and restore credentials: their calls may be reauth's own.
      reauthRoles: [this.enforceJob.function.role, this.slackEndpoint.worker.role],
      homeRegion: props.homeRegion ?? IAM_EVENTS_REGION,
      publisherAccounts: props.eventPublisherAccounts,
    });

    this.evidence = new EvidenceBucket(this, 'Evidence', {
      retentionDays: props.policy.compliance.exportRetentionDays,
    });
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
        POLICY_FILE: bundleFile(policyFile, 'policy.json'),
        EXPORT_BUCKET: this.evidence.bindExportWrite(exportPrefix),
        EXPORT_PREFIX: exportPrefix,
        EXPORT_KMS_KEY_ARN: this.evidence.bindKeyArn(),
      },
      schedule: ScheduleExpression.cron({ minute: '0', hour: '3' }),
      scheduleDescription: 'Exports the reauth decision table to the evidence bucket daily',
      // The same scheduled time on every retry of one run: the same export client token, one export.
      input: ScheduleTargetInput.fromObject({ scheduledTime: ContextAttribute.scheduledTime }),
      failureImpact: 'the compliance export of the decision table is missing for the day.',
      alarmTopic: this.alarmTopic,
    });

    this.dashboard = new ReauthDashboard(this, 'Dashboard', {
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

    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', {
      description:
        'Subscribe (email, chat) to hear when a job fails or cannot be started, a Slack action fails, or a safety rail holds enforcement back',
      value: this.alarmTopic.topicArn,
    });
    new CfnOutput(this, 'ScanFunctionName', { value: this.scanJob.function.function.functionName });
    new CfnOutput(this, 'EnforceFunctionName', { value: this.enforceJob.function.function.functionName });
    new CfnOutput(this, 'SlackInteractionUrl', {
      description: "Paste into the Slack app's Interactivity & Shortcuts > Request URL",
      value: this.slackEndpoint.interactionUrl,
    });
    new CfnOutput(this, 'SlackSecretArn', {
      description:
        'Put the Slack app\'s signing secret and bot token here: {"signingSecret": "...", "botToken": "xoxb-..."}',
      value: this.slackSecret.secretArn,
    });
    new CfnOutput(this, 'EventBusName', {
      description:
        "HR and ITSM systems PutEvents here: source 'reauth', detail-type Owner Departed, Owner Role Changed, Purpose Changed or Provider Scope Changed",
      value: this.trustEvents.bus.eventBusName,
    });
    new CfnOutput(this, 'EventBusArn', {
      description:
        'Grant events:PutEvents on this ARN to the HR and ITSM systems that report owner, purpose and scope changes',
      value: this.trustEvents.bus.eventBusArn,
    });
    new CfnOutput(this, 'EvidenceBucketName', {
      description:
        "The decision table's compliance exports (DynamoDB JSON), under exports/full/ and exports/incremental/",
      value: this.evidence.bucket.bucketName,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description:
        'Credentials by state, findings, notifications, reauthorizations, disables, overdue, job errors and every alarm',
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.dashboard.dashboard.dashboardName}`,
    });
    new CfnOutput(this, 'PolicyId', {
      description: 'Recorded as policyId on every decision made under this policy',
      value: policyIdOf(props.policy),
    });
  }
}
