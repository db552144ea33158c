/**
 * Runs reauth's organization fan-out on the local emulator as AWS would run it: the state machine is
 * the one `cdk synth` writes for the hub (`buildApp` with bundling off, from `policy`), not a copy;
 * its Lambda tasks run the real handlers (lambdas/<name>/handler.ts) on a Lambda bridge, each with
 * the environment its construct gives it in the template, the tokens made the emulator's:
 *
 * - the decision table's `Ref` → `table`, the results bucket's → `names.resultsBucket` (created here);
 * - the Slack secret's `Ref` → `slack.secretArn` (no Slack: the variable is left out, nobody is told),
 *   plus `SLACK_API_URL` → `slack.apiBaseUrl` (the fake Slack);
 * - `POLICY_FILE` → a temporary file holding `policy` (the file synth validated);
 * - `ORG_MODE` and the rest as synthesized; `NODE_OPTIONS` left out (it starts a process, and the
 *   handlers run in this one).
 *
 *     const { status, output } = await runFanOut({ emulator, job: 'scan', policy, organizationId, table });
 *
 * The process's environment must point the AWS SDK at the emulator (`emulatorEnv`): the handlers run
 * here. Each policy is synthesized once per process (about 6 s); each run imports its handlers afresh
 * (their cold start reads that run's environment), and this process's environment is put back after.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { createS3Client } from '../../lambdas/shared/adapters/aws-clients';
import type { PolicyConfigInput } from '../../lambdas/shared/domain/policy';
import { stateMachineDefinitions } from '../../lib/fan-out';
import { Organization } from '../../lib/organization';
import { buildApp } from '../../lib/reauth-app';
import { REPO_ROOT, ReauthFunction } from '../../lib/reauth-function';
import type { EmulatorControl } from '../emulator/emulator';
import { type BridgedFunction, startLambdaBridge } from '../emulator/lambda-bridge';
import { SESSION_POLICIES_FUNCTION } from '../emulator/session-policies';
import { type Execution, emulatedDefinition, runStateMachine } from '../emulator/state-machines';

export interface FanOutOptions {
  emulator: Pick<EmulatorControl, 'endpoint' | 'bridgeLambda'>;
  /** Which state machine: the daily scan's or the hourly enforce job's. */
  job: 'scan' | 'enforce';
  /** The hub's policy; it needs an `organization` section. */
  policy: PolicyConfigInput;
  /** The emulated organization's id (`o-…`), as `cdk deploy -c organizationId=` takes it. */
  organizationId: string;
  /** @default none */
  organizationRootId?: string;
  /** The decision table (it must exist: scripts/local/decision-table.ts). */
  table: string;
  /** The Slack secret (`{ signingSecret, botToken }`) and the API it talks to. @default none: nobody is told */
  slack?: { secretArn: string; apiBaseUrl: string };
  /** The execution's input. @default `{}`, as the schedule starts it */
  input?: unknown;
  /** More environment for every function (e.g. `POWERTOOLS_LOG_LEVEL`). */
  env?: Record<string, string>;
  names?: { resultsBucket?: string };
  /**
   * Handler modules that run instead of the task's own: a stand-in, for a run whose subject is the
   * state machine and not the handler (scripts/bench/org-states.ts's scan, a test's summary passes).
   * @default each task's own handler
   */
  standIns?: { perAccount?: string; summary?: string };
  /** @default 120_000 */
  timeoutMs?: number;
}

type Template = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
};

interface SynthesizedHub {
  template: Template;
  /** Each function's handler module (absolute path), by logical id. */
  entries: Map<string, string>;
  policyFile: string;
  resultsBucketId: string;
}

const synthesized = new Map<string, SynthesizedHub>();
let runs = 0;
/** Tells this process's functions and executions from another's on the same emulator (a demo beside a bench). */
const PROCESS = Math.random().toString(36).slice(2, 8);

/** Synthesizes the hub, runs `job`'s state machine once on the emulator, and returns how it ended. */
export async function runFanOut(options: FanOutOptions): Promise<Execution> {
  const hub = synthesizeHub(options.policy, options.organizationId, options.organizationRootId);
  const machines = Object.entries(stateMachineDefinitions(hub.template));
  const machine = machines.find(([, definition]) => summaryJob(definition) === options.job)?.[0];
  if (!machine)
    throw new Error(`the synthesized hub has no ${options.job} fan-out (no organization section?)`);

  const resultsBucket = options.names?.resultsBucket ?? 'reauth-fan-out-results';
  const { resultsBucketId: bucketId } = hub;
  // Each run its own function names, so the bridge imports each handler afresh with this run's environment.
  const run = `${PROCESS}-${++runs}`;
  const names: Record<string, string> = { [bucketId]: resultsBucket };
  for (const id of hub.entries.keys()) names[id] = `${id}-${run}`;
  const { definition, functions } = emulatedDefinition(hub.template, machine, names);

  await createS3Client()
    .send(new CreateBucketCommand({ Bucket: resultsBucket }))
    .catch((error: Error) => {
      if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
    });
  const resolveRef = (id: string): string | undefined => {
    const type = hub.template.Resources[id]?.Type;
    if (type === 'AWS::DynamoDB::Table' || type === 'AWS::DynamoDB::GlobalTable') return options.table;
    if (type === 'AWS::S3::Bucket' && id === bucketId) return resultsBucket;
    if (type === 'AWS::SecretsManager::Secret') return options.slack?.secretArn;
    // The session policy writer runs as this process serves it (see ../emulator/session-policies.ts).
    if (type === 'AWS::Lambda::Function' && id.startsWith('SessionPoliciesWriter'))
      return SESSION_POLICIES_FUNCTION;
    throw new Error(`no emulator value for ${id} (${type})`);
  };
  const bridged: Record<string, BridgedFunction> = {};
  const tasks = taskFunctions(stateMachineDefinitions(hub.template)[machine] ?? {});
  const standIns = new Map<string | undefined, string | undefined>([
    [tasks.perAccount, options.standIns?.perAccount],
    [tasks.summary, options.standIns?.summary],
  ]);
  for (const [id, arn] of Object.entries(functions)) {
    const standIn = standIns.get(id);
    const module = standIn ? resolve(standIn) : hub.entries.get(id);
    if (!module) throw new Error(`${id} is not a reauth function: no handler to bridge`);
    const env: Record<string, string> = {};
    const variables = (hub.template.Resources[id]?.Properties?.Environment as { Variables?: object })
      ?.Variables;
    for (const [name, value] of Object.entries(variables ?? {})) {
      if (name === 'NODE_OPTIONS') continue;
      if (name === 'POLICY_FILE') env[name] = hub.policyFile;
      // The stack's checkpoint key is not in the emulator: the emulated run writes unsigned records.
      else if (name === 'CHECKPOINT_KEY_ID') continue;
      else if (typeof value === 'string') env[name] = value;
      else if (typeof (value as { Ref?: unknown }).Ref === 'string') {
        const resolved = resolveRef((value as { Ref: string }).Ref);
        if (resolved !== undefined) env[name] = resolved;
      } else throw new Error(`${id}: cannot resolve ${name} = ${JSON.stringify(value)} for the emulator`);
    }
    if (options.slack) env.SLACK_API_URL = options.slack.apiBaseUrl;
    bridged[arn] = { module, env: { ...env, ...options.env } };
  }

  const saved = { ...process.env };
  const bridge = await startLambdaBridge(bridged);
  try {
    await options.emulator.bridgeLambda(bridge);
    return await runStateMachine(options.emulator.endpoint, {
      definition,
      input: options.input ?? {},
      name: `reauth-${options.job}-${run}`,
      timeoutMs: options.timeoutMs ?? 120_000,
    });
  } finally {
    await bridge.close();
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

/** The hub app as `cdk synth` builds it from `policy` (bundling off), once per policy and organization. */
function synthesizeHub(policy: PolicyConfigInput, organizationId: string, rootId?: string): SynthesizedHub {
  const key = JSON.stringify([policy, organizationId, rootId]);
  const cached = synthesized.get(key);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'reauth-org-fan-out-'));
  const policyFile = join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(policy));
  const built = buildApp({
    bundling: false,
    configPath: policyFile,
    outdir: join(dir, 'cdk.out'),
    homeRegion: 'us-east-1',
    organizationId,
    organizationRootId: rootId,
  });
  const template = built.app.synth().getStackArtifact(built.stack.artifactId).template as Template;
  // The template is all a run needs; the policy file stays (the handlers' POLICY_FILE).
  rmSync(join(dir, 'cdk.out'), { recursive: true, force: true });
  const logicalId = (c: IConstruct) => built.stack.getLogicalId(c.node.defaultChild as CfnElement);
  const entries = new Map<string, string>();
  let resultsBucketId: string | undefined;
  for (const construct of built.stack.node.findAll()) {
    if (construct instanceof ReauthFunction)
      entries.set(logicalId(construct.function), resolve(REPO_ROOT, construct.entry));
    if (construct instanceof Organization) resultsBucketId = logicalId(construct.resultsBucket);
  }
  if (!resultsBucketId) throw new Error('the policy has no organization section: the hub has no fan-out');
  const hub = { template, entries, policyFile, resultsBucketId };
  synthesized.set(key, hub);
  return hub;
}

/** The logical ids of the functions a fan-out definition runs in each account and to summarize. */
function taskFunctions(definition: Record<string, unknown>): { perAccount?: string; summary?: string } {
  type Task = { Parameters?: { FunctionName?: { 'Fn::GetAtt'?: [string, string] } } };
  const states = definition.States as Record<
    string,
    Task & { ItemProcessor?: { States?: Record<string, Task> } }
  >;
  const functionOf = (task: Task | undefined) => task?.Parameters?.FunctionName?.['Fn::GetAtt']?.[0];
  return {
    perAccount: functionOf(states?.EachAccount?.ItemProcessor?.States?.RunInAccount),
    summary: functionOf(states?.Summarize),
  };
}

/** The `job` a fan-out definition passes its summary (lib/fan-out.ts), which tells scan from enforce. */
function summaryJob(definition: Record<string, unknown>): unknown {
  const states = definition.States as Record<string, { Parameters?: { Payload?: { job?: unknown } } }>;
  return states?.Summarize?.Parameters?.Payload?.job;
}
