import { Aws, Validations } from 'aws-cdk-lib';
import { Effect, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type PolicyConfig, revokesSessionsOn } from '../lambdas/shared/domain/policy';
import {
  REAUTH_POLICY_PATH,
  ROLE_DISABLE_POLICY_NAME,
  ROTATABLE_TAG,
  SESSIONS_POLICY_PATH,
} from '../lambdas/shared/domain/reauth-marks';
import { RIGHT_SIZE_POLICY_PATH } from '../lambdas/shared/domain/right-size';

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

/** reauth's session policies (`/reauth/sessions/`): the writer creates and deletes them, the enforcer attaches them. */
export const SESSION_POLICIES: CredentialScope = {
  arn: `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy${SESSIONS_POLICY_PATH}*`,
  finding: `arn:<AWS::Partition>:iam::<AWS::AccountId>:policy${SESSIONS_POLICY_PATH}*`,
};

/** reauth's right-size policies (`/reauth/right-size/`): the writer creates them, the Slack worker attaches them. */
export const RIGHT_SIZE_POLICIES: CredentialScope = {
  arn: `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy${RIGHT_SIZE_POLICY_PATH}*`,
  finding: `arn:<AWS::Partition>:iam::<AWS::AccountId>:policy${RIGHT_SIZE_POLICY_PATH}*`,
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
  'iam:ListSigningCertificates',
  'iam:ListSSHPublicKeys',
  'iam:ListServiceSpecificCredentials',
  // What a request's user or role uses (#25): one job per principal asked about, read-only.
  'iam:GenerateServiceLastAccessedDetails',
  'iam:GetServiceLastAccessedDetails',
  'secretsmanager:ListSecrets',
] as const;

/**
 * The status changes of a user's signing certificates, SSH keys and service-specific credentials: all
 * reauth does to them. Like UpdateAccessKey, each sets Active or Inactive on a credential that exists
 * and can make none, so a restore gives back only what was there.
 */
const STATUS_CREDENTIAL_UPDATES = [
  'iam:UpdateSigningCertificate',
  'iam:UpdateSSHPublicKey',
  'iam:UpdateServiceSpecificCredential',
] as const;

/** Every action that changes IAM or Secrets Manager: granted only in enforce mode. */
export const CREDENTIAL_WRITE_ACTIONS = [
  'iam:UpdateAccessKey',
  ...STATUS_CREDENTIAL_UPDATES,
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
  'iam:CreatePolicy',
  'iam:DeletePolicy',
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
    'Read-only inventory calls with no resource ARN to scope to: iam:GenerateCredentialReport, iam:GetCredentialReport, iam:GetAccountAuthorizationDetails, iam:ListServiceSpecificCredentials (of all users) and secretsmanager:ListSecrets are account-wide; iam:ListAccessKeys is called for whichever user holds a key with a finding, iam:ListSigningCertificates for each user the credential report shows with a certificate, iam:ListSSHPublicKeys for every user (IAM lists SSH keys only per user); iam:GenerateServiceLastAccessedDetails and iam:GetServiceLastAccessedDetails for the users and roles a request opens for (the job id IAM returns has no ARN).',
};

/** Every stack of the account, in any region: the stack that created a principal names its owner. */
export const ANY_STACK: CredentialScope = {
  arn: `arn:${Aws.PARTITION}:cloudformation:*:${Aws.ACCOUNT_ID}:stack/*/*`,
  finding: 'arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:stack/*/*',
};

/**
 * The scan's reads: the inventory, and the owner tags of the stacks that created principals (the
 * `stack` owner source). DescribeStacks also shows a stack's parameters (not NoEcho ones) and
 * outputs: a read of configuration, never of a secret value Secrets Manager holds.
 */
const SCAN_GRANTS: CredentialGrant[] = [
  SCAN_GRANT,
  {
    scope: ANY_STACK,
    actions: ['cloudformation:DescribeStacks'],
    reason:
      "A principal created by a CloudFormation stack (its aws:cloudformation:stack-id tag) is owned by whoever the stack's owner tag names (cloudformation:DescribeStacks, once per stack and run); the stack is whichever created a principal, in whichever region, so the scope is the account's stacks. A read.",
  },
];

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

/**
 * Disabling a console password deletes the user's login profile (iam:DeleteLoginProfile), after
 * reading it and the user's last sign-in (iam:GetLoginProfile, iam:GetUser): access taken away only.
 */
const PASSWORD_DISABLE: CredentialGrant = {
  scope: ANY_USER,
  actions: ['iam:GetUser', 'iam:GetLoginProfile', 'iam:DeleteLoginProfile'],
  reason:
    "Enforce mode re-checks a console password (iam:GetUser for its last sign-in, iam:GetLoginProfile) and disables one whose owner did not reauthorize it by deleting the user's login profile (iam:DeleteLoginProfile; MFA devices are left alone); any IAM user of this account may have a password, so the scope is the account's users.",
};

/**
 * Disabling a signing certificate, SSH key or service-specific credential sets it Inactive, and a
 * restore sets it Active: after re-reading it (the List* of the user's, which the scan grants too).
 */
const STATUS_CREDENTIAL_CHANGE: CredentialGrant = {
  scope: ANY_USER,
  actions: [
    'iam:ListSigningCertificates',
    'iam:ListSSHPublicKeys',
    'iam:ListServiceSpecificCredentials',
    ...STATUS_CREDENTIAL_UPDATES,
  ],
  reason:
    "Enforce mode re-checks (iam:ListSigningCertificates, iam:ListSSHPublicKeys, iam:ListServiceSpecificCredentials) and disables a user's signing certificate, SSH public key or service-specific credential whose owner did not reauthorize it by setting it Inactive, and an owner's Restore sets it Active (iam:UpdateSigningCertificate, iam:UpdateSSHPublicKey, iam:UpdateServiceSpecificCredential: a status change of a credential that exists, never a new one); any IAM user of this account may hold one, so the scope is the account's users.",
};

/**
 * Restoring a console password reauth disabled makes a new login profile, since IAM keeps no deleted
 * password: a restore of access the owner had, never more (the user's permissions are untouched). Yet
 * a new password is a new credential that whoever holds reauth's role could set and sign in with, so
 * it is admitted only where rotation may mint keys: users a platform team tagged `reauth:rotatable=true`.
 */
const PASSWORD_RESTORE: CredentialGrant = {
  scope: ANY_USER,
  actions: ['iam:CreateLoginProfile'],
  conditions: { StringEquals: { [`iam:ResourceTag/${ROTATABLE_TAG.key}`]: ROTATABLE_TAG.value } },
  reason:
    "Restoring a console password reauth disabled (an owner's Restore in Slack) re-creates the login profile it deleted (iam:CreateLoginProfile) with a random password that must be changed at the first sign-in, stored in a secret under reauth/rotated/: the access the owner had, given back. Only for users a platform team tagged reauth:rotatable=true, a tag reauth has no grant to set; which user is known only when an owner asks, so the scope is the account's users under that condition.",
};

/** What the daily scan needs, in either mode: reads only. */
export function scanGrants(): CredentialGrant[] {
  return SCAN_GRANTS;
}

/**
 * What the trust-events consumer needs: reads (it resolves an owner's or a tag's credentials from the
 * scan's inventory, then re-reads the one user's keys or the one secret an event names). In enforce
 * mode with `revokeSessionsOn` naming `owner-departed` or `scope-changed`, also what ends sessions as
 * such a request opens: attaching reauth's session policies to a user or a role (and detaching its
 * earlier one). Never any change to a key, a secret or another policy.
 */
export function eventsGrants(policy: PolicyConfig): CredentialGrant[] {
  // The inventory's reads find the credentials an event names (a user's keys, a role, a secret, an
  // owner's or a tag's credentials): no per-credential grant beyond them. No stack reads: an event's
  // evaluation takes the owner the last scan found from a stack from the credential's state.
  if (!eventsRevokeSessions(policy)) return [SCAN_GRANT, ...changeReadGrants()];
  return [SCAN_GRANT, ...changeReadGrants(), ...SESSION_REVOCATION];
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
export function enforceGrants(
  mode: PolicyConfig['mode'],
  /** The deny-all it attaches: `<namePrefix>-disabled` in a hub, `reauth-disabled` in a member. */
  disablePolicyName: string = ROLE_DISABLE_POLICY_NAME,
): CredentialGrant[] {
  if (mode !== 'enforce') return SCAN_GRANTS;
  return [
    ...SCAN_GRANTS,
    {
      scope: ANY_USER,
      actions: ['iam:GetAccessKeyLastUsed', 'iam:ListAccessKeys', 'iam:UpdateAccessKey'],
      reason:
        "Enforce mode re-checks (iam:GetAccessKeyLastUsed, iam:ListAccessKeys: before a disable, and that a key it disabled is still Inactive) and deactivates (iam:UpdateAccessKey) access keys whose owner did not reauthorize them by the deadline; any IAM user of this account may hold such a key, so the scope is the account's users, not one user. Protected principals are excluded in code, before any call.",
    },
    PASSWORD_DISABLE,
    STATUS_CREDENTIAL_CHANGE,
    ...SESSION_REVOCATION,
    // A right-size or widen a crash left half-done is put back to what the record holds (issue #25).
    ...RIGHT_SIZE_ATTACH,
    ...roleDisable(disablePolicyName),
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

/** `iam:PolicyARN` is one of reauth's session policies: what the enforcer may attach to a user. */
const SESSION_POLICY_ARN = {
  ArnLike: { 'iam:PolicyARN': `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy${SESSIONS_POLICY_PATH}*` },
};
/** `iam:PolicyARN` is one of reauth's right-size policies (each a deny of all but what was used). */
const RIGHT_SIZE_POLICY_ARN = {
  ArnLike: {
    'iam:PolicyARN': `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy${RIGHT_SIZE_POLICY_PATH}*`,
  },
};

/**
 * *Still needed, only what it uses* (issue #25): attaching reauth's right-size deny to a key's or a
 * password's user or to a role, and detaching it (*Widen*, *Restore*, a narrower one replacing it).
 * What a holder of the role can do with it: attach and detach policies under `/reauth/right-size/`,
 * each a deny the writer built from action names, so take access away from any principal of the
 * account (as the disable can) and give back only what reauth's deny took; never attach any other
 * policy, never set or delete a permissions boundary (so never swap a team's boundary for a laxer
 * one, nor remove one), never write a document. Only someone holding both this role and the writer's
 * could attach a document of their own there, as for session policies. reauth's own roles stay out of
 * reach (`keepOffOwnRoles`).
 */
const RIGHT_SIZE_ATTACH: CredentialGrant[] = [
  {
    scope: ANY_ROLE,
    actions: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
    conditions: RIGHT_SIZE_POLICY_ARN,
    reason:
      "An owner's Still needed, only what it uses attaches reauth's right-size deny to the role and Widen or Restore detaches it, and the enforce job puts back the one the record holds when such a change stopped half-done (iam:AttachRolePolicy, iam:DetachRolePolicy), only policies under /reauth/right-size/ (iam:PolicyARN), each a deny; any role an owner was asked about may be narrowed, so the scope is the account's roles.",
  },
  {
    scope: ANY_USER,
    actions: ['iam:AttachUserPolicy', 'iam:DetachUserPolicy'],
    conditions: RIGHT_SIZE_POLICY_ARN,
    reason:
      "An owner's Still needed, only what it uses attaches reauth's right-size deny to the key's or password's user and Widen or Restore detaches it, and the enforce job puts back the one the record holds when such a change stopped half-done (iam:AttachUserPolicy, iam:DetachUserPolicy), only policies under /reauth/right-size/ (iam:PolicyARN), each a deny; any user an owner was asked about may be narrowed, so the scope is the account's users.",
  },
];

/**
 * What *Still needed, only what it uses* reads at the click, before it narrows (issue #25): a new IAM
 * service last-accessed job of the key's or password's user or of the role
 * (iam:GenerateServiceLastAccessedDetails), read by its job id (iam:GetServiceLastAccessedDetails).
 * Reads only; the user's or role's ARN and creation come from iam:GetUser and iam:GetRole, which the
 * password and role grants give already.
 */
export const RIGHT_SIZE_READS: CredentialGrant[] = [
  {
    scope: ANY_USER,
    actions: ['iam:GenerateServiceLastAccessedDetails'],
    reason:
      "An owner's Still needed, only what it uses reads what the key's or password's user used, at the click (iam:GenerateServiceLastAccessedDetails): any user an owner was asked about may be narrowed, so the scope is the account's users. A read.",
  },
  {
    scope: ANY_ROLE,
    actions: ['iam:GenerateServiceLastAccessedDetails'],
    reason:
      "An owner's Still needed, only what it uses reads what the role used, at the click (iam:GenerateServiceLastAccessedDetails): any role an owner was asked about may be narrowed, so the scope is the account's roles. A read.",
  },
  {
    scope: ANY_RESOURCE,
    actions: ['iam:GetServiceLastAccessedDetails'],
    reason:
      "iam:GetServiceLastAccessedDetails reads the job an owner's Still needed, only what it uses started; it takes a job id and no resource ARN. A read.",
  },
];

/** This copy's deny-all, exactly: `reauth-disabled` in a member, `<namePrefix>-disabled` in a hub. */
const roleDisablePolicyArn = (name: string) =>
  `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy${REAUTH_POLICY_PATH}${name}`;

/**
 * Ending the sessions a key's user or a role handed out: attaching reauth's
 * `reauth-sessions-before-<moment>` (made by the session policy writer, which the caller invokes) and
 * detaching reauth's earlier one, read back for drift. Attach and detach admit only reauth's session
 * policies, each a deny: whoever holds the role can end sessions, and undo that, never grant.
 */
const SESSION_REVOCATION: CredentialGrant[] = [
  {
    scope: ANY_USER,
    actions: ['iam:AttachUserPolicy', 'iam:DetachUserPolicy'],
    conditions: SESSION_POLICY_ARN,
    reason:
      "Ending the sessions an access key's user handed out attaches reauth's reauth-sessions-before-<moment> policy (a deny on aws:TokenIssueTime) to the user and detaches its earlier one (iam:AttachUserPolicy, iam:DetachUserPolicy), only for policies under /reauth/sessions/ (iam:PolicyARN); any IAM user of this account may hold a flagged key, so the scope is the account's users.",
  },
  {
    scope: ANY_USER,
    actions: ['iam:ListAttachedUserPolicies'],
    reason:
      "The drift re-check and the restore read which of reauth's policies are attached to a key's user (iam:ListAttachedUserPolicies, under /reauth/); any user may hold a flagged key. A read.",
  },
  {
    scope: ANY_ROLE,
    actions: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
    conditions: SESSION_POLICY_ARN,
    reason:
      "Ending a role's sessions attaches reauth's reauth-sessions-before-<moment> policy and detaches its earlier one (iam:AttachRolePolicy, iam:DetachRolePolicy), only policies under /reauth/sessions/ (iam:PolicyARN), each a deny; any role of this account trusted by another account may be flagged, so the scope is the account's roles.",
  },
  {
    scope: ANY_ROLE,
    actions: ['iam:GetRole', 'iam:ListAttachedRolePolicies'],
    reason:
      "Re-checking a role (iam:GetRole: its last use and boundary) and which of reauth's policies are attached to it (iam:ListAttachedRolePolicies); any role trusted by another account may be flagged. Reads.",
  },
];

/**
 * Disabling a role: attaching the stack's deny-all, or, at IAM's quota of attached policies, making it
 * the role's permissions boundary where the role has none; restoring takes off only that policy and
 * that boundary (`iam:PolicyARN`, `iam:PermissionsBoundary` are reauth's deny-all).
 */
const roleDisableGrants = (name: string): CredentialGrant[] => [
  {
    scope: ANY_ROLE,
    actions: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
    conditions: { ArnEquals: { 'iam:PolicyARN': roleDisablePolicyArn(name) } },
    reason:
      "Disabling a role attaches the stack's <prefix>-disabled (a deny of everything, under /reauth/) and restoring detaches it (iam:AttachRolePolicy, iam:DetachRolePolicy), only that policy (iam:PolicyARN); any role of this account trusted by another account may be flagged, so the scope is the account's roles.",
  },
  {
    scope: ANY_ROLE,
    actions: ['iam:PutRolePermissionsBoundary', 'iam:DeleteRolePermissionsBoundary'],
    conditions: { ArnEquals: { 'iam:PermissionsBoundary': roleDisablePolicyArn(name) } },
    reason:
      "A role at IAM's quota of attached managed policies is disabled by making reauth's deny-all its permissions boundary (iam:PutRolePermissionsBoundary) where it has none, and restored by deleting that boundary (iam:DeleteRolePermissionsBoundary), only when the boundary is reauth's (iam:PermissionsBoundary); any role trusted by another account may be flagged, so the scope is the account's roles.",
  },
];
/** One list per name, so that grants joined from several jobs (a member's enforcer) are not repeated. */
const ROLE_DISABLE = new Map<string, CredentialGrant[]>();
const roleDisable = (name: string) => {
  const grants = ROLE_DISABLE.get(name) ?? roleDisableGrants(name);
  ROLE_DISABLE.set(name, grants);
  return grants;
};

/**
 * What the session policy writer needs, and nothing else: create, read and delete reauth's session
 * policies, list them to sweep expired ones, and detach an expired one wherever it is attached. It
 * attaches nothing, and creates nothing outside `/reauth/sessions/`; it never makes a new version of a
 * policy (which could turn an attached deny into an allow).
 */
export function sessionPolicyWriterGrants(): CredentialGrant[] {
  return [
    {
      scope: SESSION_POLICIES,
      actions: [
        'iam:CreatePolicy',
        'iam:GetPolicy',
        'iam:GetPolicyVersion',
        'iam:DeletePolicy',
        'iam:ListEntitiesForPolicy',
      ],
      reason:
        "The session policy writer creates reauth-sessions-before-<moment> (a deny on aws:TokenIssueTime, its document fixed in code) under /reauth/sessions/, reads one back when its name is taken (iam:GetPolicy, iam:GetPolicyVersion), and deletes expired ones after detaching them (iam:ListEntitiesForPolicy, iam:DeletePolicy); the moments are known only when a revocation happens, so the scope is reauth's path, nothing else.",
    },
    {
      scope: RIGHT_SIZE_POLICIES,
      actions: ['iam:CreatePolicy', 'iam:GetPolicy', 'iam:GetPolicyVersion'],
      reason:
        "The writer creates a principal's right-size policy (a deny of all but the actions it used, its document built in code from action names) under /reauth/right-size/, named by a digest of the principal and the actions, and reads one back when its name is taken (iam:GetPolicy, iam:GetPolicyVersion); the principals are known only when an owner asks, so the scope is reauth's path, nothing else.",
    },
    {
      scope: ANY_RESOURCE,
      actions: ['iam:ListPolicies'],
      reason:
        'iam:ListPolicies takes no resource ARN; the writer lists only the /reauth/sessions/ path. A read.',
    },
    {
      scope: ANY_USER,
      actions: ['iam:DetachUserPolicy'],
      conditions: SESSION_POLICY_ARN,
      reason:
        "An expired session policy (older than the longest session, 36 hours) is detached from every user before it is deleted, only reauth's session policies (iam:PolicyARN); the users are whichever it was attached to.",
    },
    {
      scope: ANY_ROLE,
      actions: ['iam:DetachRolePolicy'],
      conditions: SESSION_POLICY_ARN,
      reason:
        "An expired session policy is detached from every role before it is deleted, only reauth's session policies (iam:PolicyARN); the roles are whichever it was attached to.",
    },
  ];
}

/**
 * What the Slack worker needs: nothing on IAM or Secrets Manager in report mode (it refuses every
 * change); in enforce mode what an owner may ask for: disable, restore, rotate, and narrow to what is
 * used (read at the click).
 */
export function workerGrants(
  mode: PolicyConfig['mode'],
  disablePolicyName: string = ROLE_DISABLE_POLICY_NAME,
): CredentialGrant[] {
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
    PASSWORD_DISABLE,
    PASSWORD_RESTORE,
    STATUS_CREDENTIAL_CHANGE,
    ...SESSION_REVOCATION,
    ...RIGHT_SIZE_ATTACH,
    ...RIGHT_SIZE_READS,
    ...roleDisable(disablePolicyName),
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
        "Rotating an access key stores the new key pair as a new secret named reauth/rotated/<user>/<keyId>, and restoring a console password stores its new password as reauth/rotated/<user>/console-password-<time>, each tagged with its owner (secretsmanager:CreateSecret, secretsmanager:TagResource); the names are only known at that time, so the scope is reauth's own rotated/ prefix, nothing else.",
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
