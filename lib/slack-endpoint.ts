import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PolicyConfig } from '../lambdas/shared/domain/policy';
import { SERVICE_USAGE_MAX_WAIT_MS } from '../lambdas/shared/domain/service-usage';
import { SlackEndpointEnvSchema } from '../lambdas/slack/env';
import { SlackWorkerEnvSchema } from '../lambdas/slack-worker/env';
import { alarmOnCount, alarmOnQueued } from './alarms';
import { grantCredentialAccess, workerGrants } from './credential-permissions';
import { bindQueueSend, bindSecretRead, bindTable, type EnvBinding, ReauthFunction } from './reauth-function';

/** The path Slack posts interactions to; the Interactivity Request URL is the API's URL plus this. */
export const SLACK_INTERACTIONS_PATH = '/slack/interactions';

/**
 * A *Still needed, only what it uses* click waits up to SERVICE_USAGE_MAX_WAIT_MS for IAM's service
 * last-accessed job, then narrows: 30 seconds more leave the change room (the click gives up waiting
 * earlier when its invocation has less left). Six times this is the queue's visibility timeout, so a
 * job's three attempts end within the 30 minutes a Slack response_url answers.
 */
const WORKER_TIMEOUT = Duration.seconds(SERVICE_USAGE_MAX_WAIT_MS / 1000 + 30);
/** The memory at which Lambda allots one full vCPU. */
const ONE_VCPU_MB = 1769;

/** Properties of a {@link SlackEndpoint}. */
export interface SlackEndpointProps {
  /** The decision table: the worker records decisions; the endpoint reads it and writes leases. */
  readonly table: TableV2;
  /** The validated policy, shipped in both bundles as `policy.json` (`bundleFile` or `bundleText`). */
  readonly policyFile: EnvBinding;
  /** The policy: in report mode the worker gets no IAM or Secrets Manager access at all. */
  readonly policy: PolicyConfig;
  /** Slack's signing secret and bot token. */
  readonly slackSecret: ISecret;
  /**
   * Organization mode: the worker changes credentials only in member accounts, through their enforcer
   * role, and gets no IAM or Secrets Manager access in this account.
   * @default false
   */
  readonly memberAccountsOnly?: boolean;
  /** The deny-all the worker attaches to disable a role in this account: `<namePrefix>-disabled`. */
  readonly disablePolicyName?: string;
  /** Receives the endpoint, worker and dead-letter alarms. */
  readonly alarmTopic: ITopic;
  /**
   * Steady-state requests per second the API accepts, and its burst; Slack sends one per click.
   * @default { rateLimit: 20, burstLimit: 40 }
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
}

/**
 * Slack's interactivity endpoint: an HTTP API route to a function that verifies Slack's signature,
 * checks the clicker may answer and queues the answer within Slack's 3 seconds. A worker, reached only
 * through the queue, records every answer and makes every change in IAM or Secrets Manager (disable,
 * restore, rotate), retried, then dead-lettered. The endpoint may write lease items only.
 */
export class SlackEndpoint extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly endpoint: ReauthFunction<typeof SlackEndpointEnvSchema>;
  readonly worker: ReauthFunction<typeof SlackWorkerEnvSchema>;
  readonly actionQueue: Queue;
  readonly actionDeadLetterQueue: Queue;
  /** The URL to paste into the Slack app's Interactivity settings. */
  readonly interactionUrl: string;

  constructor(scope: Construct, id: string, props: SlackEndpointProps) {
    super(scope, id);

    this.actionDeadLetterQueue = new Queue(this, 'ActionDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.actionQueue = new Queue(this, 'ActionQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's guidance for SQS event sources: at least six times the function's timeout.
      visibilityTimeout: Duration.seconds(WORKER_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.actionDeadLetterQueue, maxReceiveCount: 3 },
    });

    this.endpoint = new ReauthFunction(this, 'Endpoint', {
      entry: 'lambdas/slack/handler.ts',
      description:
        "reauth Slack endpoint: verifies Slack interactions, records owners' answers and queues IAM or Secrets Manager changes",
      // Slack gives up after 3 seconds; anything slow is the worker's.
      timeout: Duration.seconds(10),
      // A click that meets a cold start waits for it: loading the bundle, then the first TLS handshakes
      // and SigV4 signing, all CPU-bound on one thread. Lambda gives CPU in proportion to memory, one
      // full vCPU at 1,769 MB; at 256 MB (about a seventh of one) the import alone, ~80 ms of CPU
      // (`npm run bench`), takes over half a second before the click is even read. More than one vCPU
      // would sit idle. Clicks are few and short: 300 ms at this size costs under a thousandth of a cent.
      memorySize: ONE_VCPU_MB,
      // No source maps: Node would read a map larger than the bundle at every cold start. The endpoint
      // logs its errors by name and answers with a status, so a mapped stack trace would buy nothing.
      sourceMaps: false,
      environmentSchema: SlackEndpointEnvSchema,
      environment: {
        // Reads, and lease items only: it records no answer itself (see use-cases/slack-answers.ts).
        TABLE_NAME: bindTable(props.table, 'leases'),
        POLICY_FILE: props.policyFile,
        SLACK_SECRET_ARN: bindSecretRead(props.slackSecret),
        ACTION_QUEUE_URL: bindQueueSend(this.actionQueue),
      },
    });

    this.worker = new ReauthFunction(this, 'Worker', {
      entry: 'lambdas/slack-worker/handler.ts',
      description: `reauth Slack worker: disables, restores and rotates credentials at their owner's request (${props.policy.mode} mode)`,
      timeout: WORKER_TIMEOUT,
      environmentSchema: SlackWorkerEnvSchema,
      environment: {
        TABLE_NAME: bindTable(props.table, 'write'),
        POLICY_FILE: props.policyFile,
        SLACK_SECRET_ARN: bindSecretRead(props.slackSecret),
      },
    });
    if (!props.memberAccountsOnly)
      grantCredentialAccess(this.worker.role, workerGrants(props.policy.mode, props.disablePolicyName));
    this.worker.function.addEventSource(
      new SqsEventSource(this.actionQueue, { batchSize: 5, reportBatchItemFailures: true }),
    );

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.api = new HttpApi(this, 'Api', {
      description: 'reauth: Slack interactivity endpoint (owners answering reauthorization requests)',
      // The stage is defined below, with throttling and access logs.
      createDefaultStage: false,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 20, burstLimit: 40 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // HTTP API variables, as JSON: who called, which route, what the function answered and how fast.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            sourceIp: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    const [route] = this.api.addRoutes({
      path: SLACK_INTERACTIONS_PATH,
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('Interactions', this.endpoint.function),
    });
    if (route) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          "No IAM or Cognito authorizer: Slack can neither sign requests with SigV4 nor present a JWT. Instead the function verifies every request's Slack signature (HMAC-SHA256 over the raw body with the signing secret, within a 5-minute window) before anything is parsed, and then checks that the clicker may answer for the credential.",
      });
    }
    this.interactionUrl = `${this.api.apiEndpoint}${SLACK_INTERACTIONS_PATH}`;

    const topic = props.alarmTopic;
    alarmOnCount(this, 'EndpointErrorsAlarm', {
      description:
        "The reauth Slack endpoint failed: owners' clicks may not be recorded (Slack shows them an error).",
      metric: this.endpoint.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      topic,
    });
    alarmOnCount(this, 'WorkerErrorsAlarm', {
      description:
        'The reauth Slack worker failed: a disable, restore or rotation an owner asked for may be retried or dead-lettered.',
      metric: this.worker.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      topic,
    });
    alarmOnQueued(this, 'ActionDeadLettersAlarm', {
      description:
        'An action an owner asked for in Slack failed three times and was dead-lettered: see the action dead-letter queue.',
      queue: this.actionDeadLetterQueue,
      topic,
    });
  }
}
