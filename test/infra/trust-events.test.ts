import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnElement, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/reauth-app';
import { REPO_ROOT } from '../../lib/reauth-function';

const CUSTOM_PATTERN = {
  source: ['reauth'],
  'detail-type': ['Owner Departed', 'Owner Role Changed', 'Purpose Changed', 'Provider Scope Changed'],
};
const SECRETS_PATTERN = {
  source: ['aws.secretsmanager'],
  'detail-type': ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['secretsmanager.amazonaws.com'],
    eventName: [
      'PutResourcePolicy',
      'DeleteResourcePolicy',
      'UpdateSecret',
      'TagResource',
      'UntagResource',
      'CreateSecret',
    ],
  },
};
const IAM_PATTERN = {
  source: ['aws.iam'],
  'detail-type': ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['iam.amazonaws.com'],
    eventName: [
      'AttachUserPolicy',
      'PutUserPolicy',
      'DetachUserPolicy',
      'DeleteUserPolicy',
      'AddUserToGroup',
      'RemoveUserFromGroup',
      'PutUserPermissionsBoundary',
      'DeleteUserPermissionsBoundary',
      'AttachGroupPolicy',
      'PutGroupPolicy',
      'DetachGroupPolicy',
      'DeleteGroupPolicy',
      'AttachRolePolicy',
      'PutRolePolicy',
      'DetachRolePolicy',
      'DeleteRolePolicy',
      'PutRolePermissionsBoundary',
      'DeleteRolePermissionsBoundary',
      'CreatePolicyVersion',
      'SetDefaultPolicyVersion',
      'UpdateAssumeRolePolicy',
      'UpdateAccessKey',
      'TagUser',
      'UntagUser',
      'TagRole',
      'UntagRole',
      'CreateUser',
      'CreateAccessKey',
      'CreateRole',
      'CreateLoginProfile',
    ],
  },
};

/** Where the consumer reads policies and groups: the account's policies, AWS's, the account's groups. */
const CHANGE_READ_SCOPES = [
  'arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/*',
  'arn:<AWS::Partition>:iam::aws:policy/*',
  'arn:<AWS::Partition>:iam::<AWS::AccountId>:group/*',
];

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

interface Synthesized {
  built: ReturnType<typeof buildApp>;
  assembly: CloudAssembly;
  template: Template;
  /** Logical id of a construct's CloudFormation resource in the main stack. */
  id(construct: IConstruct): string;
}

function synthesize(outdir: string, options: { configPath: string; homeRegion?: string }): Synthesized {
  const built = buildApp({ bundling: false, ...options, outdir });
  const assembly = built.app.synth(); // throws if cdk-nag has an unacknowledged finding
  return {
    built,
    assembly,
    template: Template.fromJSON(assembly.getStackArtifact(built.stack.artifactId).template),
    id: (construct) => built.stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement),
  };
}

/** The Allow statements of every policy attached to the role. */
function allowStatements(template: Template, roleId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  return Object.values(policies).flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as Statement[]).filter((s) => s.Effect === 'Allow'),
  );
}

function consumerRole(s: Synthesized): string {
  return s.template.toJSON().Resources[s.id(s.built.stack.reauth.trustEvents.consumer.function)].Properties
    .Role['Fn::GetAtt'][0];
}

function acknowledgedUnder(s: Synthesized, prefix: string): { at: string; reason: string }[] {
  return s.built.app.node.findAll().flatMap((c) =>
    c.node.path.startsWith(prefix)
      ? c.node.metadata
          .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((m) =>
            Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
              at: `${c.node.path} ${id.replace(/^annotation::/i, '')}`,
              reason,
            })),
          )
      : [],
  );
}

const outdir = mkdtempSync(join(tmpdir(), 'reauth-infra-events-'));
/** The default: home region us-east-1, report mode. */
let home: Synthesized;
/** Home region eu-west-1, enforce mode: the forwarder stack exists, the consumer still only reads. */
let away: Synthesized;

beforeAll(() => {
  const enforceConfig = join(outdir, 'enforce.json');
  writeFileSync(enforceConfig, JSON.stringify({ mode: 'enforce' }));
  home = synthesize(join(outdir, 'home'), { configPath: join(REPO_ROOT, 'reauth.config.json') });
  away = synthesize(join(outdir, 'away'), { configPath: enforceConfig, homeRegion: 'eu-west-1' });
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('trust-events bus', () => {
  it("is reauth's own bus named reauth, output by name and ARN for HR and ITSM systems", () => {
    const { template, built, id } = home;
    const busId = id(built.stack.reauth.trustEvents.bus);

    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'reauth' });
    template.hasOutput('EventBusName', { Value: { Ref: busId } });
    template.hasOutput('EventBusArn', { Value: { 'Fn::GetAtt': [busId, 'Arn'] } });
  });
});

describe('rules (home region us-east-1, the default)', () => {
  it('has exactly three rules, each with its exact pattern and the trust-event queue as only target', () => {
    const { template, built, id } = home;
    const events = built.stack.reauth.trustEvents;
    const rules = template.toJSON().Resources;
    const queueArn = { 'Fn::GetAtt': [id(events.queue), 'Arn'] };

    template.resourceCountIs('AWS::Events::Rule', 3);
    const expected = [
      [events.customEventsRule, CUSTOM_PATTERN, { Ref: id(events.bus) }],
      [events.secretChangesRule, SECRETS_PATTERN, undefined],
      [events.iamChangesRule, IAM_PATTERN, undefined],
    ] as const;
    for (const [rule, pattern, bus] of expected) {
      const properties = rules[id(rule)].Properties;
      expect(properties.EventPattern).toEqual(pattern);
      expect(properties.EventBusName).toEqual(bus); // undefined: the account's default bus
      expect(properties.Targets).toEqual([{ Arn: queueArn, Id: 'Target0' }]);
      expect(properties.Description).toMatch(/^reauth: /);
    }
  });

  it("filters out no call by name or by caller: the consumer tells reauth's own from its caller and document", () => {
    const { template, built, id } = home;
    const rules = template.toJSON().Resources;

    for (const rule of [
      built.stack.reauth.trustEvents.secretChangesRule,
      built.stack.reauth.trustEvents.iamChangesRule,
    ]) {
      const detail = rules[id(rule)].Properties.EventPattern.detail;
      expect(Object.keys(detail).sort()).toEqual(['eventName', 'eventSource']);
      expect(JSON.stringify(detail)).not.toMatch(/reauth|anything-but|userIdentity|requestParameters/i);
    }
  });

  it('lets EventBridge send to the queue only from these three rules', () => {
    const { template, built, id } = home;
    const events = built.stack.reauth.trustEvents;
    const policies = template.findResources('AWS::SQS::QueuePolicy', {
      Properties: { Queues: [{ Ref: id(events.queue) }] },
    });
    const allows = Object.values(policies).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as Statement[]).filter((s) => s.Effect === 'Allow'),
    );

    expect(allows.map((s) => s.Principal)).toEqual(Array(3).fill({ Service: 'events.amazonaws.com' }));
    expect(allows.map((s) => s.Condition)).toEqual(
      [events.customEventsRule, events.secretChangesRule, events.iamChangesRule].map((rule) => ({
        ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [id(rule), 'Arn'] } },
      })),
    );
  });

  it('has no forwarder stack: IAM events arrive on the default bus here', () => {
    const { built, assembly } = home;

    expect(built.forwarder).toBeUndefined();
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['Reauth']);
  });
});

describe('queues', () => {
  it('retries an event three times, then keeps it 14 days in InvalidTrustEvents; both encrypted and SSL-only', () => {
    const { template, built, id } = home;
    const events = built.stack.reauth.trustEvents;
    const resources = template.toJSON().Resources;
    const consumerTimeout = resources[id(events.consumer.function)].Properties.Timeout;

    expect(resources[id(events.queue)].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [id(events.invalidEventsQueue), 'Arn'] },
        maxReceiveCount: 3,
      },
    });
    expect(resources[id(events.queue)].Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
      6 * consumerTimeout,
    );
    expect(events.invalidEventsQueue.node.path).toBe('Reauth/Default/TrustEvents/InvalidTrustEvents');
    expect(resources[id(events.invalidEventsQueue)].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    for (const queue of [events.queue, events.invalidEventsQueue]) {
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
});

describe('consumer', () => {
  it("is a 60-second, 512 MB function with the table, policy, Slack secret, InvalidTrustEvents URL and reauth's roles", () => {
    const { template, built, id } = home;
    const events = built.stack.reauth.trustEvents;
    const properties = template.toJSON().Resources[id(events.consumer.function)].Properties;

    expect(properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Timeout: 60,
      MemorySize: 512,
      Description: expect.stringMatching(/^reauth events: /),
      Environment: {
        Variables: {
          TABLE_NAME: { Ref: id(built.stack.reauth.table) },
          POLICY_FILE: 'policy.json',
          SLACK_SECRET_ARN: { Ref: id(built.stack.reauth.slackSecret) },
          INVALID_EVENTS_QUEUE_URL: { Ref: id(events.invalidEventsQueue) },
          // A change reaching many principals comes back to its own queue in parts.
          TRUST_EVENTS_QUEUE_URL: { Ref: id(events.queue) },
          // The roles whose calls may be reauth's own: the functions that disable and restore.
          REAUTH_ROLE_ARNS: {
            'Fn::Join': [
              ',',
              [built.stack.reauth.enforceJob.function.role, built.stack.reauth.slackEndpoint.worker.role].map(
                (role) => ({
                  'Fn::GetAtt': [id(role), 'Arn'],
                }),
              ),
            ],
          },
        },
      },
    });
    expect(properties.Environment.Variables.SLACK_API_URL).toBeUndefined();
  });

  it("takes its REAUTH_ROLE_ARNS from roles with no path, so they read as CloudTrail's sessionIssuer.arn", () => {
    const { template, built, id } = home;

    for (const role of [
      built.stack.reauth.enforceJob.function.role,
      built.stack.reauth.slackEndpoint.worker.role,
    ]) {
      expect(template.toJSON().Resources[id(role)].Properties.Path).toBeUndefined();
    }
  });

  it('drains the queue ten at a time, reporting failed items one by one', () => {
    const { template, built, id } = home;
    const events = built.stack.reauth.trustEvents;

    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2); // this one and the Slack worker's
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id(events.queue), 'Arn'] },
      FunctionName: { Ref: id(events.consumer.function) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it.each([
    ['report', () => home],
    ['enforce', () => away],
  ])('only reads IAM and Secrets Manager in %s mode', (_mode, synthesized) => {
    const s = synthesized();
    const statements = allowStatements(s.template, consumerRole(s));
    const actions = statements.flatMap((st) => [st.Action].flat());
    const credentialActions = actions.filter((a) => /^(iam|secretsmanager):/.test(a));

    expect(
      credentialActions.filter(
        (a) => !/:(Get|List|Describe|GenerateCredentialReport|GenerateServiceLastAccessedDetails)/.test(a),
      ),
    ).toEqual([]);
    expect(credentialActions).toEqual(
      expect.arrayContaining([
        'iam:GenerateCredentialReport',
        'iam:GetCredentialReport',
        'iam:GetAccountAuthorizationDetails',
        'iam:ListAccessKeys',
        'secretsmanager:ListSecrets',
      ]),
    );
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    const on = (action: string) =>
      statements.filter((st) => [st.Action].flat().includes(action)).map((st) => st.Resource);
    expect(on('iam:ListAccessKeys')).toEqual(['*']);
    // DescribeSecret only with GetSecretValue on the Slack secret: never another secret.
    expect(on('secretsmanager:DescribeSecret')).toEqual([{ Ref: s.id(s.built.stack.reauth.slackSecret) }]);
  });

  it("with revokeSessionsOn owner-departed or scope-changed in enforce mode, may also attach and detach reauth's session policies on a user or a role, and nothing more", () => {
    const configPath = join(outdir, 'revoke-on-events.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        mode: 'enforce',
        enforcement: { revokeSessionsOn: ['owner-departed', 'scope-changed'] },
      }),
    );
    const s = synthesize(join(outdir, 'revoke-on-events'), { configPath }); // cdk-nag passes, or this throws
    const statements = allowStatements(s.template, consumerRole(s));
    const writes = statements.flatMap((st) =>
      [st.Action]
        .flat()
        .filter(
          (a) =>
            /^(iam|secretsmanager):/.test(a) &&
            !/:(Get|List|Describe|GenerateCredentialReport|GenerateServiceLastAccessedDetails)/.test(a),
        )
        .map((action) => ({ action, resource: st.Resource })),
    );

    const user = { 'Fn::Join': ['', expect.arrayContaining([':user/*'])] };
    const role = { 'Fn::Join': ['', expect.arrayContaining([':role/*'])] };
    expect(writes).toEqual([
      { action: 'iam:AttachUserPolicy', resource: user },
      { action: 'iam:DetachUserPolicy', resource: user },
      { action: 'iam:AttachRolePolicy', resource: role },
      { action: 'iam:DetachRolePolicy', resource: role },
    ]);
    // Each only on reauth's own policies.
    for (const st of statements.filter((x) => /"iam:(Attach|Detach)/.test(JSON.stringify([x.Action].flat()))))
      expect(JSON.stringify(st.Condition)).toMatch(/policy\/reauth\/sessions\//);
    expect(acknowledgedUnder(s, 'Reauth/Default/TrustEvents/Consumer/Role').map((a) => a.reason)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/reauth-sessions-before-<moment>.*iam:AttachRolePolicy/),
      ]),
    );
  });

  it('may send to InvalidTrustEvents and to its own queue (a change in parts), and to no other queue', () => {
    const { template, built, id } = home;
    const statements = allowStatements(template, consumerRole(home));
    const events = built.stack.reauth.trustEvents;

    expect(
      statements.filter((s) => [s.Action].flat().includes('sqs:SendMessage')).flatMap((s) => s.Resource),
    ).toEqual([
      { 'Fn::GetAtt': [id(events.invalidEventsQueue), 'Arn'] },
      { 'Fn::GetAtt': [id(events.queue), 'Arn'] },
    ]);
  });
});

describe('alarms', () => {
  it('alarms on consumer errors and on any invalid or failed event, to the alarm topic', () => {
    const { template, built, id } = home;
    const events = built.stack.reauth.trustEvents;
    const toTopic = { AlarmActions: [{ Ref: id(built.stack.reauth.alarmTopic) }] };

    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...toTopic,
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(events.consumer.function) } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...toTopic,
      AlarmDescription: Match.stringLikeRegexp(
        '^An event failed validation or processing: see InvalidTrustEvents, each message carries its reason',
      ),
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [id(events.invalidEventsQueue), 'QueueName'] } },
      ],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });
});

describe('home region outside us-east-1 (eu-west-1)', () => {
  it('listens for IAM events on the reauth bus in the main stack', () => {
    const { template, built, id } = away;
    const events = built.stack.reauth.trustEvents;
    const rules = template.toJSON().Resources;

    expect(rules[id(events.iamChangesRule)].Properties).toMatchObject({
      EventBusName: { Ref: id(events.bus) },
      EventPattern: IAM_PATTERN,
    });
    expect(rules[id(events.secretChangesRule)].Properties.EventBusName).toBeUndefined();
    // Bound to its home region: it cannot be deployed where the forwarded IAM events do not arrive.
    expect(built.stack.region).toBe('eu-west-1');
    expect(away.assembly.getStackArtifact(built.stack.artifactId).environment.region).toBe('eu-west-1');
  });

  it("adds a forwarder stack in us-east-1 whose one rule sends IAM events to eu-west-1's reauth bus", () => {
    const { built, assembly } = away;
    const forwarder = built.forwarder;
    if (!forwarder) throw new Error('no forwarder stack');
    const artifact = assembly.getStackArtifact(forwarder.artifactId);
    const template = Template.fromJSON(artifact.template);
    const busArn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':events:eu-west-1:',
          { Ref: 'AWS::AccountId' },
          ':event-bus/reauth',
        ],
      ],
    };

    expect(artifact.stackName).toBe('ReauthIamEventForwarder');
    expect(artifact.environment.region).toBe('us-east-1');
    template.resourceCountIs('AWS::Events::Rule', 1);
    const [rule] = Object.values(template.findResources('AWS::Events::Rule'));
    const roleId = forwarder.getLogicalId(forwarder.role.node.defaultChild as CfnElement);
    expect(rule?.Properties).toMatchObject({
      EventPattern: IAM_PATTERN,
      Targets: [{ Arn: busArn, Id: 'Target0', RoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] } }],
    });
    expect(rule?.Properties.EventBusName).toBeUndefined(); // us-east-1's default bus
    expect(allowStatements(template, roleId)).toEqual([
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn },
    ]);
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('eu-west-1'),
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ],
      },
    });
  });
});

describe('home region from the CDK context', () => {
  const saved = process.env.CDK_CONTEXT_JSON;
  afterEach(() => {
    if (saved === undefined) delete process.env.CDK_CONTEXT_JSON;
    else process.env.CDK_CONTEXT_JSON = saved;
  });
  // No bundling: these only build the construct tree.
  const withContext = (homeRegion?: string) => {
    process.env.CDK_CONTEXT_JSON = JSON.stringify({ homeRegion, 'aws:cdk:bundling-stacks': [] });
    return buildApp({
      bundling: false,
      configPath: join(REPO_ROOT, 'reauth.config.json'),
      outdir: join(outdir, 'ctx'),
    });
  };

  it('takes -c homeRegion=<region>, adding the forwarder stack outside us-east-1', () => {
    expect(withContext('eu-west-1').forwarder?.region).toBe('us-east-1');
    expect(withContext('us-east-1').forwarder).toBeUndefined();
  });

  it("is, without -c homeRegion, the region the CDK CLI deploys to (the profile's), else us-east-1", () => {
    const saved = process.env.CDK_DEFAULT_REGION;
    try {
      process.env.CDK_DEFAULT_REGION = 'eu-central-1';
      const inProfileRegion = withContext().stack;
      delete process.env.CDK_DEFAULT_REGION;
      const noRegion = withContext();

      expect(inProfileRegion.region).toBe('eu-central-1');
      expect(noRegion.stack.region).toBe('us-east-1');
      expect(noRegion.forwarder).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.CDK_DEFAULT_REGION;
      else process.env.CDK_DEFAULT_REGION = saved;
    }
  });

  it("lets the accounts in -c eventPublishers put only reauth's own events on its bus, and no other account any", () => {
    process.env.CDK_CONTEXT_JSON = JSON.stringify({
      eventPublishers: '111111111111, 222222222222',
      'aws:cdk:bundling-stacks': [],
    });
    const { stack } = buildApp({
      bundling: false,
      configPath: join(REPO_ROOT, 'reauth.config.json'),
      outdir: join(outdir, 'ctx'),
    });
    const template = Template.fromStack(stack);
    const busId = stack.getLogicalId(stack.reauth.trustEvents.bus.node.defaultChild as CfnElement);
    const busArn = { 'Fn::GetAtt': [busId, 'Arn'] };

    // One EventBusPolicy per statement, as CDK writes them.
    const statements = Object.values(template.findResources('AWS::Events::EventBusPolicy')).map((p) => ({
      bus: p.Properties.EventBusName,
      ...p.Properties.Statement,
    }));
    expect(statements).toEqual(
      ['111111111111', '222222222222'].map((account) => ({
        bus: { Ref: busId },
        Sid: `cdk-ReauthEventsFrom${account}`,
        Effect: 'Allow',
        // The stack is bound to a region, so its partition is known (@aws-cdk/core:enablePartitionLiterals).
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: 'events:PutEvents',
        Resource: busArn,
        Condition: {
          'ForAllValues:StringEquals': {
            'events:source': ['reauth'],
            'events:detail-type': [
              'Owner Departed',
              'Owner Role Changed',
              'Purpose Changed',
              'Provider Scope Changed',
            ],
          },
        },
      })),
    );
    expect(
      Object.keys(Template.fromStack(withContext().stack).findResources('AWS::Events::EventBusPolicy')),
    ).toEqual([]);
    process.env.CDK_CONTEXT_JSON = JSON.stringify({ eventPublishers: '1234', 'aws:cdk:bundling-stacks': [] });
    expect(() =>
      buildApp({
        bundling: false,
        configPath: join(REPO_ROOT, 'reauth.config.json'),
        outdir: join(outdir, 'ctx'),
      }),
    ).toThrow(/eventPublishers: "1234" is not an AWS account id/);
  });

  it('rejects a home region that is not a region name', () => {
    expect(() => withContext('Ireland')).toThrow(/homeRegion: "Ireland" is not an AWS region name/);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['us-east-1', () => home],
    ['eu-west-1', () => away],
  ])('has no unacknowledged finding in any stack (home region %s)', (_region, synthesized) => {
    const s = synthesized();
    const report = JSON.parse(readFileSync(join(s.assembly.directory, 'validation-report.json'), 'utf8'));

    expect(report.pluginReports.flatMap((r: { violations: unknown[] }) => r.violations)).toEqual([]);
    expect(new AwsSolutionsChecks().validateScope(s.built.app).violations).toEqual([]);
  });

  it('acknowledges only the consumer role wildcards, each with its reason, and nothing in the forwarder', () => {
    const tableId = away.id(away.built.stack.reauth.table);
    const acknowledged = acknowledgedUnder(away, 'Reauth/Default/TrustEvents/');

    expect(acknowledged.map((a) => a.at).sort()).toEqual(
      [
        'Reauth/Default/TrustEvents/Consumer/Role AwsSolutions-IAM5[Resource::*]',
        `Reauth/Default/TrustEvents/Consumer/Role AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
        ...CHANGE_READ_SCOPES.map(
          (scope) => `Reauth/Default/TrustEvents/Consumer/Role AwsSolutions-IAM5[Resource::${scope}]`,
        ),
      ].sort(),
    );
    for (const { reason } of acknowledged) expect(reason.length).toBeGreaterThan(60);
    expect(acknowledgedUnder(away, 'ReauthIamEventForwarder')).toEqual([]);
  });
});
