import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DetachRolePolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { createGrantReader } from '../../lambdas/shared/adapters/iam-grants';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import { parseCredentialId } from '../../lambdas/shared/domain/credential';
import { verifyChain } from '../../lambdas/shared/domain/decision';
import { type PolicyConfig, parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { recordedRevocationOf } from '../../lambdas/shared/domain/reauthorization';
import type { TrustChange } from '../../lambdas/shared/domain/trust-event';
import { enforceAccount } from '../../lambdas/shared/use-cases/enforce-account';
import { applyTrustChange, inventoryLoader } from '../../lambdas/shared/use-cases/trust-events';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { VENDOR_ACCOUNT } from '../../scripts/local/seed';
import { useEmulator } from '../support/emulator';
import { testEnforcer } from '../support/enforcer';

/**
 * `enforcement.revokeSessionsOn` `owner-departed` and `scope-changed`: when such an event opens a
 * request, the sessions issued before it end, and the credential stays usable for new ones.
 */
const { emulator, clients } = useEmulator();
const ACCOUNT = '123456789012';
const enforcer = testEnforcer(clients);
let table = 0;
let store = createDecisionStore(clients.documents, 'sessions-0');

const TRUST_VENDOR_AND_US = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${VENDOR_ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
  ],
});

async function freshTable(): Promise<void> {
  table += 1;
  store = createDecisionStore(clients.documents, `sessions-${table}`);
  await ensureDecisionTable(clients.dynamodb, `sessions-${table}`);
}

async function createRole(roleName: string, owner: string): Promise<string> {
  await clients.iam.send(
    new CreateRoleCommand({
      RoleName: roleName,
      AssumeRolePolicyDocument: TRUST_VENDOR_AND_US,
      Tags: [{ Key: 'reauth:owner', Value: owner }],
    }),
  );
  return `${ACCOUNT}:role:${roleName}`;
}

async function createUserWithKey(userName: string, owner: string): Promise<string> {
  await clients.iam.send(
    new CreateUserCommand({ UserName: userName, Tags: [{ Key: 'reauth:owner', Value: owner }] }),
  );
  const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return `${ACCOUNT}:access-key:${AccessKey?.AccessKeyId}`;
}

/** The ARNs of the managed policies attached to a role or a user. */
const rolePolicies = async (roleName: string) =>
  (
    (await clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ??
    []
  ).map((p) => p.PolicyArn);
const userPolicies = async (userName: string) =>
  (
    (await clients.iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName }))).AttachedPolicies ??
    []
  ).map((p) => p.PolicyArn);
/** Their inline policies' names: reauth writes none. */
const inlinePolicies = async (target: { roleName: string } | { userName: string }) =>
  ('roleName' in target
    ? (await clients.iam.send(new ListRolePoliciesCommand({ RoleName: target.roleName }))).PolicyNames
    : (await clients.iam.send(new ListUserPoliciesCommand({ UserName: target.userName }))).PolicyNames) ?? [];
/** reauth's session policy for a moment, as the session policy writer names it (`/reauth/sessions/`). */
const sessionsArn = (issuedBefore: Date) =>
  `arn:aws:iam::${ACCOUNT}:policy/reauth/sessions/reauth-sessions-before-${issuedBefore.toISOString().replace(/[-:]/g, '')}`;

const policyOf = (mode: 'report' | 'enforce', revokeSessionsOn?: string[]): PolicyConfig =>
  parsePolicyConfig({ mode, ...(revokeSessionsOn && { enforcement: { revokeSessionsOn } }) });

let events = 0;
function ownerDeparted(owner: string): TrustChange {
  events += 1;
  return {
    eventId: `hr-${events}`,
    trigger: 'owner-departed',
    target: { kind: 'owner', owner },
    widens: true,
    what: `OwnerDeparted: ${owner} left`,
    at: new Date().toISOString(),
  };
}

function trustWidened(roleName: string): TrustChange {
  events += 1;
  return {
    eventId: `ct-${events}`,
    trigger: 'scope-changed',
    target: { kind: 'role', roleName },
    widens: true,
    what: `UpdateAssumeRolePolicy on role ${roleName}`,
    at: new Date().toISOString(),
    by: `arn:aws:iam::${ACCOUNT}:user/admin`,
  };
}

async function apply(change: TrustChange, policy: PolicyConfig, now = new Date()) {
  const deps = {
    ...clients,
    store,
    enforcer,
    grants: createGrantReader(clients.iam),
    stacks: stackOwnersOfThisAccount(),
  };
  return applyTrustChange(deps, change, {
    accountId: ACCOUNT,
    policy,
    now,
    inventory: inventoryLoader(clients, { accountId: ACCOUNT, policy, now }),
    holder: `test:${change.eventId}`,
  });
}

/** The record says no more than IAM: each recorded revocation is there, from that moment or later. */
async function recordAndIamDisagree(): Promise<string[]> {
  const wrong: string[] = [];
  for (const state of (await store.loadStates(ACCOUNT)).values()) {
    const revoked = recordedRevocationOf(state, new Date());
    if (!revoked) continue;
    const seen = await enforcer.recheck({
      kind: state.kind,
      id: parseCredentialId(state.credentialId).id,
      principal: state.principal,
    });
    if (!(Date.parse(seen.sessionsRevokedBefore ?? '') >= Date.parse(revoked.issuedBefore)))
      wrong.push(
        `${state.credentialId}: recorded ${revoked.issuedBefore}, in IAM ${seen.sessionsRevokedBefore}`,
      );
    expect(verifyChain(await store.history(state.credentialId))).toEqual([]);
  }
  return wrong;
}

let etlKey: string;
let idleRole: string;

beforeAll(async () => {
  // Before any credential report is generated (one is reused for an hour): the key is in it.
  etlKey = await createUserWithKey('etl-departed', 'dan@example.com');
  // Created 200 days ago and never used: idle, so a scan keeps its request open.
  await emulator.freeze(new Date(Date.now() - 200 * 86_400_000));
  idleRole = await createRole('connector-drift', 'drew@example.com');
  await emulator.unfreeze();
});

afterEach(async () => {
  expect(await recordAndIamDisagree()).toEqual([]);
});

describe('revokeSessionsOn owner-departed and scope-changed', () => {
  it("a departed owner's role: its sessions end, the revocation is recorded, and the role stays assumable", async () => {
    await freshTable();
    const role = await createRole('connector-departed', 'dora@example.com');
    const now = new Date();

    const outcome = await apply(
      ownerDeparted('dora@example.com'),
      policyOf('enforce', ['owner-departed']),
      now,
    );

    expect(outcome.recorded).toEqual([role]);
    const policyArn = sessionsArn(now);
    const revokedSessions = { policyArn, issuedBefore: now.toISOString() };
    const [flag] = await store.history(role);
    expect(flag).toMatchObject({ action: 'flag', evidence: { trigger: 'owner-departed', revokedSessions } });
    expect(await store.getState(role)).toMatchObject({ status: 'pending', revokedSessions });
    expect(await rolePolicies('connector-departed')).toEqual([policyArn]);
    expect(await inlinePolicies({ roleName: 'connector-departed' })).toEqual([]);
    const { Policy } = await clients.iam.send(new GetPolicyCommand({ PolicyArn: policyArn }));
    const { PolicyVersion } = await clients.iam.send(
      new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: Policy?.DefaultVersionId }),
    );
    expect(JSON.parse(decodeURIComponent(PolicyVersion?.Document ?? ''))).toMatchObject({
      Statement: [
        { Effect: 'Deny', Condition: { DateLessThan: { 'aws:TokenIssueTime': now.toISOString() } } },
      ],
    });

    // A new session, and a call with it.
    const { Credentials } = await clients.sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/connector-departed`,
        RoleSessionName: 'new',
      }),
    );
    const session = new STSClient({
      credentials: {
        accessKeyId: Credentials?.AccessKeyId ?? '',
        secretAccessKey: Credentials?.SecretAccessKey ?? '',
        sessionToken: Credentials?.SessionToken,
      },
    });
    const { Arn } = await session.send(new GetCallerIdentityCommand({}));
    expect(Arn).toContain('assumed-role/connector-departed/new');
  });

  it("a departed owner's access key: the revocation goes on the key's user, the key stays Active", async () => {
    await freshTable();
    const key = etlKey;
    const now = new Date();

    await apply(ownerDeparted('dan@example.com'), policyOf('enforce', ['owner-departed']), now);

    expect(await userPolicies('etl-departed')).toEqual([sessionsArn(now)]);
    expect(await inlinePolicies({ userName: 'etl-departed' })).toEqual([]);
    expect(await store.getState(key)).toMatchObject({
      status: 'pending',
      revokedSessions: { policyArn: sessionsArn(now), issuedBefore: now.toISOString() },
    });
    expect(
      await enforcer.recheck({
        kind: 'access-key',
        id: parseCredentialId(key).id,
        principal: 'etl-departed',
      }),
    ).toMatchObject({ exists: true, disabled: false });
  });

  it('a role whose trust widened: scope-changed ends its sessions; a reducing change ends none', async () => {
    await freshTable();
    const role = await createRole('connector-widened', 'wes@example.com');
    const policy = policyOf('enforce', ['scope-changed']);

    await apply({ ...trustWidened('connector-widened'), widens: false, what: 'DetachRolePolicy' }, policy);
    expect(await rolePolicies('connector-widened')).toEqual([]);
    expect((await store.history(role)).map((d) => d.action)).toEqual(['observe']);

    const now = new Date();
    await apply(trustWidened('connector-widened'), policy, now);
    expect(await rolePolicies('connector-widened')).toEqual([sessionsArn(now)]);
    expect((await store.history(role)).at(-1)).toMatchObject({
      action: 'flag',
      evidence: { revokedSessions: { policyArn: sessionsArn(now) } },
    });
  });

  it('puts nothing when the option leaves the trigger out, and nothing in report mode', async () => {
    await freshTable();
    const off = await createRole('connector-option-off', 'olga@example.com');
    const reported = await createRole('connector-report', 'rita@example.com');

    await apply(ownerDeparted('olga@example.com'), policyOf('enforce'));
    await apply(trustWidened('connector-option-off'), policyOf('enforce', ['owner-departed']));
    await apply(ownerDeparted('rita@example.com'), policyOf('report', ['owner-departed', 'scope-changed']));

    expect(await rolePolicies('connector-option-off')).toEqual([]);
    expect(await rolePolicies('connector-report')).toEqual([]);
    for (const id of [off, reported]) {
      const state = await store.getState(id);
      expect(state).toMatchObject({ status: 'pending' });
      expect(state?.revokedSessions).toBeUndefined();
      expect((await store.history(id)).every((d) => d.evidence.revokedSessions === undefined)).toBe(true);
    }
  });

  it('a repeated event records once and revokes nothing more', async () => {
    await freshTable();
    const role = await createRole('connector-twice', 'tim@example.com');
    const policy = policyOf('enforce', ['owner-departed']);
    const change = ownerDeparted('tim@example.com');
    const first = new Date();

    await apply(change, policy, first);
    const second = await apply(change, policy, new Date(first.getTime() + 60_000));

    expect(second.recorded).toEqual([]);
    expect((await store.history(role)).map((d) => d.action)).toEqual(['flag']);
    expect(await rolePolicies('connector-twice')).toEqual([sessionsArn(first)]);
    expect(
      await enforcer.recheck({ kind: 'role', id: 'connector-twice', principal: 'connector-twice' }),
    ).toMatchObject({ sessionsRevokedBefore: first.toISOString() });
  });

  it("the enforce job's drift check puts back a pending request's revocation detached outside reauth, once", async () => {
    await freshTable();
    const role = idleRole;
    const policy = policyOf('enforce', ['owner-departed']);
    const revokedAt = new Date();
    await apply(ownerDeparted('drew@example.com'), policy, revokedAt);
    // Someone detaches reauth's session policy from the role.
    await clients.iam.send(
      new DetachRolePolicyCommand({ RoleName: 'connector-drift', PolicyArn: sessionsArn(revokedAt) }),
    );

    const deps = {
      ...clients,
      store,
      enforcer,
      grants: createGrantReader(clients.iam),
      stacks: stackOwnersOfThisAccount(),
    };
    const report = await enforceAccount(deps, { accountId: ACCOUNT, policy, now: new Date() });
    const again = await enforceAccount(deps, { accountId: ACCOUNT, policy, now: new Date() });

    expect(report.revokedAgain).toEqual([role]);
    expect(again.revokedAgain).toEqual([]);
    expect(
      await enforcer.recheck({ kind: 'role', id: 'connector-drift', principal: 'connector-drift' }),
    ).toMatchObject({ disabled: false, sessionsRevokedBefore: revokedAt.toISOString() });
    expect(await rolePolicies('connector-drift')).toEqual([sessionsArn(revokedAt)]);
    const observed = (await store.history(role)).filter((d) => d.action === 'observe');
    expect(observed).toHaveLength(1);
    expect(observed[0]?.evidence).toMatchObject({ found: null, seenBy: 'recheck' });
    // The scan's own finding (idle) joined the open request, which kept its event's trigger and its revocation.
    expect(await store.getState(role)).toMatchObject({
      status: 'pending',
      triggers: ['owner-departed', 'idle'],
      revokedSessions: { issuedBefore: revokedAt.toISOString() },
    });
  });
});
