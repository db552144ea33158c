import { inspect } from 'node:util';
import {
  AttachRolePolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteRoleCommand,
  GetAccessKeyLastUsedCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListRolePoliciesCommand,
  ListUsersCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  type CreateSecretCommandInput,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
  PutResourcePolicyCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import { EnforcementError, type EnforcementTarget } from '../../lambdas/shared/adapters/enforcement';
import { ROTATABLE_TAG } from '../../lambdas/shared/domain/reauth-marks';
import { useEmulator } from '../support/emulator';
import { testEnforcer } from '../support/enforcer';

const { emulator, clients } = useEmulator();
const enforcer = testEnforcer(clients);
const ACCOUNT = '123456789012';
const NOW = new Date('2026-11-23T09:00:00.000Z');

const TRUST_ANOTHER_ACCOUNT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::210987654321:root' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': 'connector-42' } },
    },
  ],
});

afterEach(() => emulator.unfreeze());

/** `rotatable`: tagged as a platform team marks the users whose keys reauth may rotate. */
async function createUserWithKey(
  userName: string,
  { rotatable = false } = {},
): Promise<{ keyId: string; secretAccessKey: string }> {
  await clients.iam.send(
    new CreateUserCommand({
      UserName: userName,
      ...(rotatable && { Tags: [{ Key: ROTATABLE_TAG.key, Value: ROTATABLE_TAG.value }] }),
    }),
  );
  const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  if (!AccessKey?.AccessKeyId || !AccessKey.SecretAccessKey) throw new Error('no access key');
  return { keyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey };
}

async function keyStatuses(userName: string): Promise<Record<string, string | undefined>> {
  const { AccessKeyMetadata } = await clients.iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return Object.fromEntries((AccessKeyMetadata ?? []).map((key) => [key.AccessKeyId, key.Status]));
}

async function createSecret(name: string, resourcePolicy?: string): Promise<string> {
  const { ARN } = await clients.secretsManager.send(
    new CreateSecretCommand({ Name: name, SecretString: '{"password":"hunter2"}' }),
  );
  if (!ARN) throw new Error('no secret ARN');
  if (resourcePolicy) {
    await clients.secretsManager.send(
      new PutResourcePolicyCommand({ SecretId: ARN, ResourcePolicy: resourcePolicy }),
    );
  }
  return ARN;
}

async function resourcePolicyOf(secretArn: string): Promise<string | undefined> {
  const { ResourcePolicy } = await clients.secretsManager.send(
    new GetResourcePolicyCommand({ SecretId: secretArn }),
  );
  return ResourcePolicy;
}

async function createRole(roleName: string): Promise<void> {
  await clients.iam.send(
    new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: TRUST_ANOTHER_ACCOUNT }),
  );
}

/** The managed policies attached to a user or role (their ARNs). */
async function attachedTo(kind: 'user' | 'role', name: string): Promise<string[]> {
  const { AttachedPolicies } =
    kind === 'role'
      ? await clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }))
      : await clients.iam.send(new ListAttachedUserPoliciesCommand({ UserName: name }));
  return (AttachedPolicies ?? []).map((p) => p.PolicyArn as string);
}

async function boundaryOf(roleName: string): Promise<string | undefined> {
  const { Role } = await clients.iam.send(new GetRoleCommand({ RoleName: roleName }));
  return Role?.PermissionsBoundary?.PermissionsBoundaryArn;
}

async function inlinePoliciesOf(roleName: string): Promise<string[]> {
  const { PolicyNames } = await clients.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }));
  return PolicyNames ?? [];
}

/** An IAM client signing with the given key, pointed at the emulator like every other client. */
function iamSignedWith(accessKeyId: string, secretAccessKey: string): IAMClient {
  return new IAMClient({ region: 'us-east-1', credentials: { accessKeyId, secretAccessKey } });
}

const ORIGINAL_SECRET_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'AppReads',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/app` },
      Action: 'secretsmanager:GetSecretValue',
      Resource: '*',
    },
  ],
});

const REAUTH_DENY = {
  Sid: 'ReauthDisabled',
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: ['secretsmanager:GetSecretValue'],
  Resource: '*',
};

describe('disabling and restoring an access key', () => {
  it('makes the key Inactive, and restore makes it Active again', async () => {
    const { keyId } = await createUserWithKey('svc-disable');
    const target: EnforcementTarget = { kind: 'access-key', id: keyId, principal: 'svc-disable' };

    const receipt = await enforcer.disable(target);

    expect(receipt).toEqual({ kind: 'access-key', keyId });
    expect(await keyStatuses('svc-disable')).toEqual({ [keyId]: 'Inactive' });

    await enforcer.restore(target);

    expect(await keyStatuses('svc-disable')).toEqual({ [keyId]: 'Active' });
  });

  it('gives the same receipt and state when run twice', async () => {
    const { keyId } = await createUserWithKey('svc-disable-twice');
    const target: EnforcementTarget = { kind: 'access-key', id: keyId, principal: 'svc-disable-twice' };

    const first = await enforcer.disable(target);
    const second = await enforcer.disable(target);
    await enforcer.restore(target);
    await enforcer.restore(target);

    expect(second).toEqual(first);
    expect(await keyStatuses('svc-disable-twice')).toEqual({ [keyId]: 'Active' });
  });

  it('fails with an EnforcementError naming the key when the key is gone', async () => {
    await clients.iam.send(new CreateUserCommand({ UserName: 'svc-no-key' }));

    const disabling = enforcer.disable({
      kind: 'access-key',
      id: 'AKIAGONE0000000000',
      principal: 'svc-no-key',
    });

    await expect(disabling).rejects.toThrow(EnforcementError);
    await expect(disabling).rejects.toThrow(/AKIAGONE0000000000/);
  });
});

describe('disabling and restoring a secret', () => {
  it('adds a deny on reads to the existing policy, and restore puts the original policy back', async () => {
    const arn = await createSecret('app/db', ORIGINAL_SECRET_POLICY);
    const target: EnforcementTarget = { kind: 'secret', id: arn, principal: 'app/db' };

    const receipt = await enforcer.disable(target);

    expect(receipt).toEqual({ kind: 'secret', previousPolicy: ORIGINAL_SECRET_POLICY });
    const disabled = JSON.parse((await resourcePolicyOf(arn)) ?? '{}');
    expect(disabled.Statement).toEqual([...JSON.parse(ORIGINAL_SECRET_POLICY).Statement, REAUTH_DENY]);

    await enforcer.restore(target);

    expect(JSON.parse((await resourcePolicyOf(arn)) ?? 'null')).toEqual(JSON.parse(ORIGINAL_SECRET_POLICY));
  });

  it('adds a policy of only the deny to a secret without one, and restore deletes it', async () => {
    const arn = await createSecret('app/no-policy');
    const target: EnforcementTarget = { kind: 'secret', id: arn, principal: 'app/no-policy' };

    const receipt = await enforcer.disable(target);

    expect(receipt).toEqual({ kind: 'secret', previousPolicy: null });
    expect(JSON.parse((await resourcePolicyOf(arn)) ?? '{}')).toEqual({
      Version: '2012-10-17',
      Statement: [REAUTH_DENY],
    });

    await enforcer.restore(target);

    expect(await resourcePolicyOf(arn)).toBeUndefined();
  });

  it('adds the deny once when disabled twice, and restore with the second receipt still restores the original', async () => {
    const arn = await createSecret('app/retried', ORIGINAL_SECRET_POLICY);
    const target: EnforcementTarget = { kind: 'secret', id: arn, principal: 'app/retried' };

    await enforcer.disable(target);
    const retried = await enforcer.disable(target);

    const disabled = JSON.parse((await resourcePolicyOf(arn)) ?? '{}');
    expect(disabled.Statement.filter((s: { Sid?: string }) => s.Sid === 'ReauthDisabled')).toHaveLength(1);
    expect(retried.kind === 'secret' && JSON.parse(retried.previousPolicy ?? 'null')).toEqual(
      JSON.parse(ORIGINAL_SECRET_POLICY),
    );

    await enforcer.restore(target);

    expect(JSON.parse((await resourcePolicyOf(arn)) ?? 'null')).toEqual(JSON.parse(ORIGINAL_SECRET_POLICY));
  });

  it("restore takes out only reauth's own deny: a grant added meanwhile and a look-alike statement stay", async () => {
    const arn = await createSecret('app/changed-meanwhile', ORIGINAL_SECRET_POLICY);
    const target: EnforcementTarget = { kind: 'secret', id: arn, principal: 'app/changed-meanwhile' };
    await enforcer.disable(target);
    const lookAlike = { ...REAUTH_DENY, Action: ['secretsmanager:DescribeSecret'] };
    const disabled = JSON.parse((await resourcePolicyOf(arn)) ?? '{}');
    const changed = { ...disabled, Statement: [...disabled.Statement, lookAlike] };
    await clients.secretsManager.send(
      new PutResourcePolicyCommand({ SecretId: arn, ResourcePolicy: JSON.stringify(changed) }),
    );

    await enforcer.restore(target);

    expect(JSON.parse((await resourcePolicyOf(arn)) ?? '{}').Statement).toEqual([
      ...JSON.parse(ORIGINAL_SECRET_POLICY).Statement,
      lookAlike,
    ]);
    expect(await enforcer.recheck(target)).toMatchObject({ exists: true, disabled: false });
  });

  it('restores "no policy" after two disables of a secret that had none', async () => {
    const arn = await createSecret('app/retried-no-policy');
    const target: EnforcementTarget = { kind: 'secret', id: arn, principal: 'app/retried-no-policy' };

    await enforcer.disable(target);
    const retried = await enforcer.disable(target);
    await enforcer.restore(target);
    await enforcer.restore(target);

    expect(retried).toEqual({ kind: 'secret', previousPolicy: null });
    expect(await resourcePolicyOf(arn)).toBeUndefined();
  });
});

describe('disabling and restoring a role', () => {
  const DISABLED = `arn:aws:iam::${ACCOUNT}:policy/reauth/reauth-disabled`;

  it("attaches the stack's reauth-disabled and leaves the trust policy alone; restore detaches it", async () => {
    await createRole('connector');
    const target: EnforcementTarget = { kind: 'role', id: 'connector', principal: 'connector' };

    const receipt = await enforcer.disable(target);
    await enforcer.disable(target);

    expect(receipt).toEqual({ kind: 'role', policyArn: DISABLED });
    expect(await attachedTo('role', 'connector')).toEqual([DISABLED]);
    expect(await inlinePoliciesOf('connector')).toEqual([]);
    const { Role } = await clients.iam.send(new GetRoleCommand({ RoleName: 'connector' }));
    expect(JSON.parse(decodeURIComponent(Role?.AssumeRolePolicyDocument ?? '{}'))).toEqual(
      JSON.parse(TRUST_ANOTHER_ACCOUNT),
    );
    expect(await enforcer.recheck(target)).toMatchObject({ exists: true, disabled: true });

    await enforcer.restore(target);
    await enforcer.restore(target);

    expect(await attachedTo('role', 'connector')).toEqual([]);
    expect(await enforcer.recheck(target)).toMatchObject({ exists: true, disabled: false });
  });

  it("at IAM's quota of attached policies makes reauth-disabled the role's boundary, and restore removes only that", async () => {
    await createRole('connector-full');
    for (let n = 0; n < 10; n++) {
      const { Policy } = await clients.iam.send(
        new CreatePolicyCommand({ PolicyName: `team-${n}`, PolicyDocument: JSON.stringify(ALLOW_READS) }),
      );
      await clients.iam.send(
        new AttachRolePolicyCommand({ RoleName: 'connector-full', PolicyArn: Policy?.Arn }),
      );
    }
    const target: EnforcementTarget = { kind: 'role', id: 'connector-full', principal: 'connector-full' };

    const receipt = await enforcer.disable(target);

    expect(receipt).toEqual({ kind: 'role', policyArn: DISABLED, asBoundary: true });
    expect(await boundaryOf('connector-full')).toBe(DISABLED);
    expect(await enforcer.recheck(target)).toMatchObject({ disabled: true });

    await enforcer.restore(target);

    expect(await boundaryOf('connector-full')).toBeUndefined();
    expect(await attachedTo('role', 'connector-full')).toHaveLength(10);
  });

  it('at the quota with a boundary of its own, refuses and says why, changing nothing', async () => {
    await createRole('connector-bounded');
    const arns: string[] = [];
    for (let n = 0; n < 10; n++) {
      const { Policy } = await clients.iam.send(
        new CreatePolicyCommand({ PolicyName: `bounded-${n}`, PolicyDocument: JSON.stringify(ALLOW_READS) }),
      );
      arns.push(Policy?.Arn as string);
      await clients.iam.send(
        new AttachRolePolicyCommand({ RoleName: 'connector-bounded', PolicyArn: Policy?.Arn }),
      );
    }
    await clients.iam.send(
      new PutRolePermissionsBoundaryCommand({ RoleName: 'connector-bounded', PermissionsBoundary: arns[0] }),
    );
    const target: EnforcementTarget = {
      kind: 'role',
      id: 'connector-bounded',
      principal: 'connector-bounded',
    };

    await expect(enforcer.disable(target)).rejects.toThrow(
      'holds as many managed policies as IAM allows and a permissions boundary',
    );
    expect(await boundaryOf('connector-bounded')).toBe(arns[0]);
    expect(await enforcer.recheck(target)).toMatchObject({ disabled: false });
  });
});

const GUARDRAIL = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'TeamGuardrail', Effect: 'Deny', Action: 'iam:*', Resource: '*' }],
};
const ALLOW_READS = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'TeamReads', Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
};

describe("reauth touches a policy only when it is exactly reauth's", () => {
  const roleDocument = async (roleName: string, policyName: string) => {
    const { PolicyDocument } = await clients.iam.send(
      new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }),
    );
    return JSON.parse(decodeURIComponent(PolicyDocument ?? '{}'));
  };
  const userDocument = async (userName: string, policyName: string) => {
    const { PolicyDocument } = await clients.iam.send(
      new GetUserPolicyCommand({ UserName: userName, PolicyName: policyName }),
    );
    return JSON.parse(decodeURIComponent(PolicyDocument ?? '{}'));
  };

  it("a team's own reauth-disabled and reauth-revoke-sessions, Deny or Allow, survive disable, revocation and restore", async () => {
    for (const [roleName, theirs] of [
      ['team-guarded', GUARDRAIL],
      ['team-allowed', ALLOW_READS],
    ] as const) {
      await createRole(roleName);
      for (const PolicyName of ['reauth-disabled', 'reauth-revoke-sessions'])
        await clients.iam.send(
          new PutRolePolicyCommand({
            RoleName: roleName,
            PolicyName,
            PolicyDocument: JSON.stringify(theirs),
          }),
        );
      const target: EnforcementTarget = { kind: 'role', id: roleName, principal: roleName };

      // The repair path restores every credential not recorded as disabled.
      await enforcer.restore(target);
      expect(await enforcer.recheck(target)).toMatchObject({ exists: true, disabled: false });
      await enforcer.disable(target, { revokeSessionsBefore: NOW.toISOString() });
      expect(await enforcer.recheck(target)).toMatchObject({ disabled: true });
      await enforcer.restore(target);

      for (const name of ['reauth-disabled', 'reauth-revoke-sessions'])
        expect(await roleDocument(roleName, name)).toEqual(theirs);
      expect(await enforcer.recheck(target)).toEqual({ exists: true, disabled: false });
    }
  });

  it("a team's own policies on a key's user survive disable, revocation and restore", async () => {
    const { keyId } = await createUserWithKey('team-user');
    await clients.iam.send(
      new PutUserPolicyCommand({
        UserName: 'team-user',
        PolicyName: 'reauth-revoke-sessions',
        PolicyDocument: JSON.stringify(GUARDRAIL),
      }),
    );
    const target: EnforcementTarget = { kind: 'access-key', id: keyId, principal: 'team-user' };

    await enforcer.restore(target);
    await enforcer.disable(target, { revokeSessionsBefore: NOW.toISOString() });
    await enforcer.restore(target);

    expect(await userDocument('team-user', 'reauth-revoke-sessions')).toEqual(GUARDRAIL);
    expect(await attachedTo('user', 'team-user')).toEqual([]);
  });
});

describe('ending the sessions a credential handed out', () => {
  const BEFORE = NOW.toISOString();
  const sessionsPolicy = (issuedBefore: string) =>
    `arn:aws:iam::${ACCOUNT}:policy/reauth/sessions/reauth-sessions-before-${issuedBefore.replace(/[-:]/g, '')}`;
  const revocation = (issuedBefore: string) => ({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ReauthRevokeSessions',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': issuedBefore } },
      },
    ],
  });
  const documentOf = async (PolicyArn: string) => {
    const { Policy } = await clients.iam.send(new GetPolicyCommand({ PolicyArn }));
    const { PolicyVersion } = await clients.iam.send(
      new GetPolicyVersionCommand({ PolicyArn, VersionId: Policy?.DefaultVersionId }),
    );
    return JSON.parse(decodeURIComponent(PolicyVersion?.Document ?? ''));
  };

  it("attaches to the key's user a policy denying every session issued before the disable, and restore detaches it", async () => {
    const { keyId } = await createUserWithKey('svc-sessions');
    const target: EnforcementTarget = { kind: 'access-key', id: keyId, principal: 'svc-sessions' };

    const receipt = await enforcer.disable(target, { revokeSessionsBefore: BEFORE });

    const policyArn = sessionsPolicy(BEFORE);
    expect(receipt).toEqual({
      kind: 'access-key',
      keyId,
      revokedSessions: { policyArn, issuedBefore: BEFORE },
    });
    expect(await keyStatuses('svc-sessions')).toEqual({ [keyId]: 'Inactive' });
    expect(await attachedTo('user', 'svc-sessions')).toEqual([policyArn]);
    expect(await documentOf(policyArn)).toEqual(revocation(BEFORE));
    expect(await enforcer.recheck(target)).toMatchObject({ disabled: true, sessionsRevokedBefore: BEFORE });

    await enforcer.restore(target);

    expect(await keyStatuses('svc-sessions')).toEqual({ [keyId]: 'Active' });
    expect(await attachedTo('user', 'svc-sessions')).toEqual([]);
    expect(await enforcer.recheck(target)).toEqual({ exists: true, disabled: false });
  });

  it('ends a role its sessions issued before the disable, beside its deny; restore detaches both', async () => {
    await createRole('connector-sessions');
    const target: EnforcementTarget = {
      kind: 'role',
      id: 'connector-sessions',
      principal: 'connector-sessions',
    };

    const receipt = await enforcer.disable(target, { revokeSessionsBefore: BEFORE });

    const policyArn = sessionsPolicy(BEFORE);
    expect(receipt).toEqual({
      kind: 'role',
      policyArn: `arn:aws:iam::${ACCOUNT}:policy/reauth/reauth-disabled`,
      revokedSessions: { policyArn, issuedBefore: BEFORE },
    });
    expect((await attachedTo('role', 'connector-sessions')).sort()).toEqual([
      `arn:aws:iam::${ACCOUNT}:policy/reauth/reauth-disabled`,
      policyArn,
    ]);

    await enforcer.restore(target);

    expect(await attachedTo('role', 'connector-sessions')).toEqual([]);
  });

  it('revokes again from a later moment by attaching its policy in place of the earlier, leaving the key usable', async () => {
    const { keyId } = await createUserWithKey('svc-sessions-again');
    const target: EnforcementTarget = { kind: 'access-key', id: keyId, principal: 'svc-sessions-again' };
    const later = new Date(NOW.getTime() + 3_600_000).toISOString();

    await enforcer.revokeSessions(target, BEFORE);
    const second = await enforcer.revokeSessions(target, later);

    expect(second).toEqual({ policyArn: sessionsPolicy(later), issuedBefore: later });
    expect(await attachedTo('user', 'svc-sessions-again')).toEqual([sessionsPolicy(later)]);
    expect(await keyStatuses('svc-sessions-again')).toEqual({ [keyId]: 'Active' });
  });

  it('has nothing to revoke for a secret: its disable is the resource-policy deny alone', async () => {
    const arn = await createSecret('app/no-sessions');
    const target: EnforcementTarget = { kind: 'secret', id: arn, principal: 'app/no-sessions' };

    const receipt = await enforcer.disable(target, { revokeSessionsBefore: BEFORE });

    expect(receipt).toEqual({ kind: 'secret', previousPolicy: null });
    expect(await enforcer.revokeSessions(target, BEFORE)).toBeUndefined();
  });

  it("attaches nothing under a session policy's name that someone else made: the writer refuses it", async () => {
    const { keyId } = await createUserWithKey('svc-squatted');
    const squatted = new Date(NOW.getTime() + 7_200_000).toISOString();
    await clients.iam.send(
      new CreatePolicyCommand({
        PolicyName: `reauth-sessions-before-${squatted.replace(/[-:]/g, '')}`,
        Path: '/reauth/sessions/',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      }),
    );
    const target: EnforcementTarget = { kind: 'access-key', id: keyId, principal: 'svc-squatted' };

    await expect(enforcer.revokeSessions(target, squatted)).rejects.toThrow("is not reauth's revocation");
    expect(await attachedTo('user', 'svc-squatted')).toEqual([]);
  });
});

describe('rechecking a credential', () => {
  it("returns an access key's last use, recorded when a request is signed with it, and its status", async () => {
    const usedAt = new Date('2026-06-01T08:30:00.000Z');
    await emulator.freeze(usedAt);
    const { keyId, secretAccessKey } = await createUserWithKey('svc-recheck');
    await iamSignedWith(keyId, secretAccessKey).send(new ListUsersCommand({}));
    await emulator.unfreeze();
    const target: EnforcementTarget = { kind: 'access-key', id: keyId, principal: 'svc-recheck' };

    const result = await enforcer.recheck(target);

    expect(result).toEqual({ exists: true, lastUsedAt: usedAt, disabled: false });
    const { AccessKeyLastUsed } = await clients.iam.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: keyId }),
    );
    expect(AccessKeyLastUsed?.LastUsedDate).toEqual(usedAt);
  });

  it('returns no last use for a key never used, and Inactive once disabled', async () => {
    const { keyId } = await createUserWithKey('svc-never-used');
    const target: EnforcementTarget = { kind: 'access-key', id: keyId, principal: 'svc-never-used' };
    await enforcer.disable(target);

    const result = await enforcer.recheck(target);

    expect(result).toEqual({ exists: true, lastUsedAt: undefined, disabled: true });
  });

  it("returns a secret's last access, which Secrets Manager keeps to the day", async () => {
    const arn = await createSecret('app/read-me');
    await emulator.freeze(new Date('2026-06-02T15:09:26.000Z'));
    await clients.secretsManager.send(new GetSecretValueCommand({ SecretId: arn }));
    await emulator.unfreeze();

    const result = await enforcer.recheck({ kind: 'secret', id: arn, principal: 'app/read-me' });

    expect(result).toEqual({
      exists: true,
      lastUsedAt: new Date('2026-06-02T00:00:00.000Z'),
      disabled: false,
    });
  });

  it("returns a role's last use, recorded when its session's credentials are used", async () => {
    await clients.iam.send(
      new CreateRoleCommand({
        RoleName: 'assumed',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    const usedAt = new Date('2026-06-03T10:00:00.000Z');
    await emulator.freeze(usedAt);
    const { Credentials } = await clients.sts.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/assumed`, RoleSessionName: 'test' }),
    );
    await new STSClient({
      credentials: {
        accessKeyId: Credentials?.AccessKeyId ?? '',
        secretAccessKey: Credentials?.SecretAccessKey ?? '',
        sessionToken: Credentials?.SessionToken,
      },
    }).send(new GetCallerIdentityCommand({}));
    await emulator.unfreeze();

    const result = await enforcer.recheck({ kind: 'role', id: 'assumed', principal: 'assumed' });

    expect(result).toEqual({ exists: true, lastUsedAt: usedAt, disabled: false });
  });

  it('says a deleted key, secret or role no longer exists', async () => {
    const { keyId } = await createUserWithKey('svc-deleted-key');
    await clients.iam.send(new DeleteAccessKeyCommand({ UserName: 'svc-deleted-key', AccessKeyId: keyId }));
    const arn = await createSecret('app/deleted');
    await clients.secretsManager.send(
      new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }),
    );
    const scheduled = await createSecret('app/scheduled-for-deletion');
    await clients.secretsManager.send(
      new DeleteSecretCommand({ SecretId: scheduled, RecoveryWindowInDays: 7 }),
    );
    await createRole('deleted-role');
    await clients.iam.send(new DeleteRoleCommand({ RoleName: 'deleted-role' }));

    const results = await Promise.all([
      enforcer.recheck({ kind: 'access-key', id: keyId, principal: 'svc-deleted-key' }),
      enforcer.recheck({ kind: 'access-key', id: 'AKIANOUSER000000000', principal: 'no-such-user' }),
      enforcer.recheck({ kind: 'secret', id: arn, principal: 'app/deleted' }),
      enforcer.recheck({ kind: 'secret', id: scheduled, principal: 'app/scheduled-for-deletion' }),
      enforcer.recheck({ kind: 'role', id: 'deleted-role', principal: 'deleted-role' }),
    ]);

    expect(results).toEqual(Array(5).fill({ exists: false }));
  });
});

describe('rotating an access key', () => {
  it('creates a new key stored in a new secret, leaves the old key Active, and returns no secret value', async () => {
    const { keyId: oldKeyId } = await createUserWithKey('svc-rotate', { rotatable: true });
    const target: EnforcementTarget = { kind: 'access-key', id: oldKeyId, principal: 'svc-rotate' };

    const result = await enforcer.rotate(target, { owner: 'U042', now: NOW });

    if (result.kind !== 'access-key' || !result.rotated)
      throw new Error(`not rotated: ${JSON.stringify(result)}`);
    expect(result.replacedKeyId).toBe(oldKeyId);
    expect(JSON.stringify(result)).not.toContain('secretAccessKey');
    expect(await keyStatuses('svc-rotate')).toEqual({ [oldKeyId]: 'Active', [result.newKeyId]: 'Active' });
    const described = await clients.secretsManager.send(
      new DescribeSecretCommand({ SecretId: result.storedIn }),
    );
    expect(described.Name).toBe(`reauth/rotated/svc-rotate/${result.newKeyId}`);
    expect(described.Description).toContain(result.newKeyId);
    expect(described.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'reauth:owner', Value: 'U042' },
        { Key: 'reauth:replaces', Value: oldKeyId },
      ]),
    );
    const { SecretString } = await clients.secretsManager.send(
      new GetSecretValueCommand({ SecretId: result.storedIn }),
    );
    const stored = JSON.parse(SecretString ?? '{}');
    expect(Object.keys(stored).sort()).toEqual(['accessKeyId', 'secretAccessKey']);
    expect(stored.accessKeyId).toBe(result.newKeyId);
    // The stored pair works: a request signed with it is the user's.
    const { UserName } = await clients.iam.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: stored.accessKeyId }),
    );
    expect(UserName).toBe('svc-rotate');
    await iamSignedWith(stored.accessKeyId, stored.secretAccessKey).send(new ListUsersCommand({}));
    expect((await enforcer.recheck({ ...target, id: result.newKeyId })).lastUsedAt).toBeInstanceOf(Date);
  });

  it('returns the first rotation when retried, without creating a third key', async () => {
    const { keyId: oldKeyId } = await createUserWithKey('svc-rotate-retry', { rotatable: true });
    const target: EnforcementTarget = { kind: 'access-key', id: oldKeyId, principal: 'svc-rotate-retry' };

    const first = await enforcer.rotate(target, { owner: 'U042', now: NOW });
    const retried = await enforcer.rotate(target, { owner: 'U042', now: NOW });

    expect(retried).toEqual(first);
    expect(Object.keys(await keyStatuses('svc-rotate-retry'))).toHaveLength(2);
  });

  it('deactivates the replaced key after the grace period, and again without error', async () => {
    const { keyId: oldKeyId } = await createUserWithKey('svc-grace', { rotatable: true });
    const result = await enforcer.rotate(
      { kind: 'access-key', id: oldKeyId, principal: 'svc-grace' },
      { owner: 'U042', now: NOW },
    );
    if (result.kind !== 'access-key' || !result.rotated)
      throw new Error(`not rotated: ${JSON.stringify(result)}`);

    await enforcer.deactivateReplacedKey('svc-grace', oldKeyId);
    await enforcer.deactivateReplacedKey('svc-grace', oldKeyId);

    expect(await keyStatuses('svc-grace')).toEqual({ [oldKeyId]: 'Inactive', [result.newKeyId]: 'Active' });
  });

  it('refuses when the user already has two keys, and creates nothing', async () => {
    const { keyId: oldKeyId } = await createUserWithKey('svc-two-keys', { rotatable: true });
    const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: 'svc-two-keys' }));
    const before = await keyStatuses('svc-two-keys');

    const rotating = enforcer.rotate(
      { kind: 'access-key', id: oldKeyId, principal: 'svc-two-keys' },
      { owner: 'U042', now: NOW },
    );

    await expect(rotating).rejects.toThrow(EnforcementError);
    await expect(rotating).rejects.toThrow(/IAM allows 2.*delete one first/);
    expect(await keyStatuses('svc-two-keys')).toEqual(before);
    expect(Object.keys(before)).toEqual(expect.arrayContaining([oldKeyId, AccessKey?.AccessKeyId]));
  });

  it('deletes the new key when storing it fails, and the error holds no secret access key', async () => {
    const { keyId: oldKeyId } = await createUserWithKey('svc-store-fails', { rotatable: true });
    // Secrets Manager fails the way a careless error could: echoing the value it was given.
    let leaked: string | undefined;
    const failingSecretsManager = new SecretsManagerClient({});
    failingSecretsManager.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CreateSecretCommand') {
          leaked = (args.input as CreateSecretCommandInput).SecretString;
          const error = new Error(`AccessDeniedException: not allowed to store ${leaked}`);
          error.name = 'AccessDeniedException';
          throw error;
        }
        return next(args);
      },
      { step: 'initialize', name: 'failCreateSecret' },
    );
    const enforcerThatCannotStore = testEnforcer({
      iam: clients.iam,
      secretsManager: failingSecretsManager,
    });

    const error = await enforcerThatCannotStore
      .rotate({ kind: 'access-key', id: oldKeyId, principal: 'svc-store-fails' }, { owner: 'U042', now: NOW })
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    expect(error).toBeInstanceOf(EnforcementError);
    expect(String(error)).toMatch(/AccessDeniedException/);
    const secretAccessKey = JSON.parse(leaked ?? '{}').secretAccessKey as string;
    expect(secretAccessKey).toHaveLength(40);
    expect(inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true })).not.toContain(
      secretAccessKey,
    );
    expect(await keyStatuses('svc-store-fails')).toEqual({ [oldKeyId]: 'Active' });
  });
});

describe('rotating only what a platform team marked rotatable', () => {
  it('leaves the key of a user without the rotatable tag as it is, and says why', async () => {
    const { keyId } = await createUserWithKey('svc-unmarked');
    const target: EnforcementTarget = { kind: 'access-key', id: keyId, principal: 'svc-unmarked' };

    const result = await enforcer.rotate(target, { owner: 'U042', now: NOW });

    expect(result).toEqual({
      kind: 'access-key',
      rotated: false,
      why: expect.stringContaining('IAM user svc-unmarked is not marked rotatable'),
    });
    expect(await keyStatuses('svc-unmarked')).toEqual({ [keyId]: 'Active' });
  });
});

describe('rotating a secret or a role', () => {
  it('says why when the secret has no rotation configured, and changes nothing', async () => {
    const arn = await createSecret('app/manual');
    const before = await clients.secretsManager.send(new DescribeSecretCommand({ SecretId: arn }));

    const result = await enforcer.rotate(
      { kind: 'secret', id: arn, principal: 'app/manual' },
      { owner: 'U042', now: NOW },
    );

    expect(result).toEqual({
      kind: 'secret',
      rotated: false,
      why: expect.stringMatching(/rotation is not configured/),
    });
    const after = await clients.secretsManager.send(new DescribeSecretCommand({ SecretId: arn }));
    expect(after.VersionIdsToStages).toEqual(before.VersionIdsToStages);
  });

  it('rotates a secret that has rotation configured, once for the same run', async () => {
    const arn = await createSecret('app/rotating');
    await clients.secretsManager.send(
      new RotateSecretCommand({ SecretId: arn, RotationRules: { AutomaticallyAfterDays: 30 } }),
    );
    const target: EnforcementTarget = { kind: 'secret', id: arn, principal: 'app/rotating' };

    const result = await enforcer.rotate(target, { owner: 'U042', now: NOW });
    const retried = await enforcer.rotate(target, { owner: 'U042', now: NOW });

    if (!(result.kind === 'secret' && result.rotated)) throw new Error('not rotated');
    expect(result.versionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(retried).toEqual(result);
    const { VersionIdsToStages } = await clients.secretsManager.send(
      new DescribeSecretCommand({ SecretId: arn }),
    );
    expect(VersionIdsToStages?.[result.versionId ?? '']).toContain('AWSCURRENT');
  });

  it('says a role has nothing to rotate', async () => {
    await createRole('connector-rotate');

    const result = await enforcer.rotate(
      { kind: 'role', id: 'connector-rotate', principal: 'connector-rotate' },
      { owner: 'U042', now: NOW },
    );

    expect(result).toEqual({
      kind: 'role',
      rotated: false,
      why: expect.stringMatching(/no secret to rotate/),
    });
    expect(await inlinePoliciesOf('connector-rotate')).toEqual([]);
  });
});
