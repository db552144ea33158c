import { Aws, type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { MathExpression } from 'aws-cdk-lib/aws-cloudwatch';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, type ScheduleExpression, type ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type * as z from 'zod';
import { alarmOnCount, alarmOnQueued } from './alarms';
import { type CredentialGrant, grantCredentialAccess } from './credential-permissions';
import { ReauthFunction, type ReauthFunctionProps } from './reauth-function';

/** Properties of a {@link ScheduledJob}: its function's, plus when it runs and who hears when it fails. */
export interface ScheduledJobProps<S extends z.ZodObject> extends ReauthFunctionProps<S> {
  /** Construct id of the function (`Scan`, `Enforce`): part of every logical id below it. */
  readonly functionId: string;
  /** What the job is called in descriptions and alarms, e.g. `reauth scan`. */
  readonly label: string;
  /** When the job runs. */
  readonly schedule: ScheduleExpression;
  /** The schedule's description, e.g. `Runs the reauth scan daily`. */
  readonly scheduleDescription: string;
  /** What a failed run means for the user, ending the errors alarm's description. */
  readonly failureImpact: string;
  /** IAM and Secrets Manager access, each wildcard scope acknowledged with its reason. @default none */
  readonly grants?: readonly CredentialGrant[];
  /** Receives the error and dead-letter alarms. */
  readonly alarmTopic: ITopic;
  /** The event the function is invoked with. @default Scheduler's default, `{}` */
  readonly input?: ScheduleTargetInput;
  /**
   * The function's reserved concurrency: `1` lets only one run at a time, whatever invokes it (the
   * schedule, a Scheduler retry, Lambda's own retry of a failed run, a manual invoke). Lambda keeps
   * 100 of the account's concurrency unreserved, so an account whose concurrency quota is 100 or less
   * (new accounts may start at 10) cannot deploy a reservation until the quota is raised.
   * @default no reservation: runs may overlap, up to the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Runs the function through a state machine instead of invoking it (an AWS Organization's fan-out:
   * one invocation per member account). Given the function, returns the state machine the schedule
   * starts; a failed, timed-out or aborted execution alarms instead of the function's errors, which
   * the state machine retries and reports per account.
   * @default the schedule invokes the function
   */
  readonly fanOut?: (fn: ReauthFunction<S>) => StateMachine;
}

/**
 * A reauth function run by EventBridge Scheduler. A schedule that cannot invoke it retries, then
 * dead-letters to an encrypted, SSL-only queue; a failed run and a dead letter both alarm. With
 * `reservedConcurrentExecutions: 1`, runs never overlap: the next waits in Lambda's queue.
 */
export class ScheduledJob<S extends z.ZodObject> extends Construct {
  readonly function: ReauthFunction<S>;
  readonly deadLetterQueue: Queue;
  readonly schedule: Schedule;
  /** The state machine the schedule starts, when the job fans out. */
  readonly stateMachine?: StateMachine;

  constructor(scope: Construct, id: string, props: ScheduledJobProps<S>) {
    super(scope, id);
    const {
      functionId,
      label,
      schedule,
      scheduleDescription,
      failureImpact,
      grants,
      alarmTopic,
      input,
      reservedConcurrentExecutions,
      fanOut,
      ...fnProps
    } = props;
    this.function = new ReauthFunction(this, functionId, fnProps);
    const fn = this.function.function;
    if (reservedConcurrentExecutions !== undefined) {
      // ReauthFunction holds the defaults every function shares; this one belongs to scheduled jobs.
      (fn.node.defaultChild as CfnFunction).reservedConcurrentExecutions = reservedConcurrentExecutions;
    }
    grantCredentialAccess(this.function.role, grants ?? []);
    this.stateMachine = fanOut?.(this.function);

    this.deadLetterQueue = new Queue(this, 'ScheduleDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `This queue is itself a dead-letter queue: the ${label} schedule's DeadLetterConfig, which cdk-nag does not read; a failed delivery is kept here for 14 days and alarms.`,
    });

    const schedulerRole = new Role(this, 'SchedulerRole', {
      description: `EventBridge Scheduler: ${this.stateMachine ? 'starts' : 'invokes'} the ${label} and dead-letters failed deliveries`,
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
    this.schedule = new Schedule(this, 'Schedule', {
      description: scheduleDescription,
      schedule,
      // Scheduler invokes asynchronously, so these cover delivery only; a failed run surfaces as Errors.
      // Nor do they meet the reserved concurrency: an invoke that finds the run before it still going
      // is accepted into Lambda's event queue (202), not refused, so Scheduler neither retries nor
      // dead-letters it. Lambda retries that throttled event itself, backing off up to 5 minutes, and
      // runs it once the first run ends; after the function's maximum event age (6 hours by default)
      // it would drop it, counted only in AsyncEventsDropped, which a 15-minute run never comes near.
      // A manual synchronous invoke (`aws lambda invoke`) during a run gets 429 TooManyRequests.
      target: this.stateMachine
        ? new StepFunctionsStartExecution(this.stateMachine, {
            role: schedulerRole,
            retryAttempts: 2,
            deadLetterQueue: this.deadLetterQueue,
            ...(input && { input }),
          })
        : new LambdaInvoke(fn, {
            role: schedulerRole,
            retryAttempts: 2,
            maxEventAge: Duration.hours(6),
            deadLetterQueue: this.deadLetterQueue,
            ...(input && { input }),
          }),
    });
    if (!this.stateMachine) {
      const fnId = Stack.of(this).getLogicalId(fn.node.defaultChild as CfnElement);
      Validations.of(schedulerRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`,
        reason: `lambda:InvokeFunction on the ${label} function's own versions and aliases (<arn>:*), added by grantInvoke; the role can invoke no other function.`,
      });
    }

    // An hour, not a day: a failed daily run should page within the hour it failed in.
    const period = Duration.hours(1);
    alarmOnCount(this, 'ErrorsAlarm', {
      description: this.stateMachine
        ? `The ${label} failed, timed out or was stopped before its summary: ${failureImpact}`
        : `The ${label} failed (after Lambda retried it): ${failureImpact}`,
      metric: this.stateMachine
        ? new MathExpression({
            label: 'Executions failed, timed out or aborted',
            expression: 'failed + timedOut + aborted',
            usingMetrics: {
              failed: this.stateMachine.metricFailed({ period, statistic: 'Sum' }),
              timedOut: this.stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
              aborted: this.stateMachine.metricAborted({ period, statistic: 'Sum' }),
            },
            period,
          })
        : fn.metricErrors({ period, statistic: 'Sum' }),
      topic: alarmTopic,
    });
    alarmOnQueued(this, 'DeadLettersAlarm', {
      description: `EventBridge Scheduler could not invoke the ${label}: see the dead-letter queue.`,
      queue: this.deadLetterQueue,
      topic: alarmTopic,
    });
  }
}
