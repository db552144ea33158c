import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnElement, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesPattern, REAUTH_OWN_PRINCIPALS } from '../../lambdas/shared/domain/evaluate';
import { parsePolicyConfigText } from '../../lambdas/shared/domain/policy';
import { SERVICE_USAGE_MAX_WAIT_MS } from '../../lambdas/shared/domain/service-usage';
import { credentialPk, decisionSk, leasePk, STATE_SK } from '../../lambdas/shared/table-layout';
import { buildApp } from '../../lib/reauth-app';
import { REPO_ROOT } from '../../lib/reauth-function';
import { type Template as EvaluatedTemplate, mayDo, tableArnOf } from '../support/iam-evaluator';

// Every action that changes IAM or Secrets Manager that reauth's functions could call.
const CREDENTIAL_WRITES = [
  'iam:UpdateAccessKey',
  'iam:CreateAccessKey',
  'iam:DeleteAccessKey',
  'iam:DeleteLoginProfile',
  'iam:CreateLoginProfile',
  'iam:AttachUserPolicy',
  'iam:DetachUserPolicy',
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  'secretsmanager:PutResourcePolicy',
  'secretsmanager:DeleteResourcePolicy',
  'secretsmanager:RotateSecret',
  'secretsmanager:CreateSecret',
  'secretsmanager:TagResource',
];

interface Synthesized {
  built: ReturnType<typeof buildApp>;
  template: Template;
  validationReport: { pluginReports: { violations: unknown[] }[] };
  /** Logical id of a construct's CloudFormation resource. */
  id(construct: IConstruct): string;
}

function synthesize(configPath: string, outdir: string): Synthesized {
  const built = buildApp({ bundling: false, configPath, outdir });
  const assembly = built.app.synth(); // throws if cdk-nag has an unacknowledged finding
  const template = Template.fromJSON(assembly.getStackArtifact(built.stack.artifactId).template);
  return {
    built,
    template,
    validationReport: JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')),
    id: (construct) => built.stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement),
  };
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The Allow statements of every policy attached to the role. */
function allowStatements(template: Template, roleId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  return Object.values(policies).flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as Statement[]).filter((s) => s.Effect === 'Allow'),
  );
}

function allowedActions(template: Template, roleId: string): string[] {
  return allowStatements(template, roleId).flatMap((s) => [s.Action].flat());
}

/** Every action any policy in the template allows. */
function everyAllowedAction(template: Template): string[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as Statement[])
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => [s.Action].flat()),
  );
}

function roleOf(s: Synthesized, fn: IConstruct): string {
  return s.template.toJSON().Resources[s.id(fn)].Properties.Role['Fn::GetAtt'][0];
}

function acknowledgedFindings(s: Synthesized): { at: string; reason: string }[] {
  return s.built.app.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          at: `${c.node.path} ${id.replace(/^annotation::/i, '')}`,
          reason,
        })),
      ),
  );
}

const outdir = mkdtempSync(join(tmpdir(), 'reauth-infra-slack-'));
let report: Synthesized;
let enforce: Synthesized;

beforeAll(() => {
  const enforceConfig = join(outdir, 'enforce.json');
  writeFileSync(enforceConfig, JSON.stringify({ mode: 'enforce' }));
  report = synthesize(join(REPO_ROOT, 'reauth.config.json'), join(outdir, 'report'));
  enforce = synthesize(enforceConfig, join(outdir, 'enforce'));
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the default policy', () => {
  it('is report mode, so the report-mode template below is what a first deploy gets', () => {
    const policy = parsePolicyConfigText(readFileSync(join(REPO_ROOT, 'reauth.config.json'), 'utf8'));

    expect(policy.mode).toBe('report');
    expect(report.built.stack.templateOptions.description).toMatch(/report mode/);
    expect(enforce.built.stack.templateOptions.description).toMatch(/enforce mode/);
  });
});

describe('enforce job', () => {
  it('runs hourly, retrying, then dead-lettering to its own encrypted queue', () => {
    const { template, built, id } = report;
    const job = built.stack.reauth.enforceJob;

    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Description: Match.stringLikeRegexp('hourly'),
      ScheduleExpression: 'rate(1 hour)',
      Target: {
        Arn: { 'Fn::GetAtt': [id(job.function.function), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 6 * 3600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(job.deadLetterQueue), 'Arn'] } },
        RoleArn: Match.anyValue(),
      },
    });
    expect(template.toJSON().Resources[id(job.deadLetterQueue)].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('has the 15-minute, 1024 MB, one-at-a-time shape of the scan and the table, policy and Slack secret in its environment', () => {
    const { template, built, id } = report;

    expect(
      template.toJSON().Resources[id(built.stack.reauth.enforceJob.function.function)].Properties,
    ).toMatchObject({
      Timeout: 900,
      MemorySize: 1024,
      // One run at a time: an overlapping invoke waits in Lambda's queue.
      ReservedConcurrentExecutions: 1,
      Runtime: 'nodejs24.x',
      Environment: {
        Variables: {
          TABLE_NAME: { Ref: id(built.stack.reauth.table) },
          POLICY_FILE: 'policy.json',
          SLACK_SECRET_ARN: { Ref: id(built.stack.reauth.slackSecret) },
        },
      },
    });
  });

  it('alarms on errors and on dead letters, to the alarm topic', () => {
    const { template, built, id } = report;
    const job = built.stack.reauth.enforceJob;
    const toTopic = { AlarmActions: [{ Ref: id(built.stack.reauth.alarmTopic) }] };

    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...toTopic,
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(job.function.function) } }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...toTopic,
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(job.deadLetterQueue), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarms when a safety rail holds enforcement back, from its JSON log message', () => {
    const { template, built, id } = report;

    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: id(built.stack.reauth.enforceJob.function.logGroup) },
      FilterPattern: '{ $.message = "enforcement held back" }',
      MetricTransformations: [
        { MetricNamespace: 'reauth', MetricName: 'EnforcementHeldBack', MetricValue: '1' },
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: id(built.stack.reauth.alarmTopic) }],
      AlarmDescription: Match.stringLikeRegexp('budget exceeded, stale inventory or a protected principal'),
      Namespace: 'reauth',
      MetricName: 'EnforcementHeldBack',
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it("alarms once a run when a job's Slack messages cannot reach a channel until a person mends the setup", () => {
    const { template, built, id } = report;

    const alarms = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { AlarmDescription: Match.stringLikeRegexp('not_in_channel') },
    });
    const [alarm] = Object.values(alarms) as { Properties: Record<string, any> }[];
    expect(Object.keys(alarms)).toHaveLength(1);
    expect(alarm?.Properties).toMatchObject({
      AlarmActions: [{ Ref: id(built.stack.reauth.alarmTopic) }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const counted = (alarm?.Properties.Metrics as { MetricStat?: { Metric: Record<string, any> } }[])
      .flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []))
      .map((metric) => [metric.MetricName, metric.Dimensions[0].Value]);
    expect(counted).toEqual(
      ['reauth-scan', 'reauth-enforce', 'reauth-events', 'reauth-org-summary'].map((service) => [
        'SlackSetupProblems',
        service,
      ]),
    );
  });
});

describe('report mode (the default policy)', () => {
  it('lets no function change IAM or Secrets Manager', () => {
    const allowed = everyAllowedAction(report.template);

    for (const action of CREDENTIAL_WRITES) expect(allowed).not.toContain(action);
    expect(allowed.filter((a) => /^(iam|secretsmanager):\*$|^\*$/.test(a))).toEqual([]);
  });

  it("gives the enforce job the scan's reads only, and the worker no IAM or Secrets Manager access beyond the Slack secret", () => {
    const { built, template } = report;
    const enforceActions = allowedActions(
      template,
      roleOf(report, built.stack.reauth.enforceJob.function.function),
    );
    const scanActions = allowedActions(
      template,
      roleOf(report, built.stack.reauth.scanJob.function.function),
    );
    const credentialActions = (actions: string[]) =>
      actions.filter((a) => /^(iam|secretsmanager):/.test(a)).sort();

    expect(credentialActions(enforceActions)).toEqual(credentialActions(scanActions));
    const worker = allowStatements(
      template,
      roleOf(report, built.stack.reauth.slackEndpoint.worker.function),
    );
    const workerCredentialStatements = worker.filter((s) =>
      [s.Action].flat().some((a) => /^(iam|secretsmanager):/.test(a)),
    );
    expect(workerCredentialStatements).toEqual([
      {
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Resource: { Ref: report.id(built.stack.reauth.slackSecret) },
      },
    ]);
  });
});

describe('enforce mode', () => {
  const scoped = (suffix: string) =>
    Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(`${suffix}$`)])] });

  it("lets the enforce job re-check, disable and undo, scoped to the account's users, roles and secrets", () => {
    const { built, template } = enforce;
    const statements = allowStatements(
      template,
      roleOf(enforce, built.stack.reauth.enforceJob.function.function),
    );
    const actions = statements.flatMap((s) => [s.Action].flat());

    expect(actions).toEqual(
      expect.arrayContaining([
        'iam:GetAccessKeyLastUsed',
        'iam:GetRole',
        'iam:ListAttachedRolePolicies',
        'iam:UpdateAccessKey',
        'iam:DeleteLoginProfile',
        'iam:AttachRolePolicy',
        'iam:DetachRolePolicy',
        'iam:ListAttachedUserPolicies',
        'iam:AttachUserPolicy',
        'iam:DetachUserPolicy',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetResourcePolicy',
        'secretsmanager:PutResourcePolicy',
        'secretsmanager:DeleteResourcePolicy',
      ]),
    );
    // It never creates, deletes or rotates credentials: only the owner's request (the worker) does. It
    // writes no policy document at all: what it attaches, the stack and the session writer made.
    for (const action of [
      'iam:PutUserPolicy',
      'iam:PutRolePolicy',
      'iam:CreatePolicy',
      'iam:CreatePolicyVersion',
      'iam:CreateAccessKey',
      'iam:DeleteAccessKey',
      'iam:CreateLoginProfile',
      'secretsmanager:RotateSecret',
      'secretsmanager:CreateSecret',
    ])
      expect(actions).not.toContain(action);
    const writes = statements.filter((s) => [s.Action].flat().some((a) => CREDENTIAL_WRITES.includes(a)));
    for (const statement of writes) expect(statement.Resource).not.toBe('*');
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleOf(enforce, built.stack.reauth.enforceJob.function.function) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            // Only reauth's session policies may be attached to a user.
            Action: ['iam:AttachUserPolicy', 'iam:DetachUserPolicy'],
            Resource: scoped(':user/\\*'),
            Condition: { ArnLike: { 'iam:PolicyARN': Match.anyValue() } },
          }),
          Match.objectLike({
            Action: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
            Resource: scoped(':role/\\*'),
            Condition: { ArnLike: { 'iam:PolicyARN': Match.anyValue() } },
          }),
          Match.objectLike({
            Action: Match.arrayWith(['secretsmanager:PutResourcePolicy']),
            Resource: scoped(':secret:\\*'),
          }),
        ]),
      },
    });
  });

  it('lets the worker disable, restore and rotate, and store rotated keys only under reauth/rotated/', () => {
    const { built, template } = enforce;
    const roleId = roleOf(enforce, built.stack.reauth.slackEndpoint.worker.function);
    const actions = allowedActions(template, roleId);

    expect(actions).toEqual(expect.arrayContaining(CREDENTIAL_WRITES));
    const createSecret = allowStatements(template, roleId).filter((s) =>
      [s.Action].flat().includes('secretsmanager:CreateSecret'),
    );
    expect(createSecret).toHaveLength(1);
    expect(createSecret[0]?.Action).toEqual(['secretsmanager:CreateSecret', 'secretsmanager:TagResource']);
    expect(createSecret[0]?.Resource).toEqual(scopedJoin(':secret:reauth/rotated/*'));
  });

  it('still gives the Slack endpoint no IAM and no Secrets Manager access beyond reading the Slack secret', () => {
    const { built, template } = enforce;
    const actions = allowedActions(
      template,
      roleOf(enforce, built.stack.reauth.slackEndpoint.endpoint.function),
    );

    expect(actions.filter((a) => a.startsWith('iam:'))).toEqual([]);
    expect(actions.filter((a) => a.startsWith('secretsmanager:')).sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    expect(actions).toContain('sqs:SendMessage');
    expect(
      actions.filter((a) => a.startsWith('sqs:') && a !== 'sqs:SendMessage' && !a.startsWith('sqs:GetQueue')),
    ).toEqual([]);
  });
});

/** A DynamoDB request on the decision table: its action, partition key and the attributes it names. */
interface TableRequest {
  action: string;
  pk: string;
  attributes: string[];
}

/**
 * Whether the function's role may make `request` on the decision table, as IAM decides it: a real
 * evaluator over the role's synthesized policies (test/support/iam-evaluator.ts).
 */
async function tableAllows(s: Synthesized, fn: IConstruct, request: TableRequest): Promise<boolean> {
  return mayDo(
    s.template.toJSON() as EvaluatedTemplate,
    roleOf(s, fn),
    request.action,
    tableArnOf(s.id(s.built.stack.reauth.table)),
    {
      'dynamodb:LeadingKeys': [request.pk],
      'dynamodb:Attributes': request.attributes,
    },
  );
}

describe("the Slack endpoint's grant on the decision table", () => {
  const LEASE = ['pk', 'sk', 'holder', 'until', 'expiresAt'];
  const STATE = ['pk', 'sk', 'stateAccountId', 'credentialId', 'status', 'seq', 'lastHash'];
  const credential = credentialPk('123456789012:access-key:AKIAEXAMPLE');
  /** What the endpoint must still do, and what it must not: a stolen role's first tries. */
  const PROBES: [string, TableRequest, boolean][] = [
    [
      'takes a lease (a click, an answer, a listing)',
      { action: 'dynamodb:PutItem', pk: leasePk('click:ab12'), attributes: LEASE },
      true,
    ],
    [
      'gives a lease back',
      {
        action: 'dynamodb:UpdateItem',
        pk: leasePk('list:cd34'),
        attributes: ['pk', 'sk', 'holder', 'until'],
      },
      true,
    ],
    ["reads a credential's state", { action: 'dynamodb:GetItem', pk: credential, attributes: [] }, true],
    [
      "overwrites a credential's STATE",
      { action: 'dynamodb:PutItem', pk: credential, attributes: STATE },
      false,
    ],
    [
      `writes a DECISION (${decisionSk('2026-01-01T00:00:00.000Z', 3)})`,
      { action: 'dynamodb:PutItem', pk: credential, attributes: ['pk', 'sk', 'action', 'actor', 'hash'] },
      false,
    ],
    [
      "claims or edits a credential's state",
      { action: 'dynamodb:UpdateItem', pk: credential, attributes: ['claim'] },
      false,
    ],
    [
      'stuffs a lease with state',
      { action: 'dynamodb:PutItem', pk: leasePk('x'), attributes: [...LEASE, 'status'] },
      false,
    ],
    [
      "writes a message's note",
      { action: 'dynamodb:PutItem', pk: 'MESSAGE#D1#1.2', attributes: ['pk', 'sk', 'requests'] },
      false,
    ],
    [
      "spends an organization's action budget",
      { action: 'dynamodb:UpdateItem', pk: 'BUDGET#run-1', attributes: ['used', 'expiresAt'] },
      false,
    ],
    ['deletes a lease', { action: 'dynamodb:DeleteItem', pk: leasePk('click:ab12'), attributes: [] }, false],
  ];

  it.each(PROBES)('%s: %s', async (_what, request, allowed) => {
    const { built } = enforce;
    expect(await tableAllows(enforce, built.stack.reauth.slackEndpoint.endpoint.function, request)).toBe(
      allowed,
    );
  });

  it(`grants its writes on lease items only (${STATE_SK} and DECISION items are the worker's), in both modes`, () => {
    for (const s of [report, enforce]) {
      const writes = allowStatements(
        s.template,
        roleOf(s, s.built.stack.reauth.slackEndpoint.endpoint.function),
      ).filter((st) =>
        [st.Action].flat().some((a) => /^dynamodb:(Put|Update|Delete|BatchWrite|PartiQL)/.test(a)),
      );
      expect(writes).toHaveLength(1);
      expect(writes[0]?.Condition).toMatchObject({
        Null: { 'dynamodb:LeadingKeys': 'false' },
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LEASE#*'] },
      });
    }
  });

  it('leaves the worker, reached only through the queue, to record decisions', async () => {
    const { built } = enforce;
    const worker = built.stack.reauth.slackEndpoint.worker.function;

    expect(
      await tableAllows(enforce, worker, { action: 'dynamodb:PutItem', pk: credential, attributes: STATE }),
    ).toBe(true);
  });
});

/** A `Fn::Join` ARN in this account ending with `suffix`, as the credential scopes render. */
function scopedJoin(suffix: string) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':secretsmanager:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        suffix,
      ],
    ],
  };
}

describe('Slack secret', () => {
  it('is under reauth/slack/, named anew each time the stack is created, a placeholder, and retained', () => {
    const { template } = report;
    // The first block of the stack's UUID: a stack created again after `cdk destroy` gets another, so
    // the retained secret's name never blocks the redeploy.
    const stackUuidStart = {
      'Fn::Select': [
        0,
        { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] },
      ],
    };

    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        Name: { 'Fn::Join': ['', ['reauth/slack/reauth-', stackUuidStart]] },
        GenerateSecretString: {
          SecretStringTemplate: JSON.stringify({ botToken: 'xoxb-replace-me' }),
          GenerateStringKey: 'signingSecret',
          ExcludePunctuation: true,
          PasswordLength: 32,
        },
      }),
    });
  });

  it("is one of reauth's own principals, which its functions never act on, whatever the policy says", () => {
    const name = 'reauth/slack/reauth-1c2fa620';

    expect(REAUTH_OWN_PRINCIPALS.some((pattern) => matchesPattern(pattern, name))).toBe(true);
    expect(REAUTH_OWN_PRINCIPALS.some((pattern) => matchesPattern(pattern, 'reauth/slackers'))).toBe(false);
  });

  it('is passed to and readable by the scan, the enforce job, the endpoint and the worker', () => {
    const { built, template, id } = report;
    const secretRef = { Ref: id(built.stack.reauth.slackSecret) };
    const functions = [
      built.stack.reauth.scanJob.function.function,
      built.stack.reauth.enforceJob.function.function,
      built.stack.reauth.slackEndpoint.endpoint.function,
      built.stack.reauth.slackEndpoint.worker.function,
    ];

    for (const fn of functions) {
      const properties = template.toJSON().Resources[id(fn)].Properties;
      expect(properties.Environment.Variables.SLACK_SECRET_ARN).toEqual(secretRef);
      expect(properties.Environment.Variables.SLACK_API_URL).toBeUndefined();
      const reads = allowStatements(template, roleOf(report, fn)).filter(
        (s) => JSON.stringify(s.Resource) === JSON.stringify(secretRef),
      );
      expect(reads.flatMap((s) => [s.Action].flat())).toContain('secretsmanager:GetSecretValue');
    }
  });
});

describe('Slack endpoint', () => {
  it('routes POST /slack/interactions to the endpoint function, with no other route', () => {
    const { built, template, id } = report;

    template.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /slack/interactions' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [id(built.stack.reauth.slackEndpoint.endpoint.function), 'Arn'] },
    });
    expect(
      template.toJSON().Resources[id(built.stack.reauth.slackEndpoint.endpoint.function)].Properties.Timeout,
    ).toBe(10);
  });

  it('starts cold on a full vCPU (1,769 MB) and without source maps, while the worker keeps them', () => {
    const { built, template, id } = report;
    const { endpoint, worker } = built.stack.reauth.slackEndpoint;
    const properties = (fn: typeof endpoint) => template.toJSON().Resources[id(fn.function)].Properties;

    expect(properties(endpoint).MemorySize).toBe(1769);
    expect(properties(endpoint).Environment.Variables.NODE_OPTIONS).toBeUndefined();
    expect(properties(worker).Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it('throttles its stage and writes access logs to their own retained log group', () => {
    const { built, template, id } = report;
    const stage = template.toJSON().Resources[id(built.stack.reauth.slackEndpoint.stage)];

    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } },
    });
    expect(JSON.parse(stage.Properties.AccessLogSettings.Format)).toMatchObject({
      requestId: '$context.requestId',
      sourceIp: '$context.identity.sourceIp',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
    const logGroupId = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
    expect(template.toJSON().Resources[logGroupId]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      DeletionPolicy: 'Retain',
      Properties: { RetentionInDays: 365 },
    });
  });

  it('outputs the Interactivity Request URL: the API endpoint plus /slack/interactions', () => {
    const { built, template, id } = report;

    template.hasOutput('SlackInteractionUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            { 'Fn::GetAtt': [id(built.stack.reauth.slackEndpoint.api), 'ApiEndpoint'] },
            '/slack/interactions',
          ],
        ],
      },
    });
  });

  it('queues actions on an encrypted SSL-only queue with a 14-day dead-letter queue after 3 receives', () => {
    const { built, template, id } = report;
    const { actionQueue, actionDeadLetterQueue, worker } = built.stack.reauth.slackEndpoint;
    const resources = template.toJSON().Resources;

    expect(resources[id(actionQueue)].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [id(actionDeadLetterQueue), 'Arn'] },
        maxReceiveCount: 3,
      },
    });
    expect(resources[id(actionQueue)].Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
      6 * resources[id(worker.function)].Properties.Timeout,
    );
    expect(resources[id(actionDeadLetterQueue)].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    for (const queue of [actionQueue, actionDeadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('feeds the worker in batches of 5 that report each failed item, with a timeout that outlasts IAM’s usage job', () => {
    const { built, template, id } = report;
    const { actionQueue, worker } = built.stack.reauth.slackEndpoint;

    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id(actionQueue), 'Arn'] },
      FunctionName: { Ref: id(worker.function) },
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // A right-size click waits up to SERVICE_USAGE_MAX_WAIT_MS for IAM's job, then narrows.
    const timeout = template.toJSON().Resources[id(worker.function)].Properties.Timeout;
    expect(timeout * 1000).toBeGreaterThanOrEqual(SERVICE_USAGE_MAX_WAIT_MS + 20_000);
    // Three attempts, each after the visibility timeout (6 × this), within a response_url's 30 minutes.
    expect(3 * 6 * timeout).toBeLessThanOrEqual(30 * 60);
  });

  it('alarms on endpoint errors, worker errors and any dead-lettered action, to the alarm topic', () => {
    const { built, template, id } = report;
    const { endpoint, worker, actionDeadLetterQueue } = built.stack.reauth.slackEndpoint;
    const toTopic = { AlarmActions: [{ Ref: id(built.stack.reauth.alarmTopic) }] };

    for (const fn of [endpoint.function, worker.function]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...toTopic,
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(fn) } }],
        Threshold: 1,
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...toTopic,
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(actionDeadLetterQueue), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it("describes every function within Lambda's 256 characters", () => {
    for (const fn of Object.values(report.template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Description.length).toBeLessThanOrEqual(256);
      expect(fn.Properties.Description).toMatch(/^reauth /);
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['report', () => report],
    ['enforce', () => enforce],
  ])('has no unacknowledged finding in %s mode', (_mode, get) => {
    const s = get();

    expect(s.validationReport.pluginReports.flatMap((r) => r.violations)).toEqual([]);
    expect(new AwsSolutionsChecks().validateScope(s.built.app).violations).toEqual([]);
  });

  it('acknowledges, in enforce mode only, each scoped IAM or Secrets Manager wildcard, with its actions in the reason', () => {
    const user = 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:user/*]';
    const role = 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*]';
    const secret =
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:*]';
    const rotated =
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:reauth/rotated/*]';
    const sessions =
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/reauth/sessions/*]';
    const rightSize =
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/reauth/right-size/*]';
    const reportAcks = acknowledgedFindings(report).map((a) => a.at);
    const enforceAcks = acknowledgedFindings(enforce);
    const added = enforceAcks.filter((a) => !reportAcks.includes(a.at));

    expect(added.map((a) => a.at).sort()).toEqual(
      [
        `Reauth/Default/EnforceJob/Enforce/Role ${user}`,
        `Reauth/Default/EnforceJob/Enforce/Role ${role}`,
        `Reauth/Default/EnforceJob/Enforce/Role ${secret}`,
        `Reauth/Default/RoleDisablePolicy AwsSolutions-IAM5[Action::*]`,
        `Reauth/Default/RoleDisablePolicy AwsSolutions-IAM5[Resource::*]`,
        `Reauth/Default/SessionPolicies/Writer/Role AwsSolutions-IAM5[Resource::*]`,
        `Reauth/Default/SessionPolicies/Writer/Role ${sessions}`,
        `Reauth/Default/SessionPolicies/Writer/Role ${rightSize}`,
        `Reauth/Default/SessionPolicies/Writer/Role ${role}`,
        `Reauth/Default/SessionPolicies/Writer/Role ${user}`,
        `Reauth/Default/SlackEndpoint/Worker/Role ${user}`,
        `Reauth/Default/SlackEndpoint/Worker/Role ${role}`,
        `Reauth/Default/SlackEndpoint/Worker/Role ${secret}`,
        `Reauth/Default/SlackEndpoint/Worker/Role ${rotated}`,
        // The right-size read's job id has no ARN (iam:GetServiceLastAccessedDetails).
        `Reauth/Default/SlackEndpoint/Worker/Role AwsSolutions-IAM5[Resource::*]`,
      ].sort(),
    );
    for (const { at, reason } of enforceAcks) {
      expect(reason.length, at).toBeGreaterThan(60);
    }
    const reasonOf = (at: string) => added.find((a) => a.at === at)?.reason ?? '';
    expect(reasonOf(`Reauth/Default/EnforceJob/Enforce/Role ${user}`)).toContain('iam:UpdateAccessKey');
    expect(reasonOf(`Reauth/Default/SlackEndpoint/Worker/Role ${rotated}`)).toContain('reauth/rotated/');
    expect(reasonOf(`Reauth/Default/SessionPolicies/Writer/Role ${rightSize}`)).toContain(
      '/reauth/right-size/',
    );
    expect(reasonOf(`Reauth/Default/SlackEndpoint/Worker/Role ${role}`)).toContain('/reauth/right-size/');
    expect(reasonOf(`Reauth/Default/SlackEndpoint/Worker/Role ${role}`)).toContain(
      'iam:GenerateServiceLastAccessedDetails',
    );
    expect(reasonOf('Reauth/Default/SlackEndpoint/Worker/Role AwsSolutions-IAM5[Resource::*]')).toContain(
      'iam:GetServiceLastAccessedDetails',
    );
    expect(reasonOf(`Reauth/Default/SlackEndpoint/Worker/Role ${rotated}`)).toContain(
      'secretsmanager:CreateSecret',
    );
  });

  it('explains why the Slack route has no IAM or JWT authorizer, and why the Slack secret does not rotate', () => {
    const acks = acknowledgedFindings(report);
    const reasonOf = (suffix: string) => acks.find((a) => a.at.endsWith(suffix))?.reason ?? '';

    expect(reasonOf('/Api/POST--slack--interactions AwsSolutions-APIG4')).toMatch(/signature.*HMAC-SHA256/);
    expect(reasonOf('Reauth/Default/SlackSecret AwsSolutions-SMG4')).toMatch(/Slack app's settings/);
  });
});
