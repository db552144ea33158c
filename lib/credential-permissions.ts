import { Aws, Validations } from 'aws-cdk-lib';
import { Effect, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type PolicyConfig, revokesSessionsOn } from '../lambdas/shared/domain/policy';
import { ROTATABLE_TAG } from '../lambdas/shared/domain/reauth-marks';

/** Where a grant applies: the resource pattern as IAM reads it, and as cdk-nag names it in a finding. */
export interface CredentialScope {
  readonly arn: string;
  readonly finding: string;
}

/** Calls that take no resource ARN, or whose resource is whichever credential has a finding. */
export const ANY_RESOURCE: CredentialScope = { arn: '*', finding: '*' };
/** Every IAM user of the account: any user's key may be flagged. */
export const ANY_USER: CredentialScope = {
  arn: `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:user/*`,
  finding: 'arn:<AWS::Partition>:iam::<AWS::AccountId>:user/*',
};
/** Every IAM role of the account: any third-party role may be flagged. */
export const ANY_ROLE: CredentialScope = {
  arn: `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/*`,
  finding: 'arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*',
};
/** Every secret of the account, in the stack's region: any secret may be flagged. */
export const ANY_SECRET: CredentialScope = {
  arn: `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:*`,
  finding: 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:*',
};
/** Where rotation stores new key pairs: `reauth/rotated/<user>/<keyId>` (see the enforcement adapter). */
export const ROTATED_KEY_SECRETS: CredentialScope = {
  arn: `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:reauth/rotated/*`,
  finding: 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:reauth/rotated/*',
};

/** The account's customer managed policies: any may be attached to a flagged principal. */
export const ANY_POLICY: CredentialScope = {
  arn: `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy/*`,
  finding: 'arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/*',
};
/** AWS managed policies (`AdministratorAccess`, `AWSCompromisedKeyQuarantineV2`): published by AWS, readable by all. */
export const AWS_MANAGED_POLICY: CredentialScope = {
  arn: `arn:${Aws.PARTITION}:iam::aws:policy/*`,
  finding: 'arn:<AWS::Partition>:iam::aws:policy/*',
};
/** The account's IAM groups: a change to any of them reaches its members' keys. */
export const ANY_GROUP: CredentialScope = {
  arn: `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:group/*`,
  finding: 'arn:<AWS::Partition>:iam::<AWS::AccountId>:group/*',
};

/** Actions on IAM or Secrets Manager, the scope they need and why that scope cannot be narrower. */
export interface CredentialGrant {
  readonly scope: CredentialScope;
  readonly actions: readonly string[];
  /** IAM conditions that narrow the grant further (what it may act on, beyond the scope's ARN). */
  readonly conditions?: Record<string, Record<string, string | string[]>>;
  /** Why the scope is a wildcard: kept as the reason of the cdk-nag acknowledgement. */
  readonly reason: string;
}

/** The scan's only IAM and Secrets Manager calls, all reads (sts:GetCallerIdentity needs no grant). */
export const SCAN_READ_ACTIONS = [
  'iam:GenerateCredentialReport',
  'iam:GetCredentialReport',
  'iam:GetAccountAuthorizationDetails',
  'iam:ListAccessKeys',
  'secretsmanager:ListSecrets',
] as const;

/** Every action that changes IAM or Secrets Manager: granted only in enforce mode. */
export const CREDENTIAL_WRITE_ACTIONS = [
  'iam:UpdateAccessKey',
  'iam:CreateAccessKey',
  'iam:DeleteAccessKey',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:PutUserPolicy',
  'iam:DeleteUserPolicy',
  'secretsmanager:PutResourcePolicy',
  'secretsmanager:DeleteResourcePolicy',
  'secretsmanager:RotateSecret',
  'secretsmanager:CreateSecret',
  'secretsmanager:TagResource',
] as const;

const SCAN_GRANT: CredentialGrant = {
  scope: ANY_RESOURCE,
  actions: SCAN_READ_ACTIONS,
  reason:
    'Read-only inventory calls with no resource ARN to scope to: iam:GenerateCredentialReport, iam:GetCredentialReport, iam:GetAccountAuthorizationDetails and secretsmanager:ListSecrets are account-wide; iam:ListAccessKeys is called for whichever user holds a key with a finding.',
};

const POLICY_READ_ACTIONS = [
  'iam:GetPolicy',
  'iam:GetPolicyVersion',
  'iam:ListPolicyVersions',
  'iam:ListEntitiesForPolicy',
] as const;
const POLICY_READ_REASON =
  "The trust-events consumer judges a policy attached to a user, group or role, a new default version or a permissions boundary by its document (iam:GetPolicy, iam:GetPolicyVersion, iam:ListPolicyVersions for the default it replaced) and reaches every principal a changed policy is attached to (iam:ListEntitiesForPolicy); the policy is whichever an event names, so the scope is every managed policy, the account's and AWS's. Reads only.";

/**
 * What the trust-events consumer reads beyond the inventory (`GrantReader`): managed policies'
 * documents and principals, and groups' members. Reads only; the hub's consumer holds them, and so
 * does each member's reader role, through which the consumer reads a member account.
 */
export function changeReadGrants(): CredentialGrant[] {
  return [
    { scope: ANY_POLICY, actions: POLICY_READ_ACTIONS, reason: POLICY_READ_REASON },
    { scope: AWS_MANAGED_POLICY, actions: POLICY_READ_ACTIONS, reason: POLICY_READ_REASON },
    {
      scope: ANY_GROUP,
      actions: ['iam:GetGroup'],
      reason:
        "A policy attached to or put on a group, or a managed policy attached to one, reaches every member's access keys: the trust-events consumer lists the group's members (iam:GetGroup); the group is whichever an event names, so the scope is the account's groups. A read.",
    },
  ];
}

/**
 * Rotation mints a new key, which would give whoever holds reauth's role a working key for any user,
 * an administrator included. So it is admitted only on users that carry `reauth:rotatable=true`, a tag
 * a platform team sets and reauth cannot (it holds no tagging grant at all).
 */
const ROTATION_KEY_CREATION: CredentialGrant = {
  scope: ANY_USER,
  actions: ['iam:CreateAccessKey'],
  conditions: { StringEquals: { [`iam:ResourceTag/${ROTATABLE_TAG.key}`]: ROTATABLE_TAG.value } },
  reason:
    "Rotating an access key creates its replacement (iam:CreateAccessKey), only for users a platform team tagged reauth:rotatable=true, a tag reauth has no grant to set; which user is known only when an owner asks, so the scope is the account's users under that condition.",
};

/** What the daily scan needs, in either mode: reads only. */
export function scanGrants(): CredentialGrant[] {
  return [SCAN_GRANT];
}

/**
 * What the trust-events consumer needs: reads (it resolves an owner's or a tag's credentials from the
 * scan's inventory, then re-reads the one user's keys or the one secret an event names). In enforce
 * mode with `revokeSessionsOn` naming `owner-departed` or `scope-changed`, also the one write that
 * ends sessions as such a request opens: putting `reauth-revoke-sessions` on a user or a role. Never
 * a read of it, a delete, or any change to a key, a secret or another policy.
 */
export function eventsGrants(policy: PolicyConfig): CredentialGrant[] {
  // The inventory's reads find the credentials an event names (a user's keys, a role, a secret, an
  // owner's or a tag's credentials): no per-credential grant beyond them.
  if (!eventsRevokeSessions(policy)) return [SCAN_GRANT, ...changeReadGrants()];
  return [
    SCAN_GRANT,
    ...changeReadGrants(),
    {
      scope: ANY_USER,
      actions: ['iam:PutUserPolicy'],
      reason:
        "With enforcement.revokeSessionsOn owner-departed or scope-changed, the trust-events consumer ends an access key's sessions issued before the event when the event opens a request: an inline policy named reauth-revoke-sessions on the key's user, denying requests made with temporary credentials issued before then (iam:PutUserPolicy; the key stays usable for new sessions). Any IAM user of this account may hold a flagged key, so the scope is the account's users.",
    },
    {
      scope: ANY_ROLE,
      actions: ['iam:PutRolePolicy'],
      reason:
        "With enforcement.revokeSessionsOn owner-departed or scope-changed, the trust-events consumer ends a role's sessions issued before the event when the event opens a request: an inline policy named reauth-revoke-sessions on the role (iam:PutRolePolicy; the role stays assumable). Any role of this account trusted by another account may be flagged, so the scope is the account's roles.",
    },
  ];
}

/** The `revokeSessionsOn` moments the trust-events consumer acts on. */
const EVENT_REVOCATION_MOMENTS = ['owner-departed', 'scope-changed'] as const;

/**
 * Whether the trust-events consumer may end sessions under this policy: in enforce mode, with
 * `revokeSessionsOn` naming `owner-departed` or `scope-changed`.
 */
export function eventsRevokeSessions(policy: PolicyConfig): boolean {
  return EVENT_REVOCATION_MOMENTS.some((moment) => revokesSessionsOn(policy, moment));
}

/**
 * What the hourly enforce job needs: the scan's reads (it scans first); in enforce mode also the
 * re-check before a disable, the disable itself and its undo when an owner answered meanwhile.
 */
export function enforceGrants(mode: PolicyConfig['mode']): CredentialGrant[] {
  if (mode !== 'enforce') return [SCAN_GRANT];
  return [
    SCAN_GRANT,
    {
      scope: ANY_USER,
      actions: ['iam:GetAccessKeyLastUsed', 'iam:ListAccessKeys', 'iam:UpdateAccessKey'],
      reason:
        "Enforce mode re-checks (iam:GetAccessKeyLastUsed, iam:ListAccessKeys: before a disable, and that a key it disabled is still Inactive) and deactivates (iam:UpdateAccessKey) access keys whose owner did not reauthorize them by the deadline; any IAM user of this account may hold such a key, so the scope is the account's users, not one user. Protected principals are excluded in code, before any call.",
    },
    USER_SESSION_REVOCATION,
    {
      scope: ANY_ROLE,
      actions: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
      reason:
        "Enforce mode re-checks a third-party role (iam:GetRole) and whether reauth's deny-all inline policy and its reauth-revoke-sessions policy are still on a role it disabled (iam:GetRolePolicy: drift), disables it with that policy and ends its sessions issued before then with the other (iam:PutRolePolicy), and removes them if the owner answered meanwhile (iam:DeleteRolePolicy); any role of this account trusted by another account may be flagged, so the scope is the account's roles.",
    },
    {
      scope: ANY_SECRET,
      actions: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetResourcePolicy',
        'secretsmanager:PutResourcePolicy',
        'secretsmanager:DeleteResourcePolicy',
      ],
      reason:
        "Enforce mode re-checks a secret (secretsmanager:DescribeSecret), keeps its resource policy (GetResourcePolicy) and replaces it with one that denies reads (PutResourcePolicy), undone with DeleteResourcePolicy/PutResourcePolicy on a race; any secret of this account may be flagged, so the scope is the account's secrets in this region.",
    },
  ];
}

/**
 * Ending the sessions of an access key's user (its `reauth-revoke-sessions` inline policy): put with
 * the disable, read by the drift re-check, deleted by a restore. Roles use the role policy actions the
 * disable already needs.
 */
const USER_SESSION_REVOCATION: CredentialGrant = {
  scope: ANY_USER,
  actions: ['iam:GetUserPolicy', 'iam:PutUserPolicy', 'iam:DeleteUserPolicy'],
  reason:
    "Enforce mode ends the sessions an access key handed out when it disables the key: an inline policy named reauth-revoke-sessions on the key's user, denying requests made with temporary credentials issued before that moment (iam:PutUserPolicy), read back to see it is still there (iam:GetUserPolicy: drift) and removed on restore (iam:DeleteUserPolicy); any IAM user of this account may hold such a key, so the scope is the account's users.",
};

/**
 * What the Slack worker needs: nothing on IAM or Secrets Manager in report mode (it refuses every
 * change); in enforce mode what an owner may ask for: disable, restore and rotate.
 */
export function workerGrants(mode: PolicyConfig['mode']): CredentialGrant[] {
  if (mode !== 'enforce') return [];
  return [
    {
      scope: ANY_USER,
      actions: [
        'iam:GetAccessKeyLastUsed',
        'iam:ListAccessKeys',
        'iam:ListUserTags',
        'iam:UpdateAccessKey',
        'iam:DeleteAccessKey',
      ],
      reason:
        "An owner may ask in Slack to disable, restore or rotate any access key reauth asked them about: deactivate/reactivate (iam:UpdateAccessKey), rotate (iam:ListAccessKeys, iam:ListUserTags to see the user is marked rotatable, iam:DeleteAccessKey to free a slot) and re-check (iam:GetAccessKeyLastUsed); any IAM user of this account may hold one, so the scope is the account's users.",
    },
    ROTATION_KEY_CREATION,
    USER_SESSION_REVOCATION,
    {
      scope: ANY_ROLE,
      actions: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
      reason:
        "An owner may ask in Slack to disable (deny-all inline policy, iam:PutRolePolicy, and the reauth-revoke-sessions policy that ends its sessions issued before then) or restore (iam:DeleteRolePolicy, after iam:GetRolePolicy reads that the revocation is reauth's) a third-party role, after iam:GetRole; any role of this account trusted by another account may be flagged, so the scope is the account's roles.",
    },
    {
      scope: ANY_SECRET,
      actions: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetResourcePolicy',
        'secretsmanager:PutResourcePolicy',
        'secretsmanager:DeleteResourcePolicy',
        'secretsmanager:RotateSecret',
      ],
      reason:
        "An owner may ask in Slack to disable (a resource policy that denies reads: Get/PutResourcePolicy), restore (Put/DeleteResourcePolicy) or rotate (secretsmanager:RotateSecret, after DescribeSecret) any secret reauth asked them about; any secret of this account may be flagged, so the scope is the account's secrets in this region.",
    },
    {
      scope: ROTATED_KEY_SECRETS,
      actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
      reason:
        "Rotating an access key stores the new key pair as a new secret named reauth/rotated/<user>/<keyId>, tagged with its owner (secretsmanager:CreateSecret, secretsmanager:TagResource); the names are only known at rotation time, so the scope is reauth's own rotated/ prefix, nothing else.",
    },
  ];
}

/**
 * Grants each set of actions on its scope to the role (a function's, or a member account's
 * `reauth-reader` or `reauth-enforcer`) and acknowledges the wildcard finding with its reason, once per
 * scope (a scope used by several grants joins their reasons).
 */
export function grantCredentialAccess(role: IRole, grants: readonly CredentialGrant[]): void {
  const reasons = new Map<string, string[]>();
  for (const grant of grants) {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [...grant.actions],
        resources: [grant.scope.arn],
        ...(grant.conditions && { conditions: grant.conditions }),
      }),
    );
    reasons.set(grant.scope.finding, [...(reasons.get(grant.scope.finding) ?? []), grant.reason]);
  }
  for (const [finding, why] of reasons) {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${finding}]`,
      reason: why.join(' '),
    });
  }
}

/**
 * Keeps every role that may change IAM off reauth's own roles: an explicit deny of every IAM action on
 * them, which no allow can outweigh. Whoever holds the enforce job's, the Slack worker's or the events
 * consumer's role (or a member's `reauth-enforcer`) cannot rewrite a reauth role's policies or trust to
 * lend itself more, nor touch the reader's: reauth's roles are never a credential it acts on (they are
 * protected principals), so the deny costs nothing it does.
 */
export function keepOffOwnRoles(writers: readonly IRole[], own: readonly IRole[]): void {
  for (const writer of writers) {
    writer.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'NeverReauthsOwnRoles',
        effect: Effect.DENY,
        actions: ['iam:*'],
        resources: own.map((role) => role.roleArn),
      }),
    );
  }
}
