import type { FederatedTrust } from './role-trust';

/**
 * An IAM user's credentials that have a status (`Active`, `Inactive`) and nothing more: X.509 signing
 * certificates, SSH public keys (CodeCommit) and service-specific credentials (CodeCommit HTTPS Git,
 * Amazon Keyspaces, Bedrock API keys). IAM records no last use of any of them, so they are judged by
 * age alone, and one shape serves all three: disabled by setting them `Inactive`, restored `Active`.
 */
export const STATUS_CREDENTIAL_KINDS = ['signing-certificate', 'ssh-key', 'service-credential'] as const;
export type StatusCredentialKind = (typeof STATUS_CREDENTIAL_KINDS)[number];

/**
 * The kinds of credential reauth keeps honest: three machine credentials, IAM users' console
 * passwords (a login profile), which are credentials too (Security Hub IAM.22, CIS 1.12), and users'
 * credentials with a status (see {@link STATUS_CREDENTIAL_KINDS}).
 */
export const CREDENTIAL_KINDS = [
  'access-key',
  'secret',
  'role',
  'password',
  ...STATUS_CREDENTIAL_KINDS,
] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export function isStatusCredential(kind: CredentialKind): kind is StatusCredentialKind {
  return (STATUS_CREDENTIAL_KINDS as readonly string[]).includes(kind);
}

/**
 * One credential as the inventory saw it. Built from account-wide listings (credential report,
 * GetAccountAuthorizationDetails, ListSecrets), never from per-credential calls.
 */
export interface Credential {
  accountId: string;
  kind: CredentialKind;
  /**
   * access key id | secret ARN | role name | user name (password) | certificate, SSH key or
   * service-specific credential id. An access key read from the credential report has no id
   * until its slot is resolved (ListAccessKeys, only for users with a finding): then `id` is undefined
   * and `keySlot` tells which of the user's two keys this is.
   */
  id?: string;
  keySlot?: 1 | 2;
  /** IAM user name (access key, password, status credentials), secret name, or role name. */
  principal: string;
  /** ARN of the principal: the user, the secret, or the role. */
  principalArn: string;
  createdAt: Date;
  /** undefined: never used (or no information: IAM records none for the status credentials). */
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
  /** Service-specific credentials: the service it signs in to (`codecommit.amazonaws.com`). */
  serviceName?: string;
  /** Tags of the principal: the user for an access key, a password or a status credential, the secret, the role. */
  tags: Record<string, string>;
  /** A user's credentials: the IAM groups of the user, as GetAccountAuthorizationDetails lists them. */
  groups?: string[];
  /** A user's credentials and roles: the IAM path of the user or role (`/`, `/teams/payments/`). */
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
export const CREDENTIAL_ID_PATTERN = new RegExp(
  `^\\d{12}:(?:${CREDENTIAL_KINDS.join('|')}):[\\x21-\\x7b\\x7d\\x7e]{1,1900}$`,
);

/** `<accountId>:<kind>:<id>`, the key of everything reauth records. */
export function credentialIdOf(c: { accountId: string; kind: CredentialKind; id: string }): string {
  return `${c.accountId}:${c.kind}:${c.id}`;
}

const CREDENTIAL_ID_PARTS = new RegExp(`^(\\d{12}):(${CREDENTIAL_KINDS.join('|')}):(.+)$`);

export function parseCredentialId(credentialId: string): {
  accountId: string;
  kind: CredentialKind;
  id: string;
} {
  const match = CREDENTIAL_ID_PARTS.exec(credentialId);
  if (!match) {
    throw new Error(`not a credential id: ${JSON.stringify(credentialId)} (want <accountId>:<kind>:<id>)`);
  }
  return { accountId: match[1] as string, kind: match[2] as CredentialKind, id: match[3] as string };
}

/** How often each IAM user's SSH public keys are listed (the policy's `listSshPublicKeys`). */
export const SSH_LISTING = ['weekly', 'daily', 'never'] as const;
export type SshListing = (typeof SSH_LISTING)[number];

const DAY_MS = 86_400_000;

/**
 * Whether a run at `now` lists this user's SSH keys. IAM lists SSH keys only per user, so `weekly`
 * lists a seventh of the users a day (each on the day its name hashes to), and every user once a
 * week: a key is judged by its age, which a week's delay in finding it does not change much, where a
 * call per user a day would make SSH keys most of a steady scan's calls.
 */
export function listsSshKeysOf(userName: string, now: Date, listing: SshListing): boolean {
  if (listing !== 'weekly') return listing === 'daily';
  let hash = 0x811c9dc5; // FNV-1a: stable across runs and machines, spread over short names
  for (let i = 0; i < userName.length; i++) hash = Math.imul(hash ^ userName.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % 7 === Math.floor(now.getTime() / DAY_MS) % 7;
}
