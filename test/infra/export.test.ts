import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnElement, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/reauth-app';

// A policy with its own compliance settings, so the template is seen to follow them.
const RETENTION_DAYS = 400;
const outdir = mkdtempSync(join(tmpdir(), 'reauth-export-'));
let built: ReturnType<typeof buildApp>;
let template: Template;
let validationReport: { pluginReports: { violations: unknown[] }[] };
let ids: {
  table: string;
  bucket: string;
  logs: string;
  key: string;
  checkpointKey: string;
  fn: string;
  role: string;
  logGroup: string;
};

beforeAll(() => {
  const configPath = join(outdir, 'policy.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      mode: 'report',
      compliance: { exportRetentionDays: RETENTION_DAYS, fullExportEveryDays: 3 },
    }),
  );
  built = buildApp({ bundling: false, configPath, outdir: join(outdir, 'cdk.out') });
  const assembly = built.app.synth(); // throws if cdk-nag has an unacknowledged finding
  template = Template.fromJSON(assembly.getStackArtifact(built.stack.artifactId).template);
  validationReport = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
  const { stack } = built;
  const id = (c: IConstruct) => stack.getLogicalId((c.node.defaultChild ?? c) as CfnElement);
  const fn = id(stack.reauth.exportJob.function.function);
  ids = {
    table: id(stack.reauth.table),
    bucket: id(stack.reauth.evidence.bucket),
    logs: id(stack.reauth.evidence.accessLogs),
    key: id(stack.reauth.evidence.key),
    checkpointKey: id(stack.reauth.checkpointKey.key),
    fn,
    role: id(stack.reauth.exportJob.function.role),
    logGroup: id(stack.reauth.exportJob.function.logGroup),
  };
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const arn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const under = (logicalId: string, suffix: string) => ({ 'Fn::Join': ['', [arn(logicalId), suffix]] });

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

function exportRoleStatements(): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: ids.role }] } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

describe('evidence bucket', () => {
  it("is versioned and locked in governance mode for the policy's exportRetentionDays", () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: RETENTION_DAYS } },
      },
    });
    expect(template.toJSON().Resources[ids.bucket].Properties.ObjectLockConfiguration.Rule).toEqual({
      DefaultRetention: { Mode: 'GOVERNANCE', Days: RETENTION_DAYS },
    });
  });

  it('is encrypted with its own rotating KMS key, blocks all public access and is retained', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arn(ids.key) },
            },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        ObjectLockEnabled: true,
      }),
    });
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        EnableKeyRotation: true,
        Description: Match.stringLikeRegexp('export'),
      }),
    });
  });

  it('denies every request that is not over TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('moves exports to Glacier Instant Retrieval after 90 days and expires replaced versions after the retention and a month', () => {
    expect(template.toJSON().Resources[ids.bucket].Properties.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Status: 'Enabled',
          Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }],
          NoncurrentVersionExpiration: { NoncurrentDays: RETENTION_DAYS + 30 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        },
      ],
    });
  });

  it('logs every access to a second, private, SSL-only, retained bucket that S3 logging alone may write to', () => {
    expect(template.toJSON().Resources[ids.bucket].Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: ids.logs },
      LogFilePrefix: 'evidence/',
    });
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        PublicAccessBlockConfiguration: Match.objectLike({
          BlockPublicAcls: true,
          RestrictPublicBuckets: true,
        }),
        LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: RETENTION_DAYS + 30 })] },
      }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.logs },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:PutObject',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Condition: { ArnLike: { 'aws:SourceArn': arn(ids.bucket) }, StringEquals: Match.anyValue() },
          }),
        ]),
      },
    });
  });

  it('outputs its name', () => {
    template.hasOutput('EvidenceBucketName', { Value: { Ref: ids.bucket } });
  });
});

describe('export job', () => {
  it('runs daily at 03:00 UTC with its scheduled time (one export per run), retrying, then dead-lettering', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      Description: Match.stringLikeRegexp('[Ee]xports'),
      Target: Match.objectLike({
        Arn: arn(ids.fn),
        Input: '{"scheduledTime":"<aws.scheduler.scheduled-time>"}',
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 21600 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      }),
    });
  });

  it('gets the table, the bucket, the prefix, the keys, the policy and its metrics namespace in its environment', () => {
    expect(template.toJSON().Resources[ids.fn].Properties.Environment.Variables).toEqual({
      TABLE_NAME: { Ref: ids.table },
      TABLE_ARN: arn(ids.table),
      POLICY_FILE: 'policy.json',
      EXPORT_BUCKET: { Ref: ids.bucket },
      EXPORT_PREFIX: 'exports',
      EXPORT_KMS_KEY_ARN: arn(ids.key),
      CHECKPOINT_KEY_ID: arn(ids.checkpointKey),
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_METRICS_NAMESPACE: 'reauth',
    });
  });

  it('may export only the decision table, only into the export prefix of the evidence bucket, with its key', () => {
    const statements = exportRoleStatements();
    const on = (action: string) =>
      statements
        .filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes(action))
        .map((s) => s.Resource);

    expect(on('dynamodb:ExportTableToPointInTime')).toEqual([arn(ids.table)]);
    expect(on('dynamodb:DescribeExport')).toEqual([under(ids.table, '/export/*')]);
    for (const action of ['s3:PutObject', 's3:AbortMultipartUpload', 's3:PutObjectAcl'])
      expect(on(action), action).toEqual([under(ids.bucket, '/exports/*')]);
    for (const action of ['kms:GenerateDataKey', 'kms:Encrypt'])
      expect(on(action), action).toEqual([arn(ids.key)]);
    // The checkpoint key's public half, written beside each export; never a signature.
    expect(on('kms:GetPublicKey')).toEqual([arn(ids.checkpointKey)]);
    expect(on('kms:Sign')).toEqual([]);
  });

  it('cannot delete anything, read the evidence back or reach any other resource', () => {
    const statements = exportRoleStatements();
    const actions = statements.flatMap((s) => [s.Action].flat());
    const resources = statements.flatMap((s) => [s.Resource].flat());

    for (const forbidden of [
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      's3:DeleteObject',
      's3:GetObject',
      'kms:Decrypt',
      'dynamodb:Scan',
    ])
      expect(actions).not.toContain(forbidden);
    expect(actions.some((a) => a.endsWith('*'))).toBe(false);
    expect(resources).not.toContain('*');
    const allowed = [
      arn(ids.table),
      under(ids.table, '/export/*'),
      under(ids.bucket, '/exports/*'),
      arn(ids.key),
      arn(ids.checkpointKey),
      arn(ids.logGroup),
    ];
    for (const resource of resources) expect(allowed).toContainEqual(resource);
  });

  it('alarms on errors and on dead letters, to the alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('^The reauth export failed'),
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.fn } }],
      AlarmActions: [
        { Ref: built.stack.getLogicalId(built.stack.reauth.alarmTopic.node.defaultChild as CfnElement) },
      ],
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('has no unacknowledged finding', () => {
    expect(validationReport.pluginReports.flatMap((r) => r.violations)).toEqual([]);
  });

  it('acknowledges for the export only the access-log bucket and its scoped wildcards, each with a reason', () => {
    const acknowledged = built.app.node
      .findAll()
      .filter((c) => /^Reauth\/Default\/(Evidence|ExportJob)\//.test(c.node.path))
      .flatMap((c) =>
        c.node.metadata
          .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((m) =>
            Object.entries(m.data as Record<string, string>).map(([rule, reason]) => ({
              at: `${c.node.path} ${rule.replace(/^annotation::/i, '')}`,
              reason,
            })),
          ),
      );

    expect(acknowledged.map((a) => a.at).sort()).toEqual(
      [
        'Reauth/Default/Evidence/AccessLogs AwsSolutions-S1',
        `Reauth/Default/ExportJob/Export/Role AwsSolutions-IAM5[Resource::<${ids.table}.Arn>/export/*]`,
        `Reauth/Default/ExportJob/Export/Role AwsSolutions-IAM5[Resource::<${ids.bucket}.Arn>/exports/*]`,
        'Reauth/Default/ExportJob/ScheduleDeadLetters AwsSolutions-SQS3',
        `Reauth/Default/ExportJob/SchedulerRole AwsSolutions-IAM5[Resource::<${ids.fn}.Arn>:*]`,
      ].sort(),
    );
    for (const { reason } of acknowledged) expect(reason.length).toBeGreaterThan(60);
  });
});
