import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { Role } from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { SummaryPassSchema } from '../../lambdas/org-summary/passes';
import {
  MemberRunEventSchema,
  OrgRunSchema,
  RunObjectSchema,
} from '../../lambdas/shared/domain/organization';
import type { PolicyConfigInput } from '../../lambdas/shared/domain/policy';
import { enforceGrants } from '../../lib/credential-permissions';
import { stateMachineDefinitions, THROTTLING_ERRORS } from '../../lib/fan-out';
import { buildApp } from '../../lib/reauth-app';

const ORG_ID = 'o-abcdefghij';
const ROOT_ID = 'r-ab12';
const SANDBOX = 'ou-ab12-sandbox1';
const PRODUCTION = 'ou-ab12-product1';
const PUBLISHER = '222233334444';
const SCAN_READS = [
  'iam:GenerateCredentialReport',
  'iam:GetCredentialReport',
  'iam:GetAccountAuthorizationDetails',
  'iam:ListAccessKeys',
  'iam:ListSSHPublicKeys',
  'iam:ListServiceSpecificCredentials',
  'iam:ListSigningCertificates',
  'iam:GenerateServiceLastAccessedDetails',
  'iam:GetServiceLastAccessedDetails',
  'secretsmanager:ListSecrets',
];
/** What the events consumer reads through the reader role beyond the inventory: policies and groups. */
const CHANGE_READS = [
  'iam:GetPolicy',
  'iam:GetPolicyVersion',
  'iam:ListPolicyVersions',
  'iam:ListEntitiesForPolicy',
  'iam:GetGroup',
];

const outdir = mkdtempSync(join(tmpdir(), 'reauth-org-infra-'));

interface Synthesized {
  built: ReturnType<typeof buildApp>;
  template: Template;
  json: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  member: Template;
  logicalId: (c: { node: { defaultChild?: unknown } }) => string;
}

/** Synthesizes the app (cdk-nag on every stack, the member template's included) from `policy`. */
function synthesize(
  name: string,
  policy: PolicyConfigInput,
  options: { rootId?: string; eventPublishers?: string } = {},
): Synthesized {
  const configPath = join(outdir, `${name}.json`);
  writeFileSync(configPath, JSON.stringify(policy));
  const built = buildApp({
    bundling: false,
    configPath,
    outdir: join(outdir, name),
    homeRegion: 'eu-west-1',
    organizationId: ORG_ID,
    organizationRootId: options.rootId,
    eventPublishers: options.eventPublishers,
  });
  const assembly = built.app.synth(); // throws if cdk-nag has an unacknowledged finding
  const json = assembly.getStackArtifact(built.stack.artifactId).template;
  const template = Template.fromJSON(json);
  const stackSet = Object.values(template.findResources('AWS::CloudFormation::StackSet'));
  expect(stackSet).toHaveLength(1);
  const member = Template.fromJSON(JSON.parse(stackSet[0]?.Properties.TemplateBody));
  const logicalId = (c: { node: { defaultChild?: unknown } }) =>
    built.stack.getLogicalId(c.node.defaultChild as CfnElement);
  return { built, template, json, member, logicalId };
}

let report: Synthesized;
let enforce: Synthesized;
let revoking: Synthesized;

beforeAll(() => {
  // Report mode everywhere; the sandbox and production OUs, one account left out.
  report = synthesize('report', {
    organization: {
      include: { ous: [SANDBOX, PRODUCTION] },
      exclude: { accounts: ['999999999999'] },
      maxConcurrency: 40,
      toleratedFailurePercentage: 5,
    },
  });
  // Every account, in enforce mode: the StackSet targets the root.
  enforce = synthesize('enforce', { mode: 'enforce', organization: {} }, { rootId: ROOT_ID });
  // Report mode but enforce in the sandbox OU, ending sessions when an owner departs; an HR publisher.
  revoking = synthesize(
    'revoking',
    {
      enforcement: { revokeSessionsOn: ['disable', 'owner-departed'] },
      organization: {
        include: { ous: [SANDBOX, PRODUCTION] },
        overrides: [{ ous: [SANDBOX], mode: 'enforce' }],
      },
    },
    { eventPublishers: PUBLISHER },
  );
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/**
 * Where a value of `schema` can be as large as its input makes it: an array or record with no maximum
 * length. A state whose every field has none holds the same at 10 accounts and 10,000.
 */
function unboundedParts(schema: z.ZodType, at: string): string[] {
  const def = schema.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([key, field]) =>
        unboundedParts(field, `${at}.${key}`),
      );
    case 'array': {
      const checks = (def.checks ?? []) as { _zod: { def: { check: string } } }[];
      const bounded = checks.some((check) => check._zod.def.check === 'max_length');
      return [...(bounded ? [] : [at]), ...unboundedParts(def.element as z.ZodType, `${at}[]`)];
    }
    case 'record':
    case 'map':
    case 'set':
      return [at];
    case 'union':
      return (def.options as z.ZodType[]).flatMap((option) => unboundedParts(option, at));
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
      return unboundedParts(def.innerType as z.ZodType, at);
    default:
      return [];
  }
}

/** Every JSONPath a state reads: `.$` parameters, InputPath, Choice variables, ItemReader keys. */
function* paths(value: unknown, key = ''): Generator<string> {
  if (typeof value === 'string') {
    if (key.endsWith('.$') || key === 'InputPath' || key === 'Variable' || key === 'OutputPath') yield value;
    return;
  }
  if (Array.isArray(value)) for (const item of value) yield* paths(item);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) yield* paths(v, k);
}

type State = Record<string, unknown> & { Type: string };
const states = (definition: Record<string, unknown>) => definition.States as Record<string, State>;

/** The scan's and the enforce job's state machine definitions, told apart by the function each account runs. */
function definitions(s: Synthesized) {
  const defs = stateMachineDefinitions(s.json);
  const byJob = (fn: { node: { defaultChild?: unknown } }) => {
    const found = Object.values(defs).filter((d) =>
      JSON.stringify(d).includes(JSON.stringify({ 'Fn::GetAtt': [s.logicalId(fn), 'Arn'] })),
    );
    expect(found).toHaveLength(1);
    return found[0] as Record<string, unknown>;
  };
  const { reauth } = s.built.stack;
  return {
    scan: byJob(reauth.scanJob.function.function),
    enforce: byJob(reauth.enforceJob.function.function),
  };
}

describe('fan-out state machines', () => {
  it('list the accounts into S3, run each in a Distributed Map that reads them there, at the policy’s concurrency and tolerance, then summarize', () => {
    const { reauth } = report.built.stack;
    const bucket = report.logicalId(reauth.organization!.resultsBucket);
    for (const [job, definition] of Object.entries(definitions(report))) {
      const all = states(definition);
      expect(definition.StartAt).toBe('ListAccounts');
      expect(all.ListAccounts).toMatchObject({
        Type: 'Task',
        Next: 'EachAccount',
        Parameters: {
          FunctionName: {
            'Fn::GetAtt': [report.logicalId(reauth.organization!.listAccounts.function), 'Arn'],
          },
        },
      });
      expect(all.EachAccount).toMatchObject({
        Type: 'Map',
        // The items come from the S3 object the list step wrote, not from the state.
        ItemReader: {
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:::s3:getObject']] },
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { Bucket: { Ref: bucket }, 'Key.$': '$.accounts.Key' },
        },
        ItemSelector: {
          'account.$': '$$.Map.Item.Value',
          'organization.$': '$.organization',
          'organizationId.$': '$.organizationId',
          'runId.$': '$.runId',
        },
        ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
        MaxConcurrency: 40,
        ToleratedFailurePercentage: 5,
        ResultWriter: { Parameters: { Bucket: { Ref: bucket }, Prefix: job } },
        ResultPath: '$.results',
        Next: 'StartSummary',
      });
      expect(all.EachAccount).not.toHaveProperty('ItemsPath');
      expect(all.Summarize).toMatchObject({
        Type: 'Task',
        Parameters: {
          FunctionName: { 'Fn::GetAtt': [report.logicalId(reauth.organization!.summary.function), 'Arn'] },
          Payload: {
            job,
            'runId.$': '$.runId',
            'accounts.$': '$.accounts',
            'results.$': '$.results',
            'previous.$': '$.summary',
          },
        },
      });
      // The summary runs again, from where it stopped, until it is done; its last output is the run's.
      expect(all.SummaryDone).toMatchObject({
        Type: 'Choice',
        Choices: [{ Variable: '$.summary.done', BooleanEquals: false, Next: 'Summarize' }],
        Default: 'Summarized',
      });
      expect(all.Summarized).toMatchObject({ Type: 'Succeed', OutputPath: '$.summary' });
    }
  });

  it('pass no state anything that grows with the organization: every path a state reads is a bounded field', () => {
    // What each field of the parent's state is, as the states put it there: the list step's output
    // (the whole state), the Map's (ResultWriter's details), the summary's passes.
    const ResultWriterDetailsSchema = z.object({
      MapRunArn: z.string(),
      ResultWriterDetails: RunObjectSchema,
    });
    const fields: Record<string, z.ZodType> = {
      ...OrgRunSchema.shape,
      results: ResultWriterDetailsSchema,
      summary: SummaryPassSchema,
      summarized: z.object({ summary: SummaryPassSchema }),
    };
    for (const [name, schema] of Object.entries(fields))
      expect(unboundedParts(schema, `$.${name}`), `$.${name}`).toEqual([]);
    // A child's input: its own account (its OU path at most six deep) and the run's references.
    expect(unboundedParts(MemberRunEventSchema.omit({ organizationAccounts: true }), 'child')).toEqual([]);

    for (const definition of Object.values(definitions(report))) {
      const all = states(definition);
      const map = all.EachAccount as State;
      const child = states(map.ItemProcessor as Record<string, unknown>);
      // The first state reads the execution's input: the schedule's fixed one (or a run id).
      const { Parameters: _executionInput, ...listAccounts } = all[definition.StartAt as string] as State;
      const others = Object.entries(all)
        .filter(([name]) => name !== definition.StartAt)
        .map(([, { ItemProcessor: _, ...state }]) => state);
      const read = [...paths([listAccounts, ...others])];
      expect(read.length).toBeGreaterThan(5);
      for (const path of read) {
        if (path === '$$.Map.Item.Value' || path === '$.Payload' || path === '$$.Execution.Id') continue;
        const field = path.match(/^\$\.(\w+)/)?.[1];
        expect(field && field in fields, `${path} reads a field that is not a bounded one`).toBe(true);
      }
      // No state takes its items from the state itself; the child reads only its input.
      for (const state of Object.values(all)) {
        expect(state).not.toHaveProperty('ItemsPath');
        expect(state).not.toHaveProperty('Items');
      }
      // A child's state is its input (the ItemSelector's, bounded above) and what its one task returns.
      for (const path of paths(Object.values(child)))
        expect(/^\$(\.(account|failure|Payload)\b.*)?$/.test(path), path).toBe(true);
    }
  });

  it('retry throttling with backoff and jitter, and turn an account that still fails into a result with its reason', () => {
    const child = states(
      (states(definitions(report).scan).EachAccount?.ItemProcessor ?? {}) as Record<string, unknown>,
    );
    const run = child.RunInAccount as State & { Retry: Record<string, unknown>[]; Catch: unknown[] };
    expect(run.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:::lambda:invoke']],
    });
    expect(run.Retry).toEqual([
      expect.objectContaining({
        ErrorEquals: [
          'Lambda.TooManyRequestsException',
          'Lambda.ServiceException',
          'Lambda.AWSLambdaException',
          'Lambda.SdkClientException',
        ],
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      }),
      expect.objectContaining({ ErrorEquals: THROTTLING_ERRORS, BackoffRate: 2, JitterStrategy: 'FULL' }),
    ]);
    expect(THROTTLING_ERRORS).toContain('Throttling'); // STS's and IAM's throttling error code
    expect(run.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'AccountFailed' },
    ]);
    expect(child.AccountFailed).toEqual({
      Type: 'Pass',
      Parameters: {
        'accountId.$': '$.account.accountId',
        ok: false,
        'error.$': '$.failure.Error',
        'cause.$': '$.failure.Cause',
      },
      End: true,
    });
  });

  it('are started by the schedules (daily scan, hourly enforce), which no longer invoke the functions', () => {
    const { reauth } = report.built.stack;
    for (const [job, expression] of [
      [reauth.scanJob, 'cron(0 6 * * ? *)'],
      [reauth.enforceJob, 'rate(1 hour)'],
    ] as const) {
      report.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: expression,
        Target: Match.objectLike({ Arn: { Ref: report.logicalId(job.stateMachine!) } }),
      });
      // Each account's run is its own invocation, up to maxConcurrency at once: no reservation of 1.
      const fn = report.json.Resources[report.logicalId(job.function.function)]?.Properties;
      expect(fn?.ReservedConcurrentExecutions).toBeUndefined();
      expect(fn?.Environment).toMatchObject({ Variables: { ORG_MODE: 'true' } });
    }
    expect(Object.keys(report.template.findResources('AWS::StepFunctions::StateMachine'))).toHaveLength(2);
    report.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
  });

  it('alarm when any account failed, and when a run fails, times out or is stopped', () => {
    const toTopic = {
      AlarmActions: [{ Ref: report.logicalId(report.built.stack.reauth.alarmTopic as never) }],
    };
    report.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...toTopic,
      Namespace: 'reauth',
      MetricName: 'AccountsFailed',
      Dimensions: [{ Name: 'service', Value: 'reauth-org-summary' }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const stateMachine = report.logicalId(report.built.stack.reauth.scanJob.stateMachine!);
    report.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...toTopic,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'failed + timedOut + aborted' }),
        Match.objectLike({
          Id: 'failed',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({
              MetricName: 'ExecutionsFailed',
              Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachine } }],
            }),
          }),
        }),
      ]),
    });
  });
});

describe('hub IAM', () => {
  /** Every statement of the role's policies. */
  const statements = (s: Synthesized, role: { node: { defaultChild?: unknown } }) =>
    Object.values(
      s.template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: s.logicalId(role) }] } }),
    ).flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
  /** The roles it may assume, each with its condition (CDK merges statements that differ only in resource). */
  const assumes = (s: Synthesized, role: { node: { defaultChild?: unknown } }) =>
    statements(s, role)
      .filter((st) => st.Action === 'sts:AssumeRole')
      .flatMap((st) =>
        [st.Resource].flat().map((r) => ({ resource: JSON.stringify(r), condition: st.Condition })),
      )
      .sort((x, y) => x.resource.localeCompare(y.resource));
  const roleArn = (name: string) =>
    JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::*:role/${name}`]] });
  const inOrg = { StringEquals: { 'aws:ResourceOrgID': ORG_ID } };

  it('lets only the scan, enforce and events functions assume reauth-reader, only in the organization', () => {
    const { reauth } = report.built.stack;
    for (const fn of [reauth.scanJob.function, reauth.enforceJob.function, reauth.trustEvents.consumer]) {
      expect(assumes(report, fn.role)).toEqual([{ resource: roleArn('reauth-reader'), condition: inOrg }]);
    }
    for (const fn of [
      reauth.slackEndpoint.worker,
      reauth.slackEndpoint.endpoint,
      reauth.exportJob.function,
    ]) {
      expect(assumes(report, fn.role)).toEqual([]);
    }
  });

  it('lets the enforce job and the Slack worker assume reauth-enforcer in enforce mode only', () => {
    const { reauth } = enforce.built.stack;
    expect(assumes(enforce, reauth.enforceJob.function.role)).toEqual([
      { resource: roleArn('reauth-enforcer'), condition: inOrg },
      { resource: roleArn('reauth-reader'), condition: inOrg },
    ]);
    expect(assumes(enforce, reauth.slackEndpoint.worker.role)).toEqual([
      { resource: roleArn('reauth-enforcer'), condition: inOrg },
    ]);
    expect(JSON.stringify(report.json)).not.toContain('reauth-enforcer');
  });

  /** The actions of the role's statements that start with `prefix`, sorted. */
  const actionsOf = (s: Synthesized, role: { node: { defaultChild?: unknown } }, prefix: string) =>
    statements(s, role)
      .flatMap((st) => [st.Action].flat() as string[])
      .filter((a) => a.startsWith(prefix))
      .sort();
  const ORGANIZATION_READS = [
    'organizations:ListAccountsForParent',
    'organizations:ListOrganizationalUnitsForParent',
    'organizations:ListRoots',
  ];

  it('lets the account lister, the events consumer and the Slack functions make exactly the organization reads they call, and no one else', () => {
    const { reauth } = report.built.stack;
    const listers = [reauth.organization!.listAccounts, reauth.trustEvents.consumer];
    // The list step also reads the accounts' and OUs' owner tags (the account owner source).
    expect(actionsOf(report, reauth.organization!.listAccounts.role, 'organizations:')).toEqual(
      [...ORGANIZATION_READS, 'organizations:ListTagsForResource'].sort(),
    );
    expect(actionsOf(report, reauth.trustEvents.consumer.role, 'organizations:')).toEqual(ORGANIZATION_READS);
    // The Slack functions look up one account (its parents up to the root), never list the organization.
    const lookers = [reauth.slackEndpoint.endpoint, reauth.slackEndpoint.worker];
    for (const fn of lookers)
      expect(actionsOf(report, fn.role, 'organizations:')).toEqual([
        'organizations:DescribeAccount',
        'organizations:ListParents',
      ]);
    const readers = [...listers, ...lookers];
    const others = Object.values(report.template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p).includes('organizations:'),
    );
    expect(others).toHaveLength(readers.length);
  });

  it('gives the Slack worker ORG_MODE and no IAM or Secrets Manager access of its own in the hub', () => {
    for (const s of [report, enforce]) {
      const { worker, endpoint } = s.built.stack.reauth.slackEndpoint;
      expect(actionsOf(s, worker.role, 'iam:')).toEqual([]);
      expect(actionsOf(s, worker.role, 'secretsmanager:')).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
      for (const fn of [worker, endpoint]) {
        s.template.hasResourceProperties('AWS::Lambda::Function', {
          FunctionName: Match.absent(),
          Role: { 'Fn::GetAtt': [s.logicalId(fn.role), 'Arn'] },
          Environment: { Variables: Match.objectLike({ ORG_MODE: 'true' }) },
        });
      }
    }
  });

  it('gives the org-mode scan and enforce jobs no IAM or Secrets Manager access of their own in the hub', () => {
    for (const s of [report, enforce]) {
      const { reauth } = s.built.stack;
      for (const job of [reauth.scanJob, reauth.enforceJob]) {
        expect(actionsOf(s, job.function.role, 'iam:')).toEqual([]);
        // Only the Slack secret's read (its binding): no inventory, no change.
        expect(actionsOf(s, job.function.role, 'secretsmanager:')).toEqual([
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
        ]);
      }
    }
  });

  it('gives the summary the results bucket, the table and the Slack secret, and nothing in IAM, STS or Organizations', () => {
    const { reauth } = report.built.stack;
    const role = reauth.organization!.summary.role;
    const all = statements(report, role);
    expect(all).toContainEqual(
      expect.objectContaining({
        Action: 's3:GetObject',
        Resource: {
          'Fn::Join': [
            '',
            [{ 'Fn::GetAtt': [report.logicalId(reauth.organization!.resultsBucket), 'Arn'] }, '/*'],
          ],
        },
      }),
    );
    expect(actionsOf(report, role, 'dynamodb:')).toEqual(
      expect.arrayContaining(['dynamodb:Query', 'dynamodb:UpdateItem']),
    );
    for (const prefix of ['iam:', 'sts:', 'organizations:', 'states:'])
      expect(actionsOf(report, role, prefix)).toEqual([]);
    // It writes one object only: a run's failed accounts.
    expect(actionsOf(report, role, 's3:')).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(all).toContainEqual(
      expect.objectContaining({
        Action: 's3:PutObject',
        Resource: {
          'Fn::Join': [
            '',
            [
              { 'Fn::GetAtt': [report.logicalId(reauth.organization!.resultsBucket), 'Arn'] },
              '/runs/*/failures.json',
            ],
          ],
        },
      }),
    );
  });

  it('lets the events consumer assume reauth-enforcer only where it may end sessions in a member', () => {
    const { reauth } = revoking.built.stack;
    expect(assumes(revoking, reauth.trustEvents.consumer.role)).toEqual([
      { resource: roleArn('reauth-enforcer'), condition: inOrg },
      { resource: roleArn('reauth-reader'), condition: inOrg },
    ]);
    const enforcerTrusts = (s: Synthesized) =>
      JSON.stringify(
        (
          Object.values(s.template.findResources('AWS::CloudFormation::StackSet'))[0]?.Properties
            .Parameters as { ParameterKey: string; ParameterValue: unknown }[]
        ).find((p) => p.ParameterKey === 'EnforcerTrustedRoleArns')?.ParameterValue,
      );
    const consumerArn = (s: Synthesized) =>
      JSON.stringify({ 'Fn::GetAtt': [s.logicalId(s.built.stack.reauth.trustEvents.consumer.role), 'Arn'] });
    expect(enforcerTrusts(revoking)).toContain(consumerArn(revoking));
    // Enforce mode whose revokeSessionsOn names no event moment: the consumer never writes in a member.
    expect(enforcerTrusts(enforce)).not.toContain(consumerArn(enforce));
    expect(assumes(enforce, enforce.built.stack.reauth.trustEvents.consumer.role)).toEqual([
      { resource: roleArn('reauth-reader'), condition: inOrg },
    ]);
  });

  it("accepts events on the hub's bus from the organization's principals", () => {
    report.template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: {
        Sid: Match.stringLikeRegexp('ReauthEventsFromOrganization$'),
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Condition: {
          StringEquals: { 'aws:PrincipalOrgID': ORG_ID },
          'ForAllValues:StringEquals': {
            'events:source': ['aws.iam', 'aws.secretsmanager'],
            'events:detail-type': ['AWS API Call via CloudTrail'],
          },
        },
      },
    });
  });

  it("makes the list step forget its kept listing on Organizations' account and OU changes forwarded to the hub's bus", () => {
    const { reauth } = report.built.stack;
    const lister = reauth.organization!.listAccounts;
    report.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: report.logicalId(reauth.trustEvents.bus) },
      EventPattern: {
        source: ['aws.organizations'],
        'detail-type': ['AWS API Call via CloudTrail', 'AWS Service Event via CloudTrail'],
        detail: {
          eventName: Match.arrayWith(['CreateAccountResult', 'MoveAccount', 'RemoveAccountFromOrganization']),
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [report.logicalId(lister.function), 'Arn'] },
          Input: JSON.stringify({ forgetListing: true }),
        }),
      ],
    });
    // Only Organizations' events, only from the organization: at worst, a run lists afresh.
    report.template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: {
        Sid: Match.stringLikeRegexp('ReauthOrganizationsEvents$'),
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Condition: {
          StringEquals: { 'aws:PrincipalOrgID': ORG_ID },
          'ForAllValues:StringEquals': { 'events:source': ['aws.organizations'] },
        },
      },
    });
    // The list step reads, writes and forgets the kept listing, and no other key but a run's own objects.
    const bucket = report.logicalId(reauth.organization!.resultsBucket);
    const objects = (keys: string) => ({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/${keys}`]],
    });
    const policies = report.template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: report.logicalId(lister.role) }] },
    });
    const listerStatements = Object.values(policies).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as Record<string, unknown>[],
    );
    const s3 = listerStatements.filter((statement) =>
      [statement.Action].flat().some((action) => String(action).startsWith('s3:')),
    );
    expect(s3).toEqual([
      expect.objectContaining({ Action: 's3:PutObject', Resource: objects('runs/*') }),
      expect.objectContaining({
        Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: objects('listing/organization.json'),
      }),
      expect.objectContaining({
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: objects('listing/reports-started.json'),
      }),
    ]);
  });

  it("takes reauth's own events only from the hub and its publisher accounts, not from members", () => {
    const { reauth } = revoking.built.stack;
    revoking.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: revoking.logicalId(reauth.trustEvents.bus) },
      EventPattern: Match.objectLike({
        source: ['reauth'],
        account: [{ Ref: 'AWS::AccountId' }, PUBLISHER],
      }),
    });
    // The publisher may put reauth's events (its own statement); the organization only CloudTrail's.
    revoking.template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: Match.objectLike({
        Principal: { AWS: `arn:aws:iam::${PUBLISHER}:root` },
        Condition: { 'ForAllValues:StringEquals': Match.objectLike({ 'events:source': ['reauth'] }) },
      }),
    });
  });
});

describe('member StackSet', () => {
  it('is service-managed, auto-deploys to the included OUs less the excluded accounts, in the hub region and us-east-1', () => {
    report.template.hasResourceProperties('AWS::CloudFormation::StackSet', {
      PermissionModel: 'SERVICE_MANAGED',
      CallAs: 'DELEGATED_ADMIN',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      StackInstancesGroup: [
        {
          DeploymentTargets: {
            OrganizationalUnitIds: [SANDBOX, PRODUCTION],
            Accounts: ['999999999999'],
            AccountFilterType: 'DIFFERENCE',
          },
          Regions: ['eu-west-1', 'us-east-1'],
        },
      ],
    });
  });

  it('deploys to the root when no OU is included', () => {
    enforce.template.hasResourceProperties('AWS::CloudFormation::StackSet', {
      StackInstancesGroup: [
        { DeploymentTargets: { OrganizationalUnitIds: [ROOT_ID] }, Regions: ['eu-west-1', 'us-east-1'] },
      ],
    });
  });

  it("passes the organization, the hub's bus and the trusted hub roles as parameters", () => {
    const { reauth } = enforce.built.stack;
    const arns = (...fns: { role: { node: { defaultChild?: unknown } } }[]) => ({
      'Fn::Join': [',', fns.map((fn) => ({ 'Fn::GetAtt': [enforce.logicalId(fn.role), 'Arn'] }))],
    });
    enforce.template.hasResourceProperties('AWS::CloudFormation::StackSet', {
      Parameters: [
        { ParameterKey: 'OrganizationId', ParameterValue: ORG_ID },
        { ParameterKey: 'HubRegion', ParameterValue: 'eu-west-1' },
        {
          ParameterKey: 'HubEventBusArn',
          ParameterValue: { 'Fn::GetAtt': [enforce.logicalId(reauth.trustEvents.bus), 'Arn'] },
        },
        {
          ParameterKey: 'ReaderTrustedRoleArns',
          ParameterValue: arns(
            reauth.scanJob.function,
            reauth.enforceJob.function,
            reauth.trustEvents.consumer,
            // The list step, which starts each member's credential report ahead of its scan.
            reauth.organization!.listAccounts,
          ),
        },
        {
          ParameterKey: 'EnforcerTrustedRoleArns',
          ParameterValue: arns(reauth.enforceJob.function, reauth.slackEndpoint.worker),
        },
        {
          ParameterKey: 'SessionWriterTrustedRoleArns',
          // One role: CloudFormation's join of one value is the value.
          ParameterValue: {
            'Fn::GetAtt': [enforce.logicalId(reauth.sessionPolicies?.writer.role as Role), 'Arn'],
          },
        },
      ],
    });
  });

  it('creates a read-only reauth-reader trusted only by those roles from inside the organization, in the hub region', () => {
    const readers = report.member.findResources('AWS::IAM::Role', {
      Properties: { RoleName: 'reauth-reader' },
    });
    const [id, reader] = Object.entries(readers)[0] ?? [];
    expect(Object.keys(readers)).toHaveLength(1);
    expect(reader?.Condition).toBe('InHubRegion');
    expect(reader?.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { AWS: { Ref: 'ReaderTrustedRoleArns' } },
        Condition: { StringEquals: { 'aws:PrincipalOrgID': { Ref: 'OrganizationId' } } },
      },
    ]);
    const policies = report.member.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: id }] },
    });
    const actions = Object.values(policies).flatMap((p) =>
      p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string[] }) => s.Action),
    );
    expect([...new Set(actions)].sort()).toEqual(
      [...SCAN_READS, 'cloudformation:DescribeStacks', ...CHANGE_READS].sort(),
    );
    report.member.templateMatches({
      Conditions: { InHubRegion: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, { Ref: 'HubRegion' }] } },
    });
  });

  it('creates reauth-enforcer, with the write actions, only in enforce mode', () => {
    expect(
      report.member.findResources('AWS::IAM::Role', { Properties: { RoleName: 'reauth-enforcer' } }),
    ).toEqual({});
    const enforcers = enforce.member.findResources('AWS::IAM::Role', {
      Properties: { RoleName: 'reauth-enforcer' },
    });
    const [id, enforcer] = Object.entries(enforcers)[0] ?? [];
    expect(enforcer?.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { AWS: { Ref: 'EnforcerTrustedRoleArns' } },
        Condition: { StringEquals: { 'aws:PrincipalOrgID': { Ref: 'OrganizationId' } } },
      }),
    ]);
    const actions = Object.values(
      enforce.member.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: id }] } }),
    ).flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string[] }) => s.Action));
    expect(actions).toEqual(
      expect.arrayContaining([
        'iam:UpdateAccessKey',
        'iam:AttachRolePolicy',
        'secretsmanager:PutResourcePolicy',
      ]),
    );
    expect(actions).not.toContain('iam:PutRolePolicy');
    expect(actions).not.toContain('iam:PutUserPolicy');
    // The enforce job scans and re-checks through it too: the reader's reads and every action the
    // enforce job has in a single account in enforce mode.
    expect(actions).toEqual(expect.arrayContaining(SCAN_READS));
    expect(actions).toEqual(
      expect.arrayContaining(enforceGrants('enforce').flatMap((grant) => [...grant.actions])),
    );
  });

  it("forwards IAM's events from us-east-1 and Secrets Manager's from the hub region to the hub's bus", () => {
    for (const [source, condition] of [
      ['aws.iam', 'InIamEventsRegion'],
      ['aws.secretsmanager', 'InHubRegion'],
    ]) {
      report.member.hasResource('AWS::Events::Rule', {
        Condition: condition,
        Properties: Match.objectLike({
          EventPattern: Match.objectLike({ source: [source] }),
          Targets: [Match.objectLike({ Arn: { Ref: 'HubEventBusArn' }, RoleArn: Match.anyValue() })],
        }),
      });
    }
    report.member.templateMatches({
      Conditions: { InIamEventsRegion: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] } },
    });
    report.member.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{ Action: 'events:PutEvents', Effect: 'Allow', Resource: { Ref: 'HubEventBusArn' } }],
      },
    });
  });
});

describe('configuration', () => {
  const bad = (name: string, policy: PolicyConfigInput, options: Parameters<typeof buildApp>[0]) => {
    const configPath = join(outdir, `${name}.json`);
    writeFileSync(configPath, JSON.stringify(policy));
    return () => buildApp({ bundling: false, configPath, outdir: join(outdir, name), ...options });
  };

  it('fails the build without the organization id, naming the context value', () => {
    expect(bad('no-org-id', { organization: { include: { ous: [SANDBOX] } } }, {})).toThrow(
      /-c organizationId=o-/,
    );
  });

  it('fails the build on a policy whose settings contradict each other, naming the field', () => {
    const options = { organizationId: ORG_ID, organizationRootId: ROOT_ID };

    expect(bad('same-role-names', { organization: { readerRoleName: 'reauth-enforcer' } }, options)).toThrow(
      /organization\.enforcerRoleName: "reauth-enforcer" is also readerRoleName/,
    );
    expect(
      bad(
        'partial-override-tier',
        {
          organization: {
            overrides: [{ ous: [SANDBOX], tiers: { sandbox: { idleDays: 7 } }, defaultTier: 'sandbox' }],
          },
        },
        options,
      ),
    ).toThrow(/organization\.overrides\[0\]\.tiers\.sandbox: is no tier of the policy .*it lacks maxAgeDays/);
  });

  it('fails the build when the StackSet needs the root and none is given', () => {
    expect(bad('no-root', { organization: {} }, { organizationId: ORG_ID })).toThrow(
      /-c organizationRootId=r-/,
    );
  });
});

it('keeps the validation report free of findings on every stack', () => {
  for (const [name, s] of [
    ['report', report],
    ['enforce', enforce],
    ['revoking', revoking],
  ] as const) {
    const file = join(outdir, name, 'validation-report.json');
    const violations = JSON.parse(readFileSync(file, 'utf8')).pluginReports.flatMap(
      (r: { violations: unknown[] }) => r.violations,
    );
    expect(violations).toEqual([]);
  }
});
