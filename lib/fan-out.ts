import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  DefinitionBody,
  DistributedMap,
  JitterType,
  JsonPath,
  LogLevel,
  Pass,
  ResultWriterV2,
  StateMachine,
  StateMachineType,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';

/** Lambda's own transient failures of an invoke, retried on every task. */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.TooManyRequestsException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
];

/**
 * Throttling a member account's scan may meet (STS AssumeRole, IAM's per-account limits), by the name
 * the SDK gives the error, which the handler lets through as the Lambda error's type.
 */
export const THROTTLING_ERRORS = ['Throttling', 'ThrottlingException', 'TooManyRequestsException'];

/** Properties of a {@link FanOut}. */
export interface FanOutProps {
  /** What runs, in descriptions and the definition's comment: `reauth scan`. */
  readonly label: string;
  /** Passed to the summary as `job`. */
  readonly job: 'scan' | 'enforce';
  /** Returns `{ runId, at, accounts, organizationAccounts }` (lambdas/org-accounts). */
  readonly listAccounts: IFunction;
  /** Runs once per member account, given `{ account, organizationAccounts, runId }`. */
  readonly perAccount: IFunction;
  /** Given `{ job, runId, accounts, results }` after every account is done (lambdas/org-summary). */
  readonly summary: IFunction;
  /** Member accounts run at once: the Distributed Map's MaxConcurrency. */
  readonly maxConcurrency: number;
  /** The Map fails when more than this percentage of its child executions fail. */
  readonly toleratedFailurePercentage: number;
  /** Where the Map writes every account's result (ResultWriter). */
  readonly resultsBucket: IBucket;
  /** The key prefix of the results in {@link resultsBucket}. */
  readonly resultsPrefix: string;
  /** A run that takes longer is stopped (and alarms). */
  readonly timeout: Duration;
}

/**
 * A reauth job across an AWS Organization, as a standard state machine: list the member accounts,
 * run the job in each through a Distributed Map (at most `maxConcurrency` at once, retried with
 * backoff on Lambda's and STS's throttling, each account's failure kept as a result with its reason),
 * write every result to S3, then summarize once.
 *
 * The definition holds only what Step Functions Local-style interpreters also run: JSONPath,
 * `arn:aws:states:::lambda:invoke` with the function's ARN, a Pass state, a DISTRIBUTED Map with
 * `ItemsPath` and an S3 `ResultWriter`.
 */
export class FanOut extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: FanOutProps) {
    super(scope, id);
    const invoke = (taskId: string, fn: IFunction, payload?: TaskInput) =>
      new LambdaInvoke(this, taskId, {
        lambdaFunction: fn,
        payload,
        outputPath: '$.Payload',
        // Retried below, with backoff and jitter, instead of CDK's default retry.
        retryOnServiceExceptions: false,
      }).addRetry({
        errors: LAMBDA_TRANSIENT_ERRORS,
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 6,
        maxDelay: Duration.minutes(1),
        jitterStrategy: JitterType.FULL,
      });

    const listAccounts = invoke('ListAccounts', props.listAccounts);

    const perAccount = invoke('RunInAccount', props.perAccount)
      .addRetry({
        errors: THROTTLING_ERRORS,
        interval: Duration.seconds(1),
        backoffRate: 2,
        maxAttempts: 8,
        maxDelay: Duration.seconds(30),
        jitterStrategy: JitterType.FULL,
      })
      .addCatch(
        // A failed account (MemberRoleMissing, retries spent) is a result like any other, with its
        // reason, so the summary reports each one and the other accounts run on.
        new Pass(this, 'AccountFailed', {
          parameters: {
            'accountId.$': '$.account.accountId',
            ok: false,
            'error.$': '$.failure.Error',
            'cause.$': '$.failure.Cause',
          },
        }),
        { errors: ['States.ALL'], resultPath: '$.failure' },
      );

    const eachAccount = new DistributedMap(this, 'EachAccount', {
      itemsPath: '$.accounts',
      itemSelector: {
        'account.$': '$$.Map.Item.Value',
        'organizationAccounts.$': '$.organizationAccounts',
        'organizationId.$': '$.organizationId',
        'runId.$': '$.runId',
      },
      maxConcurrency: props.maxConcurrency,
      toleratedFailurePercentage: props.toleratedFailurePercentage,
      mapExecutionType: StateMachineType.STANDARD,
      resultWriterV2: new ResultWriterV2({ bucket: props.resultsBucket, prefix: props.resultsPrefix }),
      resultPath: '$.results',
    }).itemProcessor(perAccount);

    const summary = invoke(
      'Summarize',
      props.summary,
      TaskInput.fromObject({
        job: props.job,
        runId: JsonPath.stringAt('$.runId'),
        accounts: JsonPath.listAt('$.accounts'),
        results: JsonPath.objectAt('$.results'),
      }),
    );

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment: `${props.label} across the organization: list the accounts, run in each, summarize`,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(listAccounts.next(eachAccount).next(summary)),
      timeout: props.timeout,
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'Logs', {
          retention: RetentionDays.ONE_YEAR,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
        level: LogLevel.ALL,
        // State inputs and outputs hold account lists and results, which S3 and the summary keep.
        includeExecutionData: false,
      },
    });
  }
}

/** A state machine's definition: its ASL, with the template's `Ref`/`Fn::GetAtt`/`Fn::Join` left in. */
export type StateMachineDefinition = Record<string, unknown>;

/**
 * Every state machine's definition in a synthesized template, by logical id, as ASL JSON whose string
 * values that held a CloudFormation token are that token: `{"Ref": …}` or `{"Fn::GetAtt": […]}` when
 * the whole string was one, else `{"Fn::Join": ["", [parts…]]}` (such as the task `Resource`
 * `arn:<AWS::Partition>:states:::lambda:invoke`). Whoever runs the definition resolves them.
 */
export function stateMachineDefinitions(template: {
  Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}): Record<string, StateMachineDefinition> {
  const definitions: Record<string, StateMachineDefinition> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
    definitions[logicalId] = parseWithTokens(resource.Properties?.DefinitionString);
  }
  return definitions;
}

/** Parses a `DefinitionString` (a string, or an `Fn::Join` of strings and tokens), keeping the tokens. */
function parseWithTokens(definitionString: unknown): StateMachineDefinition {
  const parts: unknown[] =
    typeof definitionString === 'string'
      ? [definitionString]
      : ((definitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1] ?? []);
  // Each token becomes a marker no definition contains (a private-use character), then is put back where the JSON held it.
  const tokens: unknown[] = [];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      tokens.push(part);
      return `\uE000${tokens.length - 1}\uE000`;
    })
    .join('');
  const marker = /\uE000(\d+)\uE000/g;
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value !== 'string' || !value.includes('\uE000')) return value;
    const pieces = value.split(marker).map((piece, i) => (i % 2 === 1 ? tokens[Number(piece)] : piece));
    const kept = pieces.filter((piece) => piece !== '');
    return kept.length === 1 && typeof kept[0] !== 'string' ? kept[0] : { 'Fn::Join': ['', kept] };
  }) as StateMachineDefinition;
}
