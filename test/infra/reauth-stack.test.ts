import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnElement, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanEnvSchema } from '../../lambdas/scan/env';
import { ANY_STACK } from '../../lib/credential-permissions';
import { buildApp } from '../../lib/reauth-app';
import { REPO_ROOT, type ReauthFunctionProps } from '../../lib/reauth-function';

// Checked by `tsc`: a function's environment is typed from its zod contract.
// @ts-expect-error POLICY_FILE is missing
const _missingVariable: ReauthFunctionProps<typeof ScanEnvSchema>['environment'] = {
  TABLE_NAME: 'decisions',
};

const SCAN_READS = [
  'iam:GenerateCredentialReport',
  'iam:GenerateServiceLastAccessedDetails',
  'iam:GetAccountAuthorizationDetails',
  'iam:GetCredentialReport',
  'iam:GetServiceLastAccessedDetails',
  'iam:ListAccessKeys',
  'iam:ListSSHPublicKeys',
  'iam:ListServiceSpecificCredentials',
  'iam:ListSigningCertificates',
  'secretsmanager:ListSecrets',
];

// One synth for the whole file, without bundling: test/infra/bundles.test.ts builds the real bundles.
const outdir = mkdtempSync(join(tmpdir(), 'reauth-infra-'));
let built: ReturnType<typeof buildApp>;
let assembly: CloudAssembly;
let template: Template;
let ids: {
  table: string;
  fn: string;
  fnRole: string;
  dlq: string;
  topic: string;
  secret: string;
  enforceFn: string;
  endpointFn: string;
  workerFn: string;
};

beforeAll(() => {
  built = buildApp({ bundling: false, configPath: join(REPO_ROOT, 'reauth.config.json'), outdir });
  assembly = built.app.synth(); // throws if cdk-nag has an unacknowledged finding
  template = Template.fromJSON(assembly.getStackArtifact(built.stack.artifactId).template);
  const only = (type: string) => {
    const found = Object.keys(template.findResources(type));
    expect(found, type).toHaveLength(1);
    return found[0] as string;
  };
  const { stack } = built;
  const logicalId = (c: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(c.node.defaultChild as CfnElement);
  const fn = logicalId(stack.reauth.scanJob.function.function);
  ids = {
    table: only('AWS::DynamoDB::GlobalTable'),
    fn,
    fnRole: template.toJSON().Resources[fn].Properties.Role['Fn::GetAtt'][0],
    dlq: logicalId(stack.reauth.scanJob.deadLetterQueue),
    topic: only('AWS::SNS::Topic'),
    secret: only('AWS::SecretsManager::Secret'),
    enforceFn: logicalId(stack.reauth.enforceJob.function.function),
    endpointFn: logicalId(stack.reauth.slackEndpoint.endpoint.function),
    workerFn: logicalId(stack.reauth.slackEndpoint.worker.function),
  };
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Every action the role's policies allow; `on` keeps only statements whose resources match it. */
function allowedActions(roleId: string, on: (resource: unknown) => boolean = () => true): string[] {
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  return Object.values(policies).flatMap((policy) =>
    policy.Properties.PolicyDocument.Statement.filter(
      (s: { Effect: string; Resource: unknown }) => s.Effect === 'Allow' && [s.Resource].flat().some(on),
    ).flatMap((s: { Action: string | string[] }) => [s.Action].flat()),
  );
}

describe('decision table', () => {
  it('is on-demand, encrypted, point-in-time recoverable, deletion-protected and retained', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        Replicas: [
          Match.objectLike({
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            DeletionProtectionEnabled: true,
          }),
        ],
      }),
    });
  });

  it("has the store's keys, the stateByAccount index and the sparse openByOwner index, over every attribute", () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'stateByAccount',
          KeySchema: [
            { AttributeName: 'stateAccountId', KeyType: 'HASH' },
            { AttributeName: 'credentialId', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: 'openByOwner',
          KeySchema: [
            { AttributeName: 'openShard', KeyType: 'HASH' },
            { AttributeName: 'openOwner', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      AttributeDefinitions: Match.arrayEquals([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'stateAccountId', AttributeType: 'S' },
        { AttributeName: 'credentialId', AttributeType: 'S' },
        { AttributeName: 'openShard', AttributeType: 'S' },
        { AttributeName: 'openOwner', AttributeType: 'S' },
      ]),
    });
  });
});

describe('scan function', () => {
  it('runs Node.js 24 on ARM64 with JSON logs, source maps, two malloc arenas and the table and policy in its environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Description: Match.stringLikeRegexp('.+'),
      Timeout: 900,
      MemorySize: 512,
      LoggingConfig: { LogFormat: 'JSON', LogGroup: Match.anyValue() },
      Environment: {
        Variables: {
          TABLE_NAME: { Ref: ids.table },
          POLICY_FILE: 'policy.json',
          SLACK_SECRET_ARN: { Ref: ids.secret },
          NODE_OPTIONS: '--enable-source-maps',
          MALLOC_ARENA_MAX: '2',
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  it('runs one at a time (reserved concurrency 1), as only the scheduled scan and enforce jobs do', () => {
    const reserved = Object.entries(template.findResources('AWS::Lambda::Function'))
      .filter(([, fn]) => fn.Properties.ReservedConcurrentExecutions !== undefined)
      .map(([id, fn]) => [id, fn.Properties.ReservedConcurrentExecutions]);

    expect(Object.fromEntries(reserved)).toEqual({ [ids.fn]: 1, [ids.enforceFn]: 1 });
  });

  it('may only read IAM and Secrets Manager', () => {
    const slackSecret = (r: unknown) => JSON.stringify(r) === JSON.stringify({ Ref: ids.secret });
    const actions = allowedActions(ids.fnRole, (r) => !slackSecret(r));

    // Beyond the inventory, it reads the Slack secret, and only that one, to tell owners.
    expect(allowedActions(ids.fnRole, slackSecret).sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    expect(actions.filter((a) => /^(iam|secretsmanager):/.test(a)).sort()).toEqual(SCAN_READS);
    expect(
      actions.filter((a) =>
        /^(iam|secretsmanager):(?!Get|List|GenerateCredentialReport|GenerateServiceLastAccessedDetails)/.test(
          a,
        ),
      ),
    ).toEqual([]);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  it('cannot delete from the append-only decision table', () => {
    const actions = allowedActions(ids.fnRole);

    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem']),
    );
    expect(actions).not.toContain('dynamodb:DeleteItem');
    expect(actions).not.toContain('dynamodb:BatchWriteItem');
  });
});

describe('schedule and alarms', () => {
  it('invokes the scan daily, retrying, then dead-lettering to an encrypted SSL-only queue', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Description: Match.stringLikeRegexp('.+'),
      ScheduleExpression: 'cron(0 6 * * ? *)',
      Target: {
        Arn: { 'Fn::GetAtt': [ids.fn, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: Match.anyValue() },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] } },
        RoleArn: Match.anyValue(),
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('alarms on any scan error within an hour and on any dead letter, to the encrypted alarm topic', () => {
    const toTopic = { AlarmActions: [{ Ref: ids.topic }] };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...toTopic,
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.fn } }],
      Period: 3600,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...toTopic,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('describes every role and outputs the table and function names', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.Description).toMatch(/\w{10,}/);
    }
    template.hasOutput('TableName', { Value: { Ref: ids.table } });
    template.hasOutput('ScanFunctionName', { Value: { Ref: ids.fn } });
    template.hasOutput('EnforceFunctionName', { Value: { Ref: ids.enforceFn } });
    template.hasOutput('SlackSecretArn', { Value: { Ref: ids.secret } });
    template.hasOutput('SlackInteractionUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/slack/interactions$')])] },
    });
  });
});

describe('single-account mode (no organization in the policy)', () => {
  it('has no state machine, no StackSet, no member role grant and no ORG_MODE', () => {
    for (const type of [
      'AWS::StepFunctions::StateMachine',
      'AWS::CloudFormation::StackSet',
      'AWS::Events::EventBusPolicy',
    ]) {
      expect(template.findResources(type), type).toEqual({});
    }
    const text = JSON.stringify(template.toJSON());
    for (const absent of [':iam::*:role/', 'organizations:', 'ORG_MODE', 'aws:PrincipalOrgID']) {
      expect(text).not.toContain(absent);
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('has no unacknowledged finding', () => {
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));

    expect(report.pluginReports.flatMap((r: { violations: unknown[] }) => r.violations)).toEqual([]);
    // Also run the pack directly, so this fails even if the app stopped registering it.
    expect(new AwsSolutionsChecks().validateScope(built.app).violations).toEqual([]);
  });

  it('acknowledges only the expected findings, each with a specific reason kept in the template', () => {
    const acknowledged = built.app.node.findAll().flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
            at: `${c.node.path} ${id.replace(/^annotation::/i, '')}`,
            reason,
          })),
        ),
    );

    expect(acknowledged.map((a) => a.at).sort()).toEqual(
      [
        'Reauth/Default/ScanJob/Scan/Role AwsSolutions-IAM5[Resource::*]',
        // The owner tag of the stack that created a principal (the stack owner source).
        `Reauth/Default/ScanJob/Scan/Role AwsSolutions-IAM5[Resource::${ANY_STACK.finding}]`,
        `Reauth/Default/ScanJob/Scan/Role AwsSolutions-IAM5[Resource::<${ids.table}.Arn>/index/*]`,
        'Reauth/Default/ScanJob/ScheduleDeadLetters AwsSolutions-SQS3',
        `Reauth/Default/ScanJob/SchedulerRole AwsSolutions-IAM5[Resource::<${ids.fn}.Arn>:*]`,
        // Report mode: the enforce job has the scan's reads, nothing more.
        'Reauth/Default/EnforceJob/Enforce/Role AwsSolutions-IAM5[Resource::*]',
        `Reauth/Default/EnforceJob/Enforce/Role AwsSolutions-IAM5[Resource::${ANY_STACK.finding}]`,
        `Reauth/Default/EnforceJob/Enforce/Role AwsSolutions-IAM5[Resource::<${ids.table}.Arn>/index/*]`,
        'Reauth/Default/EnforceJob/ScheduleDeadLetters AwsSolutions-SQS3',
        `Reauth/Default/EnforceJob/SchedulerRole AwsSolutions-IAM5[Resource::<${ids.enforceFn}.Arn>:*]`,
        'Reauth/Default/SlackSecret AwsSolutions-SMG4',
        `Reauth/Default/SlackEndpoint/Endpoint/Role AwsSolutions-IAM5[Resource::<${ids.table}.Arn>/index/*]`,
        `Reauth/Default/SlackEndpoint/Worker/Role AwsSolutions-IAM5[Resource::<${ids.table}.Arn>/index/*]`,
        'Reauth/Default/SlackEndpoint/Api/POST--slack--interactions AwsSolutions-APIG4',
        // The trust-events consumer: the scan's reads, plus re-reading the one user or secret an event names.
        'Reauth/Default/TrustEvents/Consumer/Role AwsSolutions-IAM5[Resource::*]',
        `Reauth/Default/TrustEvents/Consumer/Role AwsSolutions-IAM5[Resource::<${ids.table}.Arn>/index/*]`,
        'Reauth/Default/TrustEvents/Consumer/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/*]',
        'Reauth/Default/TrustEvents/Consumer/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::aws:policy/*]',
        'Reauth/Default/TrustEvents/Consumer/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:group/*]',
        // The compliance export: its access-log bucket, the table's exports and the export prefix (no index).
        'Reauth/Default/Evidence/AccessLogs AwsSolutions-S1',
        `Reauth/Default/ExportJob/Export/Role AwsSolutions-IAM5[Resource::<${ids.table}.Arn>/export/*]`,
        `Reauth/Default/ExportJob/Export/Role AwsSolutions-IAM5[Resource::<${built.stack.getLogicalId(built.stack.reauth.evidence.bucket.node.defaultChild as CfnElement)}.Arn>/exports/*]`,
        'Reauth/Default/ExportJob/ScheduleDeadLetters AwsSolutions-SQS3',
        `Reauth/Default/ExportJob/SchedulerRole AwsSolutions-IAM5[Resource::<${built.stack.getLogicalId(built.stack.reauth.exportJob.function.function.node.defaultChild as CfnElement)}.Arn>:*]`,
      ].sort(),
    );
    for (const { reason } of acknowledged) expect(reason.length).toBeGreaterThan(60);
    const wildcard = acknowledged.find((a) => a.at.endsWith('[Resource::*]'))?.reason;
    for (const action of SCAN_READS) expect(wildcard).toContain(action);
    template.hasResource('AWS::IAM::Policy', {
      Metadata: {
        cdk_nag: {
          rules_to_suppress: Match.arrayWith([{ id: 'AwsSolutions-IAM5[Resource::*]', reason: wildcard }]),
        },
      },
    });
  });
});

describe('policy config', () => {
  it('fails the build naming the bad field', () => {
    const bad = join(outdir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ tiers: { standard: { idleDays: 0 } } }));

    expect(() => buildApp({ bundling: false, configPath: bad, outdir: join(outdir, 'bad') })).toThrow(
      /bad\.json: tiers\.standard\.idleDays: Too small/,
    );
  });

  it('fails the build on an exemption whose match is a pattern, naming the field', () => {
    const blanket = join(outdir, 'blanket.json');
    writeFileSync(
      blanket,
      JSON.stringify({
        exemptions: [{ match: '*', until: '2027-01-01', approver: 'U999', reason: 'quiet' }],
      }),
    );

    expect(() => buildApp({ bundling: false, configPath: blanket, outdir: join(outdir, 'blanket') })).toThrow(
      /blanket\.json: exemptions\[0\]\.match: "\*" is a pattern/,
    );
  });
});
