import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GenerateServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsCommand,
  type GetServiceLastAccessedDetailsCommandOutput,
  IAMClient,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator';
import { FORTY_SERVICES } from '../support/forty-services';

/**
 * The emulator's service last-accessed data (scripts/emulator/server.py, 19): a job per principal that
 * is IN_PROGRESS on its first read and COMPLETED after (or FAILED when seeded to fail), listing every
 * service the principal's policies grant, used or not, from the calls the emulator saw it make.
 */

const { emulator, clients } = useEmulator();
const ACCOUNT = '123456789012';
const DAY = 86_400_000;

async function completed(
  iam: IAMClient,
  arn: string,
  granularity: 'SERVICE_LEVEL' | 'ACTION_LEVEL',
): Promise<{ first: string | undefined; done: GetServiceLastAccessedDetailsCommandOutput }> {
  const { JobId } = await iam.send(
    new GenerateServiceLastAccessedDetailsCommand({ Arn: arn, Granularity: granularity }),
  );
  const first = (await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId }))).JobStatus;
  const done = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId, MaxItems: 1000 }));
  return { first, done };
}

describe('service last-accessed data in the emulator', () => {
  const usedAt = new Date(Date.now() - 10 * DAY);

  it("lists a role's 40 granted services and the 3 its sessions called, dated at the emulator's clock", async () => {
    const { Role } = await clients.iam.send(
      new CreateRoleCommand({
        RoleName: 'broad-worker',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    await clients.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'broad-worker',
        PolicyName: 'everything-it-might-need',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: FORTY_SERVICES.map((s) => `${s}:*`), Resource: '*' }],
        }),
      }),
    );
    await emulator.freeze(usedAt);
    const { Credentials } = await clients.sts.send(
      new AssumeRoleCommand({ RoleArn: Role?.Arn, RoleSessionName: 'work' }),
    );
    const credentials = {
      accessKeyId: Credentials?.AccessKeyId ?? '',
      secretAccessKey: Credentials?.SecretAccessKey ?? '',
      sessionToken: Credentials?.SessionToken ?? '',
    };
    await new S3Client({ credentials, forcePathStyle: true }).send(new ListBucketsCommand({}));
    await new SQSClient({ credentials }).send(new ListQueuesCommand({}));
    await new KMSClient({ credentials }).send(new ListKeysCommand({}));
    await emulator.unfreeze();

    const { first, done } = await completed(clients.iam, Role?.Arn ?? '', 'ACTION_LEVEL');
    expect(first).toBe('IN_PROGRESS');
    expect(done.JobStatus).toBe('COMPLETED');
    expect(done.JobType).toBe('ACTION_LEVEL');
    const services = done.ServicesLastAccessed ?? [];
    expect(services.map((s) => s.ServiceNamespace).sort()).toEqual([...FORTY_SERVICES].sort());
    const used = services.filter((s) => s.LastAuthenticated);
    expect(used.map((s) => s.ServiceNamespace).sort()).toEqual(['kms', 's3', 'sqs']);
    for (const service of used) {
      expect(service.LastAuthenticated?.toISOString().slice(0, 10)).toBe(usedAt.toISOString().slice(0, 10));
      expect(service.TotalAuthenticatedEntities).toBe(1);
      expect(service.LastAuthenticatedEntity).toBe(Role?.Arn);
    }
    expect(services.find((s) => s.ServiceNamespace === 'sns')?.TotalAuthenticatedEntities).toBe(0);
    // S3's actions are tracked; SQS's are not (IAM's action-level data covers a few services).
    expect(
      services.find((s) => s.ServiceNamespace === 's3')?.TrackedActionsLastAccessed?.map((a) => a.ActionName),
    ).toEqual(['ListBucket']);
    expect(services.find((s) => s.ServiceNamespace === 'sqs')?.TrackedActionsLastAccessed).toBeUndefined();

    // Paged as IAM pages: MaxItems and Marker.
    const { JobId } = await clients.iam.send(
      new GenerateServiceLastAccessedDetailsCommand({ Arn: Role?.Arn }),
    );
    await clients.iam.send(new GetServiceLastAccessedDetailsCommand({ JobId }));
    const page = await clients.iam.send(new GetServiceLastAccessedDetailsCommand({ JobId, MaxItems: 25 }));
    expect(page.ServicesLastAccessed).toHaveLength(25);
    expect(page.IsTruncated).toBe(true);
    const rest = await clients.iam.send(
      new GetServiceLastAccessedDetailsCommand({ JobId, MaxItems: 25, Marker: page.Marker }),
    );
    expect(rest.ServicesLastAccessed).toHaveLength(15);
    expect(rest.IsTruncated).toBe(false);
  });

  it("grants a user every service through its group's `*`, and counts its key's calls and seeded uses", async () => {
    const { User } = await clients.iam.send(new CreateUserCommand({ UserName: 'admin-bot' }));
    await clients.iam.send(new CreateGroupCommand({ GroupName: 'admins' }));
    await clients.iam.send(new AddUserToGroupCommand({ GroupName: 'admins', UserName: 'admin-bot' }));
    await clients.iam.send(
      new PutGroupPolicyCommand({
        GroupName: 'admins',
        PolicyName: 'all',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      }),
    );
    const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: 'admin-bot' }));
    const credentials = {
      accessKeyId: AccessKey?.AccessKeyId ?? '',
      secretAccessKey: AccessKey?.SecretAccessKey ?? '',
    };
    await new IAMClient({ credentials, region: 'us-east-1' }).send(
      new GenerateServiceLastAccessedDetailsCommand({ Arn: User?.Arn }),
    );
    await emulator.seedServiceUsage({
      arn: User?.Arn ?? '',
      service: 's3',
      actions: ['GetObject', 'PutObject'],
    });

    const { done } = await completed(clients.iam, User?.Arn ?? '', 'ACTION_LEVEL');
    const services = done.ServicesLastAccessed ?? [];
    expect(services.length).toBeGreaterThan(300);
    expect(
      services
        .filter((s) => s.LastAuthenticated)
        .map((s) => s.ServiceNamespace)
        .sort(),
    ).toEqual(['iam', 's3']);
    const iam = services.find((s) => s.ServiceNamespace === 'iam');
    expect(iam?.TrackedActionsLastAccessed?.map((a) => a.ActionName)).toEqual([
      'GenerateServiceLastAccessedDetails',
    ]);
    const s3 = services.find((s) => s.ServiceNamespace === 's3');
    expect(s3?.TrackedActionsLastAccessed?.map((a) => a.ActionName)).toEqual(['GetObject', 'PutObject']);
  });

  it('fails the jobs of a principal seeded to fail, after IN_PROGRESS, with an error', async () => {
    const arn = `arn:aws:iam::${ACCOUNT}:role/broad-worker`;
    await emulator.seedServiceUsage({ arn, failJobs: true });
    const { first, done } = await completed(clients.iam, arn, 'SERVICE_LEVEL');
    expect(first).toBe('IN_PROGRESS');
    expect(done.JobStatus).toBe('FAILED');
    expect(done.Error?.Code).toBeTruthy();
    await emulator.seedServiceUsage({ arn, failJobs: false });
    expect((await completed(clients.iam, arn, 'SERVICE_LEVEL')).done.JobStatus).toBe('COMPLETED');
  });

  it('refuses a job for a principal that does not exist, as IAM does', async () => {
    await expect(
      clients.iam.send(
        new GenerateServiceLastAccessedDetailsCommand({ Arn: `arn:aws:iam::${ACCOUNT}:role/nobody` }),
      ),
    ).rejects.toThrow(/not found|NoSuchEntity/i);
  });
});
