import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type * as z from 'zod';
import { EXPIRES_AT, LEASE_ATTRIBUTES, leasePk, TABLE_KEYS } from '../lambdas/shared/table-layout';

/** The repository root: Lambda entries, the lock file and the default policy file are found from here. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * An environment value that needs more than a string: a grant, or a file shipped in the bundle.
 * Bindings sit in the typed `environment` itself, so the contract still has one entry per variable
 * (a missing one fails `tsc`) and the variable, its grant and its file are set in one place.
 */
export interface EnvBinding {
  /** Shell commands run after esbuild, given the bundle's output directory. */
  readonly afterBundling?: (outputDir: string) => string[];
  /** Grants what the value needs to the function and returns the variable's value. */
  bind(fn: NodejsFunction): string;
}

/**
 * TABLE_NAME plus data access to the table: `read`; `write` = read + put and update; `leases` = read +
 * put and update of lease items only (`LEASE#…`: their keys, `holder`, `until` and `expiresAt`), for the
 * internet-facing Slack endpoint. DynamoDB's IAM tells items apart by partition key alone
 * (`dynamodb:LeadingKeys`), not a credential's STATE from its DECISIONs, so a function that may write one
 * item of a credential may overwrite its state and rewrite its history: the endpoint writes none (the
 * worker records its answers). The decisions are an append-only compliance record, so no function may
 * delete items (no DeleteItem, BatchWriteItem).
 */
export function bindTable(table: TableV2, access: 'read' | 'write' | 'leases'): EnvBinding {
  return {
    bind: (fn) => {
      table.grantReadData(fn);
      if (access === 'write')
        table.grant(fn, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem');
      if (access === 'leases') {
        fn.addToRolePolicy(
          new PolicyStatement({
            actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
            resources: [table.tableArn],
            conditions: {
              // ForAllValues holds for an empty set too: Null makes the partition key a must.
              Null: { 'dynamodb:LeadingKeys': 'false' },
              'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [leasePk('*')] },
              'ForAllValues:StringEquals': {
                'dynamodb:Attributes': [
                  TABLE_KEYS.partitionKey,
                  TABLE_KEYS.sortKey,
                  ...LEASE_ATTRIBUTES,
                  EXPIRES_AT,
                ],
              },
            },
          }),
        );
      }
      const tableId = Stack.of(table).getLogicalId(table.node.defaultChild as CfnElement);
      if (fn.role) {
        Validations.of(fn.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
          reason: `The ${access} grant on the decision table extends to its indexes: state is loaded per account with one paged Query on the stateByAccount GSI instead of a read per credential.`,
        });
      }
      return table.tableName;
    },
  };
}

/** The secret's ARN plus read access to that one secret (GetSecretValue, DescribeSecret). */
export function bindSecretRead(secret: ISecret): EnvBinding {
  return {
    bind: (fn) => {
      secret.grantRead(fn);
      return secret.secretArn;
    },
  };
}

/** The queue's URL plus the right to send to it, and nothing else on it. */
export function bindQueueSend(queue: IQueue): EnvBinding {
  return {
    bind: (fn) => {
      queue.grantSendMessages(fn);
      return queue.queueUrl;
    },
  };
}

/** Ships `path` in the bundle as `name`; the variable holds `name`, resolved against LAMBDA_TASK_ROOT. */
export function bundleFile(path: string, name: string): EnvBinding {
  return {
    afterBundling: (outputDir) => [`cp ${shellQuote(resolve(path))} ${shellQuote(join(outputDir, name))}`],
    bind: () => name,
  };
}

/** Ships `text` in the bundle as `name` (a policy given as an object); the variable holds `name`. */
export function bundleText(text: string, name: string): EnvBinding {
  return {
    afterBundling: (outputDir) => [`printf '%s' ${shellQuote(text)} > ${shellQuote(join(outputDir, name))}`],
    bind: () => name,
  };
}

/** One shell word, whatever `s` holds: the bundling hooks run through the shell. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Properties of a {@link ReauthFunction}. */
export interface ReauthFunctionProps<S extends z.ZodObject> {
  /** The handler, relative to the repo root: `lambdas/<name>/handler.ts`. */
  readonly entry: string;
  /** What the function does; also describes its role. */
  readonly description: string;
  /** The function's environment contract (`lambdas/<name>/env.ts`); literal values are checked at synth. */
  readonly environmentSchema: S;
  /** One value per variable of the contract, or a binding (`bindTable`, `bundleFile`). */
  readonly environment: { readonly [K in keyof z.input<S>]: string | EnvBinding };
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /**
   * Ship a source map and start Node with `--enable-source-maps`, so a stack trace in the logs names
   * reauth's files and lines instead of positions in one minified line. Node then reads the map (larger
   * than the bundle: about 12 ms of CPU, `npm run bench`) when the bundle loads, and maps every stack
   * trace it formats: worth it for jobs whose failures someone investigates from the logs, not where
   * a person waits on the cold start.
   * @default true
   */
  readonly sourceMaps?: boolean;
  /** @default RetentionDays.ONE_YEAR */
  readonly logRetention?: RetentionDays;
  /**
   * Logs say what each run did, so they expire with their retention rather than with the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A reauth Lambda with the house defaults: Node.js 24 on ARM64, a minified ESM bundle built locally by
 * esbuild (with source maps unless `sourceMaps: false`), JSON logs into its own log group, and a role
 * that may write only to that log group.
 */
export class ReauthFunction<S extends z.ZodObject> extends Construct {
  /** The handler, relative to the repo root (as given): what a local run of the function imports. */
  readonly entry: string;
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ReauthFunctionProps<S>) {
    super(scope, id);
    this.entry = props.entry;
    const environment = Object.entries(props.environment) as [string, string | EnvBinding][];
    const literals = Object.fromEntries(
      environment.filter((e): e is [string, string] => typeof e[1] === 'string' && !Token.isUnresolved(e[1])),
    );
    const checked = props.environmentSchema.partial().safeParse(literals);
    if (!checked.success) throw new Error(`${this.node.path} environment: ${checked.error.message}`);

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_YEAR,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role: ${props.description}`,
    });
    // Instead of AWSLambdaBasicExecutionRole, which may write to every log group in the account.
    this.logGroup.grantWrite(this.role);

    const sourceMaps = props.sourceMaps ?? true;
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, props.entry),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 256,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      ...(sourceMaps && { environment: { NODE_OPTIONS: '--enable-source-maps' } }),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        // Some CommonJS dependencies call require() for Node built-ins, which ESM output lacks.
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        // Ship the SDK versions the tests ran against, not whichever the runtime carries today. A bundle
        // holds only the SDK clients its handler builds (see lambdas/shared/adapters/aws-clients.ts).
        bundleAwsSDK: true,
        minify: true,
        sourceMap: sourceMaps,
        sourcesContent: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir, outputDir) =>
            environment.flatMap(([, value]) =>
              typeof value === 'string' ? [] : (value.afterBundling?.(outputDir) ?? []),
            ),
        },
      },
    });
    for (const [name, value] of environment) {
      this.function.addEnvironment(name, typeof value === 'string' ? value : value.bind(this.function));
    }
  }
}
