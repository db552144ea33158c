import { LookupEventsCommand, type LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail';
import {
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateRoleCommand,
  CreateUserCommand,
} from '@aws-sdk/client-iam';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AssumedCredentials,
  createCloudTrailClient,
  createIamClient,
  createSecretsManagerClient,
} from '../../lambdas/shared/adapters/aws-clients';
import { useEmulator } from '../support/emulator';

/**
 * The emulator's CloudTrail event history (scripts/emulator/server.py, 15): moto has no LookupEvents.
 * Calls made through the SDK, as a root, an IAM user, an Identity Center session and a session with a
 * source identity, read back as CloudTrail records them.
 */

const { emulator, clients } = useEmulator();
const ACCOUNT = '123456789012';
const cloudTrail = createCloudTrailClient('us-east-1');
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
  ],
});
const SSO_ROLE = 'AWSReservedSSO_AdministratorAccess_0123456789abcdef';
let bobKey: string;

type Record = {
  eventName: string;
  eventTime: string;
  errorCode?: string;
  userIdentity: {
    type: string;
    arn: string;
    userName?: string;
    sessionContext?: { sessionIssuer?: { userName?: string }; sourceIdentity?: string };
  };
  requestParameters: { [name: string]: unknown } | null;
  responseElements: { [name: string]: { [field: string]: unknown } } | null;
};

async function lookup(input: LookupEventsCommandInput, client = cloudTrail): Promise<Record[]> {
  const records: Record[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new LookupEventsCommand({ ...input, NextToken }));
    for (const event of page.Events ?? []) records.push(JSON.parse(event.CloudTrailEvent ?? '{}'));
    NextToken = page.NextToken;
  } while (NextToken);
  return records;
}
const byName = (name: string) =>
  lookup({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: name }] });

async function assume(role: string, session: string, sourceIdentity?: string): Promise<AssumedCredentials> {
  const { Credentials } = await clients.sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/${role}`,
      RoleSessionName: session,
      ...(sourceIdentity && { SourceIdentity: sourceIdentity }),
    }),
  );
  return {
    accessKeyId: Credentials?.AccessKeyId as string,
    secretAccessKey: Credentials?.SecretAccessKey as string,
    sessionToken: Credentials?.SessionToken as string,
  };
}

beforeAll(async () => {
  // 100 days ago, beyond the history's 90: never read back.
  await emulator.freeze(new Date(Date.now() - 100 * 86_400_000));
  await clients.iam.send(new CreateUserCommand({ UserName: 'forgotten' }));
  await emulator.unfreeze();

  await clients.iam.send(new CreateUserCommand({ UserName: 'bob@example.com' }));
  const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: 'bob@example.com' }));
  bobKey = AccessKey?.AccessKeyId as string;
  await clients.iam.send(
    new CreateRoleCommand({
      RoleName: SSO_ROLE,
      Path: '/aws-reserved/sso.amazonaws.com/',
      AssumeRolePolicyDocument: TRUST,
    }),
  );
  await clients.iam.send(new CreateRoleCommand({ RoleName: 'deployer', AssumeRolePolicyDocument: TRUST }));
  const alice = await assume(SSO_ROLE, 'alice@example.com');
  await createIamClient(alice).send(
    new CreateRoleCommand({ RoleName: 'payments-app', AssumeRolePolicyDocument: TRUST }),
  );
  await createIamClient(alice).send(new CreateUserCommand({ UserName: 'payments-ci' }));
  await createIamClient(alice).send(
    new CreateLoginProfileCommand({ UserName: 'payments-ci', Password: 'Not-logged-1!' }),
  );
  const carol = await assume('deployer', 'pipeline-run-7', 'carol@example.com');
  await createSecretsManagerClient(carol).send(
    new CreateSecretCommand({ Name: 'payments/db', SecretString: 'hunter2-never-logged' }),
  );
  const bob = { accessKeyId: bobKey, secretAccessKey: AccessKey?.SecretAccessKey as string };
  await createIamClient(bob as AssumedCredentials).send(new CreateAccessKeyCommand({}));
  await expect(clients.iam.send(new CreateUserCommand({ UserName: 'payments-ci' }))).rejects.toThrow();
});

afterAll(() => emulator.unfreeze());

describe("the emulator's CloudTrail event history", () => {
  it('records who created a role: an Identity Center session, with its issuer', async () => {
    const roles = await byName('CreateRole');
    const appRole = roles.find((r) => r.requestParameters?.roleName === 'payments-app');
    expect(appRole?.userIdentity).toMatchObject({
      type: 'AssumedRole',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${SSO_ROLE}/alice@example.com`,
      sessionContext: { sessionIssuer: { userName: SSO_ROLE } },
    });
    // The two roles made with the emulator's own credentials are the account's root's.
    expect(
      roles
        .filter((r) => r.userIdentity.type === 'Root')
        .map((r) => r.requestParameters?.roleName)
        .sort(),
    ).toEqual(['deployer', SSO_ROLE].sort());
  });

  it("records a new key's id in the response, never its secret; a user's own key names no user", async () => {
    const keys = await byName('CreateAccessKey');
    expect(keys).toHaveLength(2);
    const own = keys.find((r) => r.userIdentity.type === 'IAMUser');
    expect(own?.userIdentity).toMatchObject({
      userName: 'bob@example.com',
      arn: `arn:aws:iam::${ACCOUNT}:user/bob@example.com`,
    });
    expect(own?.requestParameters).toBeNull();
    expect(own?.responseElements?.accessKey).toMatchObject({ userName: 'bob@example.com', status: 'Active' });
    const forBob = keys.find((r) => r.userIdentity.type === 'Root');
    expect(forBob?.responseElements?.accessKey?.accessKeyId).toBe(bobKey);
    expect(JSON.stringify(keys)).not.toMatch(/secretAccessKey/i);
  });

  it('records the source identity of a session, and no secret value or password', async () => {
    const secrets = await lookup(
      { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateSecret' }] },
      createCloudTrailClient(),
    );
    expect(secrets).toHaveLength(1);
    expect(secrets[0]?.requestParameters).toMatchObject({ name: 'payments/db' });
    expect(secrets[0]?.requestParameters).not.toHaveProperty('secretString');
    expect(secrets[0]?.userIdentity.sessionContext?.sourceIdentity).toBe('carol@example.com');
    const profiles = await byName('CreateLoginProfile');
    expect(profiles[0]?.requestParameters).toEqual({ userName: 'payments-ci' });
    expect(JSON.stringify([...secrets, ...profiles])).not.toMatch(/hunter2|Not-logged/);
  });

  it('records a failed call with its error, and keeps 90 days', async () => {
    const users = await byName('CreateUser');
    const names = users.map((r) => `${r.requestParameters?.userName}${r.errorCode ? ` ${r.errorCode}` : ''}`);
    expect(names.sort()).toEqual(
      ['bob@example.com', 'payments-ci', 'payments-ci EntityAlreadyExists'].sort(),
    );
  });

  it('answers newest first, by StartTime and EndTime, a page at a time', async () => {
    const all = await lookup({ MaxResults: 1 });
    expect(all.map((r) => r.eventTime)).toEqual([...all.map((r) => r.eventTime)].sort().reverse());
    expect(all).toHaveLength(10);
    expect(await lookup({ EndTime: new Date(Date.now() - 86_400_000) })).toEqual([]);
    await expect(lookup({ StartTime: new Date(Date.now() + 3_600_000) })).rejects.toThrow(
      /Start time must be before end time/,
    );
  });

  it('refuses two lookup attributes, as CloudTrail does', async () => {
    await expect(
      lookup({
        LookupAttributes: [
          { AttributeKey: 'EventName', AttributeValue: 'CreateUser' },
          { AttributeKey: 'Username', AttributeValue: 'bob@example.com' },
        ],
      }),
    ).rejects.toThrow(/more than one lookup attribute/);
  });
});
