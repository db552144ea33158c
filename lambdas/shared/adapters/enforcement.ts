import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import {
  type AccessKeyMetadata,
  type AttachedPolicy,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  DeleteAccessKeyCommand,
  DeleteLoginProfileCommand,
  DeleteRolePermissionsBoundaryCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  GetLoginProfileCommand,
  GetRoleCommand,
  GetUserCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListUserTagsCommand,
  PutRolePermissionsBoundaryCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DeleteResourcePolicyCommand,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetResourcePolicyCommand,
  PutResourcePolicyCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type CredentialKind, isStatusCredential } from '../domain/credential';
import type { DisableReceipt } from '../domain/decision';
import { STATUS_CREDENTIAL_NAMES } from '../domain/identification';
import {
  DENY_SECRET_READS,
  isReauthSecretDeny,
  isRoleDisablePolicyArn,
  REAUTH_POLICY_PATH,
  type RevokedSessions,
  ROTATABLE_TAG,
  revokedBeforeOfArn,
  statementsOf,
} from '../domain/reauth-marks';
import {
  fittedKept,
  isRightSizePolicyArn,
  RIGHT_SIZE_POLICY_PATH,
  type RightSizeReceipt,
} from '../domain/right-size';
import type { ServiceUsage } from '../domain/service-usage';
import { ServiceUsageUnavailableError, serviceUsageReader } from './service-usage';
import { listStatusCredentials, setStatus } from './status-credentials';

/** The credential an enforcement acts on. */
export interface EnforcementTarget {
  kind: CredentialKind;
  /** access key id | secret ARN | role name | user name (password) | a status credential's id */
  id: string;
  /** IAM user name | secret name | role name | user name (password, status credentials) */
  principal: string;
}

export type RotationResult =
  | {
      kind: 'access-key';
      rotated: true;
      newKeyId: string /** ARN of the secret holding the new key pair */;
      storedIn: string;
      replacedKeyId: string;
    }
  | { kind: 'access-key'; rotated: false; why: string }
  | { kind: 'secret'; rotated: true; versionId?: string }
  | { kind: 'secret'; rotated: false; why: string }
  | { kind: Exclude<CredentialKind, 'access-key' | 'secret'>; rotated: false; why: string };

/**
 * What a restore made that its owner must be told of: a password's new login profile, whose random
 * password is in the secret `passwordStoredIn` (an ARN), never in the result. Other kinds: nothing.
 */
export interface RestoreResult {
  passwordStoredIn?: string;
  /**
   * Nothing was made, and why: a new password for a user no platform team marked `reauth:rotatable`
   * (reauth mints credentials only for those, as rotation does).
   */
  refused?: string;
}

export interface RecheckResult {
  exists: boolean;
  lastUsedAt?: Date;
  /** Unusable as reauth disables it: the key Inactive, reauth's deny on the secret, its policy on the role. */
  disabled?: boolean;
  /**
   * ISO: the moment before which reauth's `reauth-sessions-before-…` policy attached to the key's user
   * or to the role ends sessions; undefined when none is attached. Secrets: always undefined.
   */
  sessionsRevokedBefore?: string;
}

/** A change to IAM or Secrets Manager failed. The message names the credential, never a secret value. */
export class EnforcementError extends Error {
  override readonly name: string = 'EnforcementError';
}

/**
 * reauth will not disable this credential: doing so would need a grant that can widen access. Nothing
 * was changed; the message says why and what the owner can do.
 */
export class DisableRefused extends EnforcementError {
  override readonly name = 'DisableRefused';
}

/**
 * reauth will not narrow this principal: its policy could not be attached without a grant that can
 * widen access (IAM's quota of attached policies), or no policy writer is configured. Nothing changed.
 */
export class RightSizeRefused extends EnforcementError {
  override readonly name = 'RightSizeRefused';
}

/**
 * Every change reauth makes to IAM and Secrets Manager. Each is reversible, and each is idempotent:
 * a retry after a crash finds the work done and gives the same result.
 */
export interface Enforcer {
  /**
   * The credential's last use from its authoritative per-credential API: GetAccessKeyLastUsed /
   * DescribeSecret (LastAccessedDate) / GetRole (RoleLastUsed), and whether it is disabled as reauth
   * disables it. `exists: false` when it is gone (a secret scheduled for deletion counts as gone). A
   * status credential has no last use to read (IAM records none): only whether it is there, and
   * Inactive; an expired service credential counts as gone.
   */
  recheck(target: EnforcementTarget): Promise<RecheckResult>;
  /**
   * Makes the credential unusable; with `revokeSessionsBefore` (ISO) also ends the sessions issued
   * before then (see `revokeSessions`), and the receipt says so.
   */
  disable(target: EnforcementTarget, options?: { revokeSessionsBefore?: string }): Promise<DisableReceipt>;
  /**
   * Undoes reauth's disable, and only that: the key (or status credential) Active, reauth's deny statement taken out of the
   * secret's policy as it is now (not the policy from before the disable put back, which would undo
   * whatever else changed meanwhile), `reauth-disabled` detached from the role (or taken off as its
   * permissions boundary), and reauth's session policies detached from the key's user or the role.
   * Nothing to undo: nothing done. With `revokeSessionsBefore` (ISO: a revocation the record still
   * holds, an open request's) that revocation is attached instead of taken off.
   *
   * A password cannot be given back: IAM keeps no deleted password. Only with `passwordFor` is a new
   * login profile made, with a random password that must be changed at the first sign-in
   * (PasswordResetRequired), stored in a new secret under the rotated-key prefix tagged with its
   * owner; without it (a record made to match IAM again, whose owner asked nothing) nothing is made,
   * so reauth never gives console access back that no one asked for.
   */
  restore(
    target: EnforcementTarget,
    options?: { revokeSessionsBefore?: string; passwordFor?: { owner: string; now: Date } },
  ): Promise<RestoreResult>;
  /**
   * Ends the sessions issued before `issuedBefore` (ISO): reauth's `reauth-sessions-before-<moment>`
   * policy (made by the session policy writer) attached to the access key's user or to the role, and
   * reauth's earlier one detached (a later revocation replaces the moment). The credential itself stays
   * usable for new sessions. A secret has no sessions: undefined, nothing done.
   */
  revokeSessions(target: EnforcementTarget, issuedBefore: string): Promise<RevokedSessions | undefined>;
  /**
   * access key: a new key, stored in a new secret, the old one left active; secret: RotateSecret where
   * rotation is configured; role: nothing to rotate. Retried with the same `now`, a secret rotation is
   * the same rotation (its ClientRequestToken derives from the ARN and `now`).
   */
  rotate(target: EnforcementTarget, options: { owner: string; now: Date }): Promise<RotationResult>;
  /** After the grace period: deactivate the replaced key. A key already deleted is left as it is. */
  deactivateReplacedKey(userName: string, keyId: string): Promise<void>;
  /**
   * Narrows the credential's user or role to `kept` (issue #25): reauth's right-size deny (made by the
   * policy writer) attached, and an earlier one of reauth's detached after it. The principal's own
   * policies and boundary are untouched; the receipt names the boundary it has. At IAM's quota of
   * attached policies: `RightSizeRefused`, nothing changed. Idempotent.
   */
  rightSize(
    target: EnforcementTarget,
    request: { principalArn: string; kept: readonly string[] },
  ): Promise<RightSizeReceipt>;
  /**
   * Makes the user or role hold exactly this right-size deny of reauth's (`null`: none), attaching it if
   * it is missing and detaching any other of reauth's right-size policies, and nothing else: *Widen* /
   * *Restore* (`null`), and IAM put back to what the record says after a right-size or widen stopped
   * half-done. Attaching is only ever a policy reauth made before, a deny.
   */
  rightSizeAs(target: EnforcementTarget, policyArn: string | null): Promise<void>;
  /** The ARNs of reauth's right-size policies attached to the user or role now (drift is one missing). */
  rightSizedBy(target: EnforcementTarget): Promise<string[]>;
  /**
   * What the credential's user or role used in the `windowDays` before `now`, read now in its account
   * (issue #25): GetUser or GetRole (its ARN with its path, and its creation, before which IAM has no
   * data), then a new IAM service last-accessed job at ACTION_LEVEL, polled up to `maxWaitMs`.
   * `{ unavailable }`: the principal is gone, or IAM's job failed or was not done in time. Reads only.
   */
  serviceUsage(
    target: EnforcementTarget,
    options: { windowDays: number; now: Date; maxWaitMs?: number },
  ): Promise<ServiceUsage | { unavailable: string }>;
}

/**
 * The managed policies reauth attaches, in the credential's account. reauth writes no policy document
 * itself: the stack creates `reauth-disabled`, the session policy writer (another function, which can
 * attach nothing) creates the session policies.
 */
export interface ReauthPolicies {
  /** ARN of the stack's `reauth-disabled` (a deny of everything) under `/reauth/`. */
  disableArn: string;
  /** ARN of the policy ending sessions issued before `issuedBefore` (ISO), made by the writer when not there yet. */
  sessionsBefore(issuedBefore: string): Promise<string>;
  /**
   * ARN of the right-size deny of `principalArn` (all but `kept`), made by the writer when not there
   * yet. Absent where no writer is configured: a right-size is refused.
   */
  rightSize?: (principalArn: string, kept: readonly string[]) => Promise<string>;
}

export interface EnforcerOptions {
  policies: ReauthPolicies;
  /** Where rotated key pairs are stored: `${prefix}${userName}/${newKeyId}`. @default 'reauth/rotated/' */
  rotatedKeyPrefix?: string;
}

const DEFAULT_ROTATED_KEY_PREFIX = 'reauth/rotated/';
const POLICY_VERSION = '2012-10-17';
/** IAM allows this many access keys per user. */
const MAX_KEYS_PER_USER = 2;

const NO_SUCH_ENTITY = ['NoSuchEntityException', 'NoSuchEntity'];
const RESOURCE_NOT_FOUND = ['ResourceNotFoundException'];
const LIMIT_EXCEEDED = ['LimitExceededException', 'LimitExceeded'];

export function createEnforcer(
  clients: { iam: IAMClient; secretsManager: SecretsManagerClient },
  options: EnforcerOptions,
): Enforcer {
  const { iam, secretsManager } = clients;
  const { policies } = options;
  const prefix = options.rotatedKeyPrefix ?? DEFAULT_ROTATED_KEY_PREFIX;

  async function recheck(target: EnforcementTarget): Promise<RecheckResult> {
    return attempt(`recheck ${describe(target)}`, async (): Promise<RecheckResult> => {
      if (isStatusCredential(target.kind)) {
        // IAM records no last use of these: the re-check reads only whether it is there and its status.
        const listed = await listStatusCredentials(iam, target.kind, target.principal);
        const found = listed?.find((c) => c.id === target.id);
        if (!found || found.status === 'Expired') return { exists: false };
        return { exists: true, disabled: found.status === 'Inactive' };
      }
      switch (target.kind) {
        case 'access-key': {
          const keys = await listAccessKeys(iam, target.principal);
          const key = keys?.find((k) => k.AccessKeyId === target.id);
          if (!key) return { exists: false };
          const used = await orMissing(
            iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: target.id })),
            NO_SUCH_ENTITY,
          );
          if (!used) return { exists: false };
          const revoked = latestRevocation(await reauthPoliciesOn(target));
          return {
            exists: true,
            lastUsedAt: used.AccessKeyLastUsed?.LastUsedDate,
            disabled: key.Status === 'Inactive',
            ...(revoked && { sessionsRevokedBefore: revoked }),
          };
        }
        case 'password': {
          // A password is its user's login profile: without one there is nothing to disable (a deadline
          // records it gone), and one back on a user reauth disabled is drift. Never `disabled: true`.
          const user = await orMissing(iam.send(new GetUserCommand({ UserName: target.id })), NO_SUCH_ENTITY);
          if (!user?.User) return { exists: false };
          const profile = await orMissing(
            iam.send(new GetLoginProfileCommand({ UserName: target.id })),
            NO_SUCH_ENTITY,
          );
          if (!profile?.LoginProfile) return { exists: false };
          return { exists: true, lastUsedAt: user.User.PasswordLastUsed, disabled: false };
        }
        case 'secret': {
          const secret = await describeSecret(secretsManager, target.id);
          if (!secret || secret.DeletedDate) return { exists: false };
          const policy = await secretPolicy(target.id);
          return {
            exists: true,
            lastUsedAt: secret.LastAccessedDate,
            disabled: statementsOf(policy ?? '{}').some(isReauthSecretDeny),
          };
        }
        case 'role': {
          const role = await orMissing(iam.send(new GetRoleCommand({ RoleName: target.id })), NO_SUCH_ENTITY);
          if (!role?.Role) return { exists: false };
          const attached = await reauthPoliciesOn(target);
          const revoked = latestRevocation(attached);
          return {
            exists: true,
            lastUsedAt: role.Role.RoleLastUsed?.LastUsedDate,
            disabled:
              attached.some((p) => isRoleDisablePolicyArn(p.PolicyArn)) ||
              isRoleDisablePolicyArn(role.Role.PermissionsBoundary?.PermissionsBoundaryArn),
            ...(revoked && { sessionsRevokedBefore: revoked }),
          };
        }
      }
    });
  }

  async function disable(
    target: EnforcementTarget,
    options: { revokeSessionsBefore?: string } = {},
  ): Promise<DisableReceipt> {
    const receipt = await attempt(`disable ${describe(target)}`, async (): Promise<DisableReceipt> => {
      if (isStatusCredential(target.kind)) {
        const credential = { kind: target.kind, id: target.id, userName: target.principal };
        await setStatus(iam, credential, 'Inactive');
        return credential;
      }
      switch (target.kind) {
        case 'access-key':
          await iam.send(
            new UpdateAccessKeyCommand({
              UserName: target.principal,
              AccessKeyId: target.id,
              Status: 'Inactive',
            }),
          );
          return { kind: 'access-key', keyId: target.id };
        case 'password':
          return disablePassword(target.id);
        case 'secret': {
          const ResourcePolicy = await secretPolicy(target.id);
          const current = ResourcePolicy ? parsePolicy(ResourcePolicy) : undefined;
          const others = current?.statements.filter((s) => !isReauthSecretDeny(s)) ?? [];
          const retried = current !== undefined && others.length < current.statements.length;
          // On a retry the deny is already there: what was before it is the policy without it.
          const previousPolicy = !retried
            ? (ResourcePolicy ?? null)
            : others.length > 0
              ? JSON.stringify({ ...current.document, Statement: others })
              : null;
          if (!retried) {
            const document = current?.document ?? { Version: POLICY_VERSION };
            await secretsManager.send(
              new PutResourcePolicyCommand({
                SecretId: target.id,
                ResourcePolicy: JSON.stringify({
                  Version: POLICY_VERSION,
                  ...document,
                  Statement: [...others, DENY_SECRET_READS],
                }),
              }),
            );
          }
          return { kind: 'secret', previousPolicy };
        }
        case 'role':
          // The trust policy is left alone: a deny wins over every allow, and detaching it undoes it.
          return disableRole(target.id);
      }
    });
    // A secret hands out no session, nor does a status credential (CodeCommit's SSH and Git, Keyspaces,
    // a Bedrock key sign in with it each time).
    if (
      options.revokeSessionsBefore === undefined ||
      (receipt.kind !== 'access-key' && receipt.kind !== 'role' && receipt.kind !== 'password')
    )
      return receipt;
    const revokedSessions = await revokeSessions(target, options.revokeSessionsBefore);
    return revokedSessions ? { ...receipt, revokedSessions } : receipt;
  }

  /**
   * Deletes the user's login profile, after reading what there was (the receipt keeps it: that a login
   * profile existed, since when, its last sign-in). MFA devices are left alone: a restored password
   * signs in with them as before. A retry after the delete finds no profile and records what the
   * user's last sign-in says.
   */
  async function disablePassword(userName: string): Promise<DisableReceipt> {
    const { User } = await iam.send(new GetUserCommand({ UserName: userName }));
    const profile = await orMissing(
      iam.send(new GetLoginProfileCommand({ UserName: userName })),
      NO_SUCH_ENTITY,
    );
    if (profile?.LoginProfile)
      await orMissing(iam.send(new DeleteLoginProfileCommand({ UserName: userName })), NO_SUCH_ENTITY);
    return {
      kind: 'password',
      userName,
      loginProfileDeleted: profile?.LoginProfile !== undefined,
      ...(profile?.LoginProfile?.CreateDate && {
        loginProfileCreatedAt: profile.LoginProfile.CreateDate.toISOString(),
      }),
      passwordLastUsed: User?.PasswordLastUsed?.toISOString() ?? null,
    };
  }

  /**
   * A new login profile for `userName` with a random password to be changed at the first sign-in, the
   * password stored in a new secret only: never returned, logged or put in an error. A profile already
   * there (a retry, or the owner made one) is left as it is, and nothing is stored.
   */
  async function recreatePassword(userName: string, owner: string, now: Date): Promise<RestoreResult> {
    const existing = await orMissing(
      iam.send(new GetLoginProfileCommand({ UserName: userName })),
      NO_SUCH_ENTITY,
    );
    if (existing?.LoginProfile) return {};
    // A new password is a new credential: whoever holds reauth's role could set one and sign in as the
    // user, so it is made only for users a platform team marked, as rotation mints keys.
    const { Tags } = await iam.send(new ListUserTagsCommand({ UserName: userName }));
    if (!Tags?.some((tag) => tag.Key === ROTATABLE_TAG.key && tag.Value === ROTATABLE_TAG.value)) {
      return {
        refused: `IAM user ${userName} is not marked ${ROTATABLE_TAG.key}=${ROTATABLE_TAG.value}: reauth makes new credentials only for users a platform team marked (reauth cannot set that tag). An administrator can give the user a console password again`,
      };
    }
    const password = randomPassword();
    const Name = `${prefix}${userName.replace(/,/g, '-')}/console-password-${now.getTime()}`;
    let ARN: string | undefined;
    try {
      // Stored first: a profile whose password was never stored could not be handed to anyone.
      ({ ARN } = await secretsManager.send(
        new CreateSecretCommand({
          Name,
          Description: `Console password of IAM user ${userName}, made by reauth when its owner restored the sign-in reauth had disabled; it must be changed at the first sign-in.`,
          SecretString: JSON.stringify({ userName, password }),
          Tags: [
            { Key: 'reauth:owner', Value: owner },
            { Key: 'reauth:restores', Value: `password/${userName}` },
          ],
        }),
      ));
      if (!ARN) throw new Error('Secrets Manager returned no ARN');
      await iam.send(
        new CreateLoginProfileCommand({
          UserName: userName,
          Password: password,
          PasswordResetRequired: true,
        }),
      );
    } catch (error) {
      const cause = withoutSecret(error, password);
      const reason = cause instanceof Error ? cause.name : 'unknown error';
      throw new EnforcementError(
        `restore the console password of IAM user ${userName}: ${ARN ? `the login profile was not made (${reason}); the unused secret ${ARN} can be deleted` : `storing the new password failed (${reason}); no login profile was made`}`,
        { cause },
      );
    }
    return { passwordStoredIn: ARN };
  }

  /**
   * Attaches `reauth-disabled` to the role. A role at IAM's quota of attached managed policies gets it
   * as its permissions boundary instead, when it has none (a boundary that allows nothing); a role with
   * both is refused, saying why: any other way would need a grant that can widen access. The
   * boundary slot is this fallback's alone: a right-size (issue #25) attaches a deny and never sets a
   * boundary (see domain/right-size.ts), so one design serves both.
   */
  async function disableRole(roleName: string): Promise<DisableReceipt> {
    const PolicyArn = policies.disableArn;
    try {
      await iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn }));
      return { kind: 'role', policyArn: PolicyArn };
    } catch (error) {
      if (!isError(error, LIMIT_EXCEEDED)) throw error;
    }
    const { Role } = await iam.send(new GetRoleCommand({ RoleName: roleName }));
    const boundary = Role?.PermissionsBoundary?.PermissionsBoundaryArn;
    if (boundary !== undefined && !isRoleDisablePolicyArn(boundary)) {
      throw new DisableRefused(
        `role ${roleName} holds as many managed policies as IAM allows and a permissions boundary (${boundary}): reauth can neither attach its deny nor make it the boundary, and replacing a boundary could widen access later. Detach a policy from the role, or disable it by hand`,
      );
    }
    await iam.send(
      new PutRolePermissionsBoundaryCommand({ RoleName: roleName, PermissionsBoundary: PolicyArn }),
    );
    return { kind: 'role', policyArn: PolicyArn, asBoundary: true };
  }

  async function revokeSessions(
    target: EnforcementTarget,
    issuedBefore: string,
  ): Promise<RevokedSessions | undefined> {
    // A console password's sessions outlive its login profile (a console session lasts up to 12 hours):
    // they are its user's, as a key's sessions are, and end with the user's deny on aws:TokenIssueTime.
    // A secret and a status credential hand out no session.
    if (target.kind === 'secret' || isStatusCredential(target.kind)) return undefined;
    const what = `revoke the sessions of ${describe(target)} issued before ${issuedBefore}`;
    const policyArn = await attempt(what, () => policies.sessionsBefore(issuedBefore));
    await attempt(what, async () => {
      const earlier = (await reauthPoliciesOn(target)).filter(
        (p) => revokedBeforeOfArn(p.PolicyArn) !== undefined && p.PolicyArn !== policyArn,
      );
      try {
        await attach(target, policyArn);
      } catch (error) {
        // At IAM's quota of attached policies, reauth's earlier revocation makes room: the new moment is
        // later, so it ends every session the earlier one did.
        if (!isError(error, LIMIT_EXCEEDED) || earlier.length === 0) throw error;
        await detach(target, earlier[0]?.PolicyArn as string);
        await attach(target, policyArn);
      }
      for (const policy of earlier) await detach(target, policy.PolicyArn as string);
    });
    return { policyArn, issuedBefore };
  }

  /** reauth's policies attached to the key's or password's user, or to the role: those under `/reauth/`. */
  async function reauthPoliciesOn(target: EnforcementTarget): Promise<AttachedPolicy[]> {
    if (target.kind === 'secret' || isStatusCredential(target.kind)) return [];
    return attachedUnder(target, REAUTH_POLICY_PATH);
  }

  /** The managed policies under `pathPrefix` attached to the key's or password's user, or to the role. */
  async function attachedUnder(target: EnforcementTarget, PathPrefix: string): Promise<AttachedPolicy[]> {
    const attached: AttachedPolicy[] = [];
    let Marker: string | undefined;
    do {
      const page =
        target.kind === 'role'
          ? await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: target.id, PathPrefix, Marker }))
          : await iam.send(
              new ListAttachedUserPoliciesCommand({ UserName: target.principal, PathPrefix, Marker }),
            );
      attached.push(...(page.AttachedPolicies ?? []));
      Marker = page.IsTruncated ? page.Marker : undefined;
    } while (Marker);
    return attached;
  }

  async function attach(target: EnforcementTarget, PolicyArn: string): Promise<void> {
    await (target.kind === 'role'
      ? iam.send(new AttachRolePolicyCommand({ RoleName: target.id, PolicyArn }))
      : iam.send(new AttachUserPolicyCommand({ UserName: target.principal, PolicyArn })));
  }

  async function detach(target: EnforcementTarget, PolicyArn: string): Promise<void> {
    await orMissing(
      target.kind === 'role'
        ? iam.send(new DetachRolePolicyCommand({ RoleName: target.id, PolicyArn }))
        : iam.send(new DetachUserPolicyCommand({ UserName: target.principal, PolicyArn })),
      NO_SUCH_ENTITY,
    );
  }

  /** Detaches reauth's session policies from the key's user or the role. */
  async function endRevocation(target: EnforcementTarget): Promise<void> {
    for (const policy of await reauthPoliciesOn(target)) {
      if (revokedBeforeOfArn(policy.PolicyArn) !== undefined)
        await detach(target, policy.PolicyArn as string);
    }
  }

  async function restore(
    target: EnforcementTarget,
    options: { revokeSessionsBefore?: string; passwordFor?: { owner: string; now: Date } } = {},
  ): Promise<RestoreResult> {
    const { revokeSessionsBefore, passwordFor } = options;
    if (target.kind === 'password') {
      if (!passwordFor) return {};
      return attempt(`restore ${describe(target)}`, () =>
        recreatePassword(target.id, passwordFor.owner, passwordFor.now),
      );
    }
    if (isStatusCredential(target.kind)) {
      const credential = { kind: target.kind, id: target.id, userName: target.principal };
      await attempt(`restore ${describe(target)}`, () => setStatus(iam, credential, 'Active'));
      return {};
    }
    const settleRevocation = () =>
      revokeSessionsBefore === undefined
        ? endRevocation(target)
        : revokeSessions(target, revokeSessionsBefore);
    await attempt(`restore ${describe(target)}`, async () => {
      switch (target.kind) {
        case 'access-key':
          await iam.send(
            new UpdateAccessKeyCommand({
              UserName: target.principal,
              AccessKeyId: target.id,
              Status: 'Active',
            }),
          );
          await settleRevocation();
          return;
        case 'secret': {
          const policy = await secretPolicy(target.id);
          if (!policy) return;
          const current = parsePolicy(policy);
          const others = current.statements.filter((s) => !isReauthSecretDeny(s));
          if (others.length === current.statements.length) return;
          if (others.length === 0) {
            await secretsManager.send(new DeleteResourcePolicyCommand({ SecretId: target.id }));
            return;
          }
          await secretsManager.send(
            new PutResourcePolicyCommand({
              SecretId: target.id,
              ResourcePolicy: JSON.stringify({ ...current.document, Statement: others }),
            }),
          );
          return;
        }
        case 'role': {
          // Only reauth's own policy comes off: a team's policies, whatever their names, are not reauth's.
          await detach(target, policies.disableArn);
          const role = await orMissing(iam.send(new GetRoleCommand({ RoleName: target.id })), NO_SUCH_ENTITY);
          if (isRoleDisablePolicyArn(role?.Role?.PermissionsBoundary?.PermissionsBoundaryArn))
            await orMissing(
              iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: target.id })),
              NO_SUCH_ENTITY,
            );
          await settleRevocation();
          return;
        }
      }
    });
    return {};
  }

  async function secretPolicy(secretId: string): Promise<string | undefined> {
    const { ResourcePolicy } = await secretsManager.send(
      new GetResourcePolicyCommand({ SecretId: secretId }),
    );
    return ResourcePolicy ?? undefined;
  }

  async function rotate(
    target: EnforcementTarget,
    options: { owner: string; now: Date },
  ): Promise<RotationResult> {
    if (isStatusCredential(target.kind))
      return {
        kind: target.kind,
        rotated: false,
        why: `reauth does not make ${STATUS_CREDENTIAL_NAMES[target.kind]}s; make a new one, move its users to it and delete this one, or disable it`,
      };
    switch (target.kind) {
      case 'access-key':
        return rotateAccessKey(target.principal, target.id, options.owner);
      case 'secret':
        return attempt(`rotate ${describe(target)}`, async (): Promise<RotationResult> => {
          const secret = await describeSecret(secretsManager, target.id);
          if (!secret || secret.DeletedDate) {
            throw new EnforcementError(`rotate ${describe(target)}: the secret no longer exists`);
          }
          if (!secret.RotationEnabled) {
            return {
              kind: 'secret',
              rotated: false,
              why: 'rotation is not configured for this secret (no rotation Lambda): rotate it at its source and update the value',
            };
          }
          const { VersionId } = await secretsManager.send(
            new RotateSecretCommand({
              SecretId: target.id,
              ClientRequestToken: rotationToken(target.id, options.now),
            }),
          );
          return { kind: 'secret', rotated: true, versionId: VersionId };
        });
      case 'role':
        return {
          kind: 'role',
          rotated: false,
          why: 'roles have no secret to rotate; disable or reauthorize it',
        };
      case 'password':
        return {
          kind: 'password',
          rotated: false,
          why: 'reauth does not set console passwords; the user changes it at sign-in, or disable it',
        };
    }
  }

  async function rotateAccessKey(userName: string, oldKeyId: string, owner: string): Promise<RotationResult> {
    const what = `rotate access key ${oldKeyId} of IAM user ${userName}`;
    const tags = await attempt(
      what,
      async () => (await iam.send(new ListUserTagsCommand({ UserName: userName }))).Tags,
    );
    if (!tags?.some((tag) => tag.Key === ROTATABLE_TAG.key && tag.Value === ROTATABLE_TAG.value)) {
      return {
        kind: 'access-key',
        rotated: false,
        why: `IAM user ${userName} is not marked rotatable: reauth rotates only the keys of users a platform team tagged ${ROTATABLE_TAG.key}=${ROTATABLE_TAG.value} (reauth cannot set that tag). Rotate it yourself, or disable it`,
      };
    }
    const keys = await attempt(what, () => listAccessKeys(iam, userName));
    if (!keys?.some((k) => k.AccessKeyId === oldKeyId)) {
      throw new EnforcementError(`${what}: the key no longer exists`);
    }
    const others = keys.flatMap((k) => (k.AccessKeyId && k.AccessKeyId !== oldKeyId ? [k.AccessKeyId] : []));
    // A retry after a crash: the other key is the replacement stored by the first attempt.
    for (const otherKeyId of others) {
      const stored = await attempt(what, () =>
        describeSecret(secretsManager, rotatedSecretName(prefix, userName, otherKeyId)),
      );
      const replaces = stored?.Tags?.find((tag) => tag.Key === 'reauth:replaces')?.Value;
      if (stored?.ARN && !stored.DeletedDate && replaces === oldKeyId) {
        return {
          kind: 'access-key',
          rotated: true,
          newKeyId: otherKeyId,
          storedIn: stored.ARN,
          replacedKeyId: oldKeyId,
        };
      }
    }
    if (keys.length >= MAX_KEYS_PER_USER) {
      throw new EnforcementError(
        `${what}: the user already has ${keys.length} access keys and IAM allows ${MAX_KEYS_PER_USER}; the owner must delete one first`,
      );
    }

    const created = await attempt(what, () => iam.send(new CreateAccessKeyCommand({ UserName: userName })));
    const newKeyId = created.AccessKey?.AccessKeyId;
    const secretAccessKey = created.AccessKey?.SecretAccessKey;
    if (!newKeyId || !secretAccessKey) {
      throw new EnforcementError(`${what}: IAM returned no access key`);
    }
    try {
      const { ARN } = await secretsManager.send(
        new CreateSecretCommand({
          Name: rotatedSecretName(prefix, userName, newKeyId),
          Description: `Access key ${newKeyId} of IAM user ${userName}, created by reauth to replace ${oldKeyId}, which is deactivated after the grace period.`,
          SecretString: JSON.stringify({ accessKeyId: newKeyId, secretAccessKey }),
          Tags: [
            { Key: 'reauth:owner', Value: owner },
            { Key: 'reauth:replaces', Value: oldKeyId },
          ],
        }),
      );
      if (!ARN) throw new Error('Secrets Manager returned no ARN');
      return { kind: 'access-key', rotated: true, newKeyId, storedIn: ARN, replacedKeyId: oldKeyId };
    } catch (error) {
      const cause = withoutSecret(error, secretAccessKey);
      // Nothing half-done: a key whose secret was never stored would be unusable and hold a slot.
      try {
        await iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: newKeyId }));
      } catch (rollbackError) {
        throw new EnforcementError(
          `${what}: storing new key ${newKeyId} failed, and deleting it failed too: delete it by hand`,
          { cause: new AggregateError([cause, withoutSecret(rollbackError, secretAccessKey)]) },
        );
      }
      const reason = cause instanceof Error ? cause.name : 'unknown error';
      throw new EnforcementError(`${what}: storing the new key failed (${reason}); it was deleted again`, {
        cause,
      });
    }
  }

  async function deactivateReplacedKey(userName: string, keyId: string): Promise<void> {
    await attempt(`deactivate replaced access key ${keyId} of IAM user ${userName}`, () =>
      orMissing(
        iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: keyId, Status: 'Inactive' })),
        NO_SUCH_ENTITY,
      ),
    );
  }

  /** The right-size policies under `/reauth/right-size/` attached to the key's or password's user, or the role. */
  async function rightSizePoliciesOn(target: EnforcementTarget): Promise<string[]> {
    if (target.kind === 'secret') return [];
    return (await attachedUnder(target, RIGHT_SIZE_POLICY_PATH)).flatMap((p) =>
      isRightSizePolicyArn(p.PolicyArn) ? [p.PolicyArn as string] : [],
    );
  }

  async function rightSize(
    target: EnforcementTarget,
    request: { principalArn: string; kept: readonly string[] },
  ): Promise<RightSizeReceipt> {
    const what = `narrow ${describe(target)} to what it used`;
    if (target.kind === 'secret') throw new RightSizeRefused(`${what}: a secret has no IAM user or role`);
    const make = policies.rightSize;
    if (!make) throw new RightSizeRefused(`${what}: this function has no policy writer`);
    return attempt(what, async () => {
      const policyArn = await make(request.principalArn, request.kept);
      const earlier = (await rightSizePoliciesOn(target)).filter((arn) => arn !== policyArn);
      try {
        await attach(target, policyArn);
      } catch (error) {
        if (!isError(error, LIMIT_EXCEEDED)) throw error;
        throw new RightSizeRefused(
          `${what}: it holds as many managed policies as IAM allows, and reauth narrows only by attaching its deny (replacing a boundary could widen access). Detach a policy from it, or narrow it by hand`,
        );
      }
      for (const arn of earlier) await detach(target, arn);
      const boundary =
        target.kind === 'role'
          ? (await iam.send(new GetRoleCommand({ RoleName: target.id }))).Role?.PermissionsBoundary
          : (await iam.send(new GetUserCommand({ UserName: target.principal }))).User?.PermissionsBoundary;
      return {
        policyArn,
        principalArn: request.principalArn,
        kept: fittedKept(request.kept),
        boundary: boundary?.PermissionsBoundaryArn ?? null,
      };
    });
  }

  async function rightSizeAs(target: EnforcementTarget, policyArn: string | null): Promise<void> {
    if (target.kind === 'secret') return;
    if (policyArn !== null && !isRightSizePolicyArn(policyArn))
      throw new EnforcementError(`${policyArn} is not one of reauth's right-size policies`);
    const what = policyArn
      ? `keep ${describe(target)} narrowed by ${policyArn}`
      : `widen ${describe(target)}`;
    await attempt(what, async () => {
      const attached = await rightSizePoliciesOn(target);
      if (policyArn && !attached.includes(policyArn)) await attach(target, policyArn);
      for (const arn of attached) if (arn !== policyArn) await detach(target, arn);
    });
  }

  async function rightSizedBy(target: EnforcementTarget): Promise<string[]> {
    return attempt(`read the right-size of ${describe(target)}`, () => rightSizePoliciesOn(target));
  }

  async function serviceUsage(
    target: EnforcementTarget,
    options: { windowDays: number; now: Date; maxWaitMs?: number },
  ): Promise<ServiceUsage | { unavailable: string }> {
    if (target.kind === 'secret') return { unavailable: 'a secret has no IAM user or role' };
    return attempt(`read what ${describe(target)} uses`, async () => {
      // A key's, a password's or a status credential's principal is its user; a role's is the role.
      const principal =
        target.kind === 'role'
          ? (await orMissing(iam.send(new GetRoleCommand({ RoleName: target.principal })), NO_SUCH_ENTITY))
              ?.Role
          : (await orMissing(iam.send(new GetUserCommand({ UserName: target.principal })), NO_SUCH_ENTITY))
              ?.User;
      if (!principal?.Arn)
        return {
          unavailable: `${target.kind === 'role' ? 'role' : 'IAM user'} ${target.principal} no longer exists`,
        };
      // A reader of its own: its job is this click's, never one read earlier.
      const reader = serviceUsageReader(iam, {
        now: options.now,
        ...(options.maxWaitMs !== undefined && { maxWaitMs: options.maxWaitMs }),
      });
      try {
        return await reader.usageOf(principal.Arn, options.windowDays, principal.CreateDate);
      } catch (error) {
        if (error instanceof ServiceUsageUnavailableError) return { unavailable: error.message };
        throw error;
      }
    });
  }

  return {
    recheck,
    disable,
    restore,
    revokeSessions,
    rotate,
    deactivateReplacedKey,
    rightSize,
    rightSizeAs,
    rightSizedBy,
    serviceUsage,
  };
}

/**
 * An enforcer made at the first change asked of it (once): a caller that may not need to change
 * anything (an event that revokes no session, a click that is refused) assumes no role and asks no
 * account id. A failed making is not kept: the next change tries again.
 */
export function deferredEnforcer(make: () => Promise<Enforcer>): Enforcer {
  let made: Promise<Enforcer> | undefined;
  const enforcer = () => {
    made ??= make();
    made.catch(() => {
      made = undefined;
    });
    return made;
  };
  return {
    recheck: async (target) => (await enforcer()).recheck(target),
    disable: async (target, options) => (await enforcer()).disable(target, options),
    restore: async (target, options) => (await enforcer()).restore(target, options),
    revokeSessions: async (target, before) => (await enforcer()).revokeSessions(target, before),
    rotate: async (target, options) => (await enforcer()).rotate(target, options),
    deactivateReplacedKey: async (user, key) => (await enforcer()).deactivateReplacedKey(user, key),
    rightSize: async (target, request) => (await enforcer()).rightSize(target, request),
    rightSizeAs: async (target, policyArn) => (await enforcer()).rightSizeAs(target, policyArn),
    rightSizedBy: async (target) => (await enforcer()).rightSizedBy(target),
    serviceUsage: async (target, options) => (await enforcer()).serviceUsage(target, options),
  };
}

/** Secret names allow `/_+=.@-` and alphanumerics; IAM user names may also hold a comma. */
function rotatedSecretName(prefix: string, userName: string, keyId: string): string {
  return `${prefix}${userName.replace(/,/g, '-')}/${keyId}`;
}

/** A UUID-shaped token (RotateSecret wants 32–64 characters) that is the same for the same secret and `now`. */
function rotationToken(secretArn: string, now: Date): string {
  const hex = createHash('sha256').update(`${secretArn}\n${now.toISOString()}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

interface ParsedPolicy {
  document: Record<string, unknown>;
  statements: unknown[];
}

function parsePolicy(policy: string): ParsedPolicy {
  const document: unknown = JSON.parse(policy);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new Error('the resource policy is not a JSON object');
  }
  const statement = (document as { Statement?: unknown }).Statement;
  const statements = statement === undefined ? [] : Array.isArray(statement) ? statement : [statement];
  return { document: document as Record<string, unknown>, statements };
}

function describe(target: EnforcementTarget): string {
  if (isStatusCredential(target.kind))
    return `${STATUS_CREDENTIAL_NAMES[target.kind]} ${target.id} of IAM user ${target.principal}`;
  switch (target.kind) {
    case 'access-key':
      return `access key ${target.id} of IAM user ${target.principal}`;
    case 'secret':
      return `secret ${target.id}`;
    case 'role':
      return `role ${target.id}`;
    case 'password':
      return `console password of IAM user ${target.id}`;
  }
}

/**
 * 32 random characters from every class an account password policy can require (upper, lower,
 * digits, symbols), each class present: long enough for any policy's minimum length.
 */
function randomPassword(): string {
  const classes = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!@#$%^&*()_+-=[]{}'];
  const all = classes.join('');
  const bytes = randomBytes(32);
  const chars = [...bytes].map((b, i) => {
    const from = i < classes.length ? (classes[i] as string) : all;
    return from[b % from.length] as string;
  });
  return chars.join('');
}

async function listAccessKeys(iam: IAMClient, userName: string): Promise<AccessKeyMetadata[] | undefined> {
  const keys: AccessKeyMetadata[] = [];
  let marker: string | undefined;
  do {
    const page = await orMissing(
      iam.send(new ListAccessKeysCommand({ UserName: userName, Marker: marker })),
      NO_SUCH_ENTITY,
    );
    if (!page) return undefined;
    keys.push(...(page.AccessKeyMetadata ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return keys;
}

function describeSecret(
  secretsManager: SecretsManagerClient,
  secretId: string,
): Promise<DescribeSecretCommandOutput | undefined> {
  return orMissing(
    secretsManager.send(new DescribeSecretCommand({ SecretId: secretId })),
    RESOURCE_NOT_FOUND,
  );
}

function isError(error: unknown, names: readonly string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

/** The latest moment among reauth's session policies attached (ISO), or undefined. */
function latestRevocation(attached: readonly AttachedPolicy[]): string | undefined {
  const moments = attached.flatMap((p) => revokedBeforeOfArn(p.PolicyArn) ?? []);
  return moments.sort().at(-1);
}

/** The call's result, or undefined when it failed because the resource does not exist. */
async function orMissing<T>(call: Promise<T>, missing: readonly string[]): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof Error && missing.includes(error.name)) return undefined;
    throw error;
  }
}

/** Runs `act`, turning any failure into an EnforcementError that says what was being done. */
async function attempt<T>(what: string, act: () => Promise<T>): Promise<T> {
  try {
    return await act();
  } catch (error) {
    if (error instanceof EnforcementError) throw error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new EnforcementError(`${what} failed (${reason})`, { cause: error });
  }
}

/** The error as is, unless something in it holds `secret`: then a copy with its text withheld. */
function withoutSecret(error: unknown, secret: string): unknown {
  // inspect shows the message, the stack, every own property and the cause chain.
  if (!inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true }).includes(secret)) return error;
  const name = error instanceof Error ? error.name : 'Error';
  const clean = new Error(`${name} (its message held the secret access key and was withheld)`);
  clean.name = name;
  return clean;
}
