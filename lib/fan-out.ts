import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  Choice,
  Condition,
  DefinitionBody,
  DistributedMap,
  JitterType,
  JsonPath,
  LogLevel,
  Pass,
  Result,
  ResultWriterV2,
  S3JsonItemReader,
  StateMachine,
  StateMachineType,
  Succeed,
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

/** Every Lambda task of the fan-out: retried on Lambda's transient errors, with backoff and jitter. */
const LAMBDA_RETRY = {
  errors: LAMBDA_TRANSIENT_ERRORS,
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 6,
  maxDelay: Duration.minutes(1),
  jitterStrategy: JitterType.FULL,
};

/** Properties of a {@link FanOut}. */
export interface FanOutProps {
  /** What runs, in descriptions and the definition's comment: `reauth scan`. */
  readonly label: string;
  /** Passed to the summary as `job`. */
  readonly job: 'scan' | 'enforce';
  /**
   * Returns `{ runId, at, accounts, selected, organization, organizationId }` (lambdas/org-accounts):
   * `accounts` and `organization` are S3 objects in {@link resultsBucket}, never the lists themselves.
   */
  readonly listAccounts: IFunction;
  /** Runs once per member account, given `{ account, organization, organizationId, runId }`. */
  readonly perAccount: IFunction;
  /**
   * Given `{ job, runId, accounts, results, previous }` after every account is done (lambdas/org-summary);
   * returns `{ done: true, … }`, or `{ done: false, … }` to be given back as `previous` in another pass.
   */
  readonly summary: IFunction;
  /** Member accounts run at once: the Distributed Map's MaxConcurrency. */
  readonly maxConcurrency: number;
  /** The Map fails when more than this percentage of its child executions fail. */
  readonly toleratedFailurePercentage: number;
  /** Where the list step writes the account list the Map reads (ItemReader) and the Map writes every account's result (ResultWriter). */
  readonly resultsBucket: IBucket;
  /** The key prefix of the results in {@link resultsBucket}. */
  readonly resultsPrefix: string;
  /** A run that takes longer is stopped (and alarms). */
  readonly timeout: Duration;
}

/**
 * A reauth job across an AWS Organization, as a standard state machine: list the member accounts
 * into S3, run the job in each through a Distributed Map that reads them from there (at most
 * `maxConcurrency` at once, retried with backoff on Lambda's and STS's throttling, each account's
 * failure kept as a result with its reason), write every result to S3, then summarize, in as many
 * passes as the summary needs.
 *
 * No state's input or output grows with the organization (Step Functions caps each at 256 KiB): the
 * account list, the organization's account ids, the results and the failures are S3 objects, and the
 * states pass references and counts. Each child gets its own account and those references.
 *
 * No ItemBatcher: a batch would run its accounts one after another in one Lambda, and each account's
 * scan is seconds of waiting on IAM, which accounts in parallel children overlap.
 *
 * The definition holds only what Step Functions Local-style interpreters also run: JSONPath,
 * `arn:aws:states:::lambda:invoke` with the function's ARN, Pass, Choice and Succeed states, a
 * DISTRIBUTED Map with an S3 JSON `ItemReader` and an S3 `ResultWriter`.
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
      }).addRetry(LAMBDA_RETRY);

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
      itemReader: new S3JsonItemReader({
        bucket: props.resultsBucket,
        key: JsonPath.stringAt('$.accounts.Key'),
      }),
      itemSelector: {
        'account.$': '$$.Map.Item.Value',
        'organization.$': '$.organization',
        'organizationId.$': '$.organizationId',
        'runId.$': '$.runId',
      },
      maxConcurrency: props.maxConcurrency,
      toleratedFailurePercentage: props.toleratedFailurePercentage,
      mapExecutionType: StateMachineType.STANDARD,
      resultWriterV2: new ResultWriterV2({ bucket: props.resultsBucket, prefix: props.resultsPrefix }),
      resultPath: '$.results',
    }).itemProcessor(perAccount);

    // The summary's first pass starts from nothing; each pass's output is the next one's `previous`.
    const startSummary = new Pass(this, 'StartSummary', {
      result: Result.fromObject({ done: false }),
      resultPath: '$.summary',
    });
    const summary = new LambdaInvoke(this, 'Summarize', {
      lambdaFunction: props.summary,
      payload: TaskInput.fromObject({
        job: props.job,
        runId: JsonPath.stringAt('$.runId'),
        accounts: JsonPath.objectAt('$.accounts'),
        results: JsonPath.objectAt('$.results'),
        previous: JsonPath.objectAt('$.summary'),
      }),
      resultSelector: { 'summary.$': '$.Payload' },
      resultPath: '$.summarized',
      retryOnServiceExceptions: false,
    }).addRetry(LAMBDA_RETRY);
    // The Lambda's answer is under `Payload`: the pass's output takes the place of the one before.
    const keepSummary = new Pass(this, 'KeepSummary', {
      inputPath: '$.summarized.summary',
      resultPath: '$.summary',
    });
    const moreToTell = new Choice(this, 'SummaryDone')
      .when(Condition.booleanEquals('$.summary.done', false), summary)
      .otherwise(new Succeed(this, 'Summarized', { outputPath: '$.summary' }));

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment: `${props.label} across the organization: list the accounts, run in each, summarize`,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(
        listAccounts.next(eachAccount).next(startSummary).next(summary).next(keepSummary).next(moreToTell),
      ),
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
