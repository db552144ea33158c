import { Aws, type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ScanEnvSchema } from '../lambdas/scan/env';
import { bindTable, bundleFile, ReauthFunction } from './reauth-function';

// The only IAM and Secrets Manager calls the scan makes, all reads (sts:GetCallerIdentity needs no grant).
const SCAN_READ_ACTIONS = [
  'iam:GenerateCredentialReport',
  'iam:GetCredentialReport',
  'iam:GetAccountAuthorizationDetails',
  'iam:ListAccessKeys',
  'secretsmanager:ListSecrets',
];

/** Properties of a {@link ScanJob}. */
export interface ScanJobProps {
  /** The decision table: the scan reads known state and records decisions. */
  readonly table: TableV2;
  /** The validated policy file, shipped in the bundle as `policy.json`. */
  readonly policyFile: string;
  /** Receives the error and dead-letter alarms. */
  readonly alarmTopic: ITopic;
  /** When the scan runs. @default daily at 06:00 UTC */
  readonly schedule?: ScheduleExpression;
}

/**
 * The daily scan: inventory → evaluate → record. It reads IAM and Secrets Manager and writes only to the
 * decision table. A schedule that cannot invoke it retries, then dead-letters; both failures alarm.
 */
export class ScanJob extends Construct {
  readonly function: ReauthFunction<typeof ScanEnvSchema>;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ScanJobProps) {
    super(scope, id);
    this.function = new ReauthFunction(this, 'Scan', {
      entry: 'lambdas/scan/handler.ts',
      description: 'reauth scan: inventories access keys, secrets and third-party roles and records findings',
      timeout: Duration.minutes(15),
      memorySize: 1024,
      environmentSchema: ScanEnvSchema,
      environment: {
        TABLE_NAME: bindTable(props.table, 'write'),
        POLICY_FILE: bundleFile(props.policyFile, 'policy.json'),
      },
    });
    const fn = this.function.function;
    fn.addToRolePolicy(new PolicyStatement({ actions: SCAN_READ_ACTIONS, resources: ['*'] }));
    Validations.of(this.function.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Read-only inventory calls with no resource ARN to scope to: iam:GenerateCredentialReport, iam:GetCredentialReport, iam:GetAccountAuthorizationDetails and secretsmanager:ListSecrets are account-wide; iam:ListAccessKeys is called for whichever user holds a key with a finding.',
    });

    this.deadLetterQueue = new Queue(this, 'ScheduleDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is itself a dead-letter queue: the scan schedule's DeadLetterConfig, which cdk-nag does not read; a failed delivery is kept here for 14 days and alarms.",
    });

    const schedulerRole = new Role(this, 'SchedulerRole', {
      description: 'EventBridge Scheduler: invokes the reauth scan and dead-letters failed deliveries',
      // Only schedules in this account's default group may assume it (confused deputy).
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': Aws.ACCOUNT_ID,
            'aws:SourceArn': Stack.of(this).formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: 'default',
            }),
          },
        },
      }),
    });
    new Schedule(this, 'Schedule', {
      description: 'Runs the reauth scan daily',
      schedule: props.schedule ?? ScheduleExpression.cron({ minute: '0', hour: '6' }),
      // Scheduler invokes asynchronously, so these cover delivery only; a failed scan surfaces as Errors.
      target: new LambdaInvoke(fn, {
        role: schedulerRole,
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
        deadLetterQueue: this.deadLetterQueue,
      }),
    });
    const fnId = Stack.of(this).getLogicalId(fn.node.defaultChild as CfnElement);
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`,
      reason:
        "lambda:InvokeFunction on the scan function's own versions and aliases (<arn>:*), added by grantInvoke; the role can invoke no other function.",
    });

    const alarmAction = new SnsAction(props.alarmTopic);
    new Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'The reauth scan failed (after Lambda retried it): findings may be stale.',
      // An hour, not a day: a failed daily run should page within the hour it failed in.
      metric: fn.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(alarmAction);
    new Alarm(this, 'DeadLettersAlarm', {
      alarmDescription: 'EventBridge Scheduler could not invoke the reauth scan: see the dead-letter queue.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(alarmAction);
  }
}
