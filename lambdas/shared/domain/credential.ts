import type { FederatedTrust } from './role-trust';

/**
 * The kinds of credential reauth keeps honest: three machine credentials, and IAM users' console
 * passwords (a login profile), which are credentials too (Security Hub IAM.22, CIS 1.12).
 */
export const CREDENTIAL_KINDS = ['access-key', 'secret', 'role', 'password'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/**
 * One credential as the inventory saw it. Built from account-wide listings (credential report,
 * GetAccountAuthorizationDetails, ListSecrets), never from per-credential calls.
 */
export interface Credential {
  accountId: string;
  kind: CredentialKind;
  /**
   * access key id | secret ARN | role name | user name (password). An access key read from the credential report has no id
   * until its slot is resolved (ListAccessKeys, only for users with a finding): then `id` is undefined
   * and `keySlot` tells which of the user's two keys this is.
   */
  id?: string;
  keySlot?: 1 | 2;
  /** IAM user name (access key, password), secret name, or role name. */
  principal: string;
  /** ARN of the principal: the user, the secret, or the role. */
  principalArn: string;
  createdAt: Date;
  /** undefined: never used (or no information). */
  lastUsedAt?: Date;
  /**
   * Where it was last used, as AWS reports it: an access key's service namespace (`s3`, `iam`) and
   * region from the credential report; a role's region from RoleLastUsed (AWS gives no service).
   */
  lastUsedService?: string;
  lastUsedRegion?: string;
  /**
   * access key: its creation; secret: LastRotatedDate; password: when it was last set; role:
   * undefined (roles are not rotated).
   */
  lastRotatedAt?: Date;
  /** Tags of the principal: the user for an access key or a password, the secret, the role. */
  tags: Record<string, string>;
  /** Access keys and passwords: the IAM groups of the user, as GetAccountAuthorizationDetails lists them. */
  groups?: string[];
  /** Access keys, passwords and roles: the IAM path of the user or role (`/`, `/teams/payments/`). */
  path?: string;
  /**
   * Roles only: accounts outside the zone of trust (the scanned account, or its organization) that the
   * trust policy lets assume it.
   */
  trustedAccounts?: string[];
  /** Roles only: whether the trust policy requires an sts:ExternalId. */
  requiresExternalId?: boolean;
  /** Roles only: the OIDC and SAML providers its trust policy names, and the subjects they may be. */
  federated?: FederatedTrust[];
  /**
   * Roles only: true when reauth's own deny policy is on it (from the listing's inline policies), so
   * drift is seen without a call per role. Access keys need no such flag: the inventory lists active
   * keys only. Secrets have none: ListSecrets carries no resource policy.
   */
  disabledByReauth?: true;
}

/**
 * `<accountId>:<kind>:<id>`; the id is printable ASCII without spaces or `|` (secret ARNs hold `:`;
 * a Slack button's value joins the id and the request's seq with `|`). Slack caps a button value at
 * 2000 characters, which bounds the id.
 */
export const CREDENTIAL_ID_PATTERN =
  /^\d{12}:(?:access-key|secret|role|password):[\x21-\x7b\x7d\x7e]{1,1900}$/;

/** `<accountId>:<kind>:<id>`, the key of everything reauth records. */
export function credentialIdOf(c: { accountId: string; kind: CredentialKind; id: string }): string {
  return `${c.accountId}:${c.kind}:${c.id}`;
}

export function parseCredentialId(credentialId: string): {
  accountId: string;
  kind: CredentialKind;
  id: string;
} {
  const match = /^(\d{12}):(access-key|secret|role|password):(.+)$/.exec(credentialId);
  if (!match) {
    throw new Error(`not a credential id: ${JSON.stringify(credentialId)} (want <accountId>:<kind>:<id>)`);
  }
  return { accountId: match[1] as string, kind: match[2] as CredentialKind, id: match[3] as string };
}
