import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Architecture,
  Code,
  Function as LambdaFunction,
  LoggingFormat,
  Runtime,
} from 'aws-cdk-lib/aws-lambda';
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
 * Where the installed package keeps each function's bundle, built when the package was built
 * (`npm run build`: `dist/assets/<name>/index.mjs`, beside this module's compiled `dist/lib/`). From
 * the sources (this repository's app, its tests and demos) there is no such folder, and `cdk synth`
 * bundles each function with esbuild instead. A user's synth so needs neither esbuild, Docker nor a
 * lock file of reauth's, which `npm pack` does not ship.
 */
export const PREBUILT_ASSETS = fileURLToPath(new URL('../assets/', import.meta.url));

/** The runtime every function runs on: the one its bundle is built for (esbuild's target) and tested on. */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

/** esbuild's settings for every function, whether `cdk synth` bundles it or the package build does. */
export const LAMBDA_BUNDLE = {
  format: 'esm',
  target: LAMBDA_RUNTIME.name.replace(/^nodejs(\d+)\.x$/, 'node$1'),
  mainFields: ['module', 'main'],
  // Some CommonJS dependencies call require() for Node built-ins, which ESM output lacks.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  minify: true,
  sourcesContent: false,
  /** The module file; Lambda's handler is `index.handler`. */
  file: 'index.mjs',
} as const;

/** The function's name in `lambdas/<name>/handler.ts`: its prebuilt bundle is `PREBUILT_ASSETS/<name>`. */
export function lambdaName(entry: string): string {
  const name = basename(dirname(entry));
  if (!/^[a-z][a-z0-9-]*$/.test(name) || basename(entry) !== 'handler.ts') {
    throw new Error(`entry: "${entry}" is not lambdas/<name>/handler.ts`);
  }
  return name;
}

/** A file shipped in a function's bundle beside its code: a copy of `path`, or `text`. */
export type ShippedFile = { readonly name: string } & ({ readonly path: string } | { readonly text: string });

/** The shell commands that write `file` into `outputDir` (esbuild's bundling hooks run through the shell). */
export function shipCommands(file: ShippedFile, outputDir: string): string[] {
  const target = shellQuote(join(outputDir, file.name));
  return 'path' in file
    ? [`cp ${shellQuote(resolve(file.path))} ${target}`]
    : [`printf '%s' ${shellQuote(file.text)} > ${target}`];
}

/**
 * An environment value that needs more than a string: a grant, or a file shipped in the bundle.
 * Bindings sit in the typed `environment` itself, so the contract still has one entry per variable
 * (a missing one fails `tsc`) and the variable, its grant and its file are set in one place.
 */
export interface EnvBinding {
  /** A file the bundle must hold beside the code. */
  readonly ships?: ShippedFile;
  /** Grants what the value needs to the function and returns the variable's value. */
  bind(fn: LambdaFunction): string;
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
  return { ships: { name, path: resolve(path) }, bind: () => name };
}

/** Ships `text` in the bundle as `name` (a policy given as an object); the variable holds `name`. */
export function bundleText(text: string, name: string): EnvBinding {
  return { ships: { name, text }, bind: () => name };
}

/**
 * The asset folder of an installed package's function: its prebuilt bundle (and source map, if used)
 * with the files it ships, such as the policy. The folder is named by its contents' hash, so a synth
 * that asks for the same contents reuses it, and `Code.fromAsset` copies it into the cloud assembly.
 */
function stagePrebuilt(name: string, sourceMaps: boolean, shipped: readonly ShippedFile[]): string {
  const built = join(PREBUILT_ASSETS, name);
  const code = [LAMBDA_BUNDLE.file, ...(sourceMaps ? [`${LAMBDA_BUNDLE.file}.map`] : [])];
  for (const file of code) {
    if (!existsSync(join(built, file))) {
      throw new Error(
        `reauth's package has no prebuilt ${join(built, file)}: reinstall it, or build it (npm run build)`,
      );
    }
  }
  const contents = [
    ...code.map((file) => [file, readFileSync(join(built, file))] as const),
    ...shipped.map(
      (file) => [file.name, 'path' in file ? readFileSync(file.path) : Buffer.from(file.text)] as const,
    ),
  ];
  const hash = createHash('sha256');
  for (const [file, bytes] of contents) hash.update(`${file}\0${bytes.length}\0`).update(bytes);
  const dir = join(tmpdir(), 'reauth-assets', `${name}-${hash.digest('hex').slice(0, 32)}`);
  if (existsSync(dir)) return dir;
  // Written aside and renamed, so a synth running beside this one never sees a half-written folder.
  const partial = `${dir}.${process.pid}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  for (const [file, bytes] of contents) writeFileSync(join(partial, file), bytes);
  try {
    renameSync(partial, dir);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(dir)) throw error;
  }
  return dir;
}

/** The newest Node.js runtime this aws-cdk-lib knows (the user's: a newer one than reauth's own may). */
function newestNodeRuntime(): string {
  const version = (name: string) => Number(/^nodejs(\d+)/.exec(name)?.[1] ?? 0);
  return Runtime.ALL.map((runtime) => runtime.name)
    .filter((name) => version(name) > 0)
    .reduce((newest, name) => (version(name) > version(newest) ? name : newest), LAMBDA_RUNTIME.name);
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
  /**
   * glibc's malloc arenas for node (`MALLOC_ARENA_MAX`, read when the process starts). glibc gives each
   * thread that allocates an arena of its own, up to 8 per core, and V8's helper threads (concurrent
   * marking, sweeping, compiling) keep what they free in theirs, where nothing else reuses it: for a
   * function whose peak memory is measured (the scan's, `npm run bench`), a few arenas hold the same work.
   * @default glibc's
   */
  readonly mallocArenas?: number;
  /** @default RetentionDays.ONE_YEAR */
  readonly logRetention?: RetentionDays;
  /**
   * Logs say what each run did, so they expire with their retention rather than with the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A reauth Lambda with the house defaults: Node.js 24 on ARM64, a minified ESM bundle (the package's
 * prebuilt one when installed, else built at synth by esbuild from the sources; with source maps unless
 * `sourceMaps: false`), JSON logs into its own log group, and a role that may write only to that log group.
 */
export class ReauthFunction<S extends z.ZodObject> extends Construct {
  /** The handler, relative to the repo root (as given): what a local run of the function imports. */
  readonly entry: string;
  /** A `NodejsFunction` when synthesized from the sources, a `Function` of the prebuilt bundle when installed. */
  readonly function: LambdaFunction;
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
    const shipped = environment.flatMap(([, value]) =>
      typeof value !== 'string' && value.ships ? [value.ships] : [],
    );
    const common = {
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 256,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        ...(sourceMaps && { NODE_OPTIONS: '--enable-source-maps' }),
        ...(props.mallocArenas !== undefined && { MALLOC_ARENA_MAX: String(props.mallocArenas) }),
      },
    };
    this.function = existsSync(PREBUILT_ASSETS)
      ? new LambdaFunction(this, 'Function', {
          ...common,
          code: Code.fromAsset(stagePrebuilt(lambdaName(props.entry), sourceMaps, shipped)),
          handler: 'index.handler',
        })
      : new NodejsFunction(this, 'Function', {
          ...common,
          entry: join(REPO_ROOT, props.entry),
          projectRoot: REPO_ROOT,
          depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
          bundling: {
            forceDockerBundling: false,
            format: OutputFormat.ESM,
            mainFields: [...LAMBDA_BUNDLE.mainFields],
            banner: LAMBDA_BUNDLE.banner,
            // Ship the SDK versions the tests ran against, not whichever the runtime carries today. A bundle
            // holds only the SDK clients its handler builds (see lambdas/shared/adapters/aws-clients.ts).
            bundleAwsSDK: true,
            minify: LAMBDA_BUNDLE.minify,
            sourceMap: sourceMaps,
            sourcesContent: LAMBDA_BUNDLE.sourcesContent,
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (_inputDir, outputDir) =>
                shipped.flatMap((file) => shipCommands(file, outputDir)),
            },
          },
        });
    const newest = newestNodeRuntime();
    if (newest !== LAMBDA_RUNTIME.name) {
      Validations.of(this.function).acknowledge({
        id: 'AwsSolutions-L1',
        reason: `The function runs ${LAMBDA_RUNTIME.name}, which its prebuilt bundle is built for and reauth's tests run on; this aws-cdk-lib knows ${newest}, which a reauth release adopts once tested.`,
      });
    }
    for (const [name, value] of environment) {
      this.function.addEnvironment(name, typeof value === 'string' ? value : value.bind(this.function));
    }
  }
}
