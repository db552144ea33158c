import known from '../../../data/known-aws-accounts/accounts.json' with { type: 'json' };
import { type Credential, isStatusCredential, type StatusCredentialKind } from './credential';
import type { FederatedTrust } from './role-trust';
import { providerName } from './trust-breadth';

/**
 * Vendors' public account ids, account id → vendor, from fwdcloudsec/known_aws_accounts (Apache-2.0;
 * source, commit and changes in data/known-aws-accounts/).
 */
export const KNOWN_VENDOR_ACCOUNTS: Readonly<Record<string, string>> = known.vendors;

/**
 * AWS's own accounts (log delivery, ELB, Redshift, CloudTrail…), account id → the service, from the same
 * list (`type: aws`). Never a vendor: AWS never assumes a customer's role from one, so one trusted by a
 * role is a likely backdoor (`aws-service-account-trusted`).
 */
export const AWS_SERVICE_ACCOUNTS: Readonly<Record<string, string>> = known.awsServices;

/**
 * What an owner needs to recognise a credential, beyond its kind, id and principal: for an access key
 * when it was created and where it was last used; for a third-party role whom it trusts (by name, where
 * the policy's `vendors` or the shipped list knows the account) and whether they must present an ExternalId. The field
 * names and shapes of `createdAt`, `trustedAccounts` and `requiresExternalId` are the evidence's.
 */
export interface Identification {
  /** ISO. */
  createdAt: string;
  /** Where it was last used, as AWS reports it (see {@link Credential}). */
  lastUsedService?: string;
  lastUsedRegion?: string;
  /** Service-specific credentials: the service it signs in to. */
  serviceName?: string;
  /** Roles: the accounts outside this one its trust policy lets assume it (`*`: any). */
  trustedAccounts?: string[];
  /** Roles: the names of those trusted accounts the policy's `vendors` or the shipped list knows. */
  vendors?: Record<string, string>;
  /**
   * Roles: those trusted accounts AWS owns for one of its services (account id → the service), never
   * named as vendors, whatever the policy's `vendors` says.
   */
  awsServiceAccounts?: Record<string, string>;
  /** Roles: whether every statement that trusts another account requires an sts:ExternalId. */
  requiresExternalId?: boolean;
  /** Roles: the OIDC and SAML providers it trusts and the subjects they may be (none listed: any). */
  federated?: FederatedTrust[];
}

/**
 * A credential's {@link Identification}, naming its trusted accounts from `vendors` (the policy's,
 * account id → name) or else from {@link KNOWN_VENDOR_ACCOUNTS}; an account AWS owns is named as the
 * service it belongs to, never as a vendor.
 */
export function identify(
  credential: Credential,
  vendors: Readonly<Record<string, string>> = {},
): Identification {
  const trusted = credential.trustedAccounts ?? [];
  const awsOwned = awsServiceAccountsOf(trusted);
  const named = trusted.flatMap((account) => {
    const vendor = account in awsOwned ? undefined : (vendors[account] ?? KNOWN_VENDOR_ACCOUNTS[account]);
    return vendor ? [[account, vendor] as const] : [];
  });
  return {
    createdAt: credential.createdAt.toISOString(),
    ...(credential.lastUsedService && { lastUsedService: credential.lastUsedService }),
    ...(credential.lastUsedRegion && { lastUsedRegion: credential.lastUsedRegion }),
    ...(credential.serviceName && { serviceName: credential.serviceName }),
    ...(credential.trustedAccounts && { trustedAccounts: credential.trustedAccounts }),
    ...(named.length > 0 && { vendors: Object.fromEntries(named) }),
    ...(Object.keys(awsOwned).length > 0 && { awsServiceAccounts: awsOwned }),
    ...(credential.requiresExternalId !== undefined && { requiresExternalId: credential.requiresExternalId }),
    ...(credential.federated && { federated: credential.federated }),
  };
}

/** Of `accounts`, those AWS owns for one of its services: account id → the service. */
export function awsServiceAccountsOf(accounts: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    accounts.flatMap((account) => {
      const service = AWS_SERVICE_ACCOUNTS[account];
      return service ? [[account, service]] : [];
    }),
  );
}

/** `s3, eu-west-1`; `eu-west-1` for a role (AWS gives no service); '' when AWS did not say. */
export function usedWhere(identification: Identification | undefined): string {
  const { lastUsedService: service, lastUsedRegion: region } = identification ?? {};
  return [service, region].filter(Boolean).join(', ');
}

/** Trusted accounts shown in full before the rest are counted. */
const MAX_LISTED_ACCOUNTS = 10;

/**
 * `999988887777 (Datadog), 111122223333; ExternalId required`: whom a role trusts, by name where known
 * (an account AWS owns as such: `009996457667 (owned by AWS for ELB logs: never a vendor)`), and whether
 * an ExternalId is required; then each identity provider and the subjects it may be
 * (`OIDC token.actions.githubusercontent.com (GitHub Actions) for repo:acme/deploy:*`); '' for a
 * credential that is not a role.
 */
export function describeTrust(identification: Identification | undefined): string {
  const accounts = identification?.trustedAccounts;
  if (!accounts) return '';
  const federated = (identification.federated ?? []).map(describeFederated);
  if (accounts.length === 0 && federated.length > 0) return federated.join('; ');
  const listed = accounts.slice(0, MAX_LISTED_ACCOUNTS).map((account) => {
    const service = identification.awsServiceAccounts?.[account];
    const vendor = identification.vendors?.[account];
    if (account === '*') return 'any AWS account (*)';
    if (service) return `${account} (owned by AWS for ${service}: never a vendor)`;
    return vendor ? `${account} (${vendor})` : account;
  });
  const rest = accounts.length - listed.length;
  const trusted =
    listed.length === 0 ? 'no other account' : `${listed.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`;
  const externalId = identification.requiresExternalId ? 'ExternalId required' : 'no ExternalId required';
  return [`${trusted}; ${externalId}`, ...federated].join('; ');
}

function describeFederated({ provider, subjects }: FederatedTrust): string {
  const [type, name = provider] = provider.split(/\/(.*)/s);
  const known = providerName(provider);
  const saml = type === 'saml-provider';
  const who = `${saml ? 'SAML' : 'OIDC'} ${name}${known ? ` (${known})` : ''}`;
  const listed = subjects.slice(0, MAX_LISTED_ACCOUNTS);
  const rest = subjects.length - listed.length;
  // A SAML assertion must name the role: without SAML:sub, the IdP decides who gets it.
  if (listed.length === 0) return saml ? who : `${who} for any subject (no subject condition)`;
  return `${who} for ${listed.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`;
}

/** How long a name is shown in a message: a section, a confirm dialog (300 characters) or a terminal line. */
export const MAX_SHOWN_NAME = 150;

/**
 * `name` in at most `max` characters, the middle left out when it is longer: the start and the end of a
 * path-like name (`prod/payments/…/stripe-key`) are what tell two secrets apart.
 */
export function shortName(name: string, max = MAX_SHOWN_NAME): string {
  if (name.length <= max) return name;
  const head = Math.ceil((max - 1) / 2);
  return `${name.slice(0, head)}…${name.slice(name.length - (max - 1 - head))}`;
}

/** A status credential's kind in plain words, before its id. */
export const STATUS_CREDENTIAL_NAMES: Readonly<Record<StatusCredentialKind, string>> = {
  'signing-certificate': 'signing certificate',
  'ssh-key': 'SSH public key',
  'service-credential': 'service-specific credential',
};

/** The id part of `<accountId>:<kind>:<id>`. */
function idOf(credentialId: string): string {
  return credentialId.split(':').slice(2).join(':');
}

/**
 * A credential in a few plain words for a reply about it: an access key by its id and user (a user may
 * have two keys), a console password by its user (the user's name alone would read as its keys), else
 * its name, shortened.
 */
export function credentialName(c: {
  credentialId: string;
  kind: Credential['kind'];
  principal: string;
}): string {
  const name = shortName(c.principal);
  if (c.kind === 'password') return `console password of ${name}`;
  if (isStatusCredential(c.kind))
    return `${STATUS_CREDENTIAL_NAMES[c.kind]} ${idOf(c.credentialId)} of ${name}`;
  if (c.kind !== 'access-key') return name;
  const keyId = /^\d{12}:access-key:(.+)$/.exec(c.credentialId)?.[1];
  return keyId ? `access key ${keyId} of ${name}` : name;
}
