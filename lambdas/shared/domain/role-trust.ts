/**
 * Whom a role's trust policy lets in from outside: other AWS accounts, and identity providers. Pure: a
 * function of the trust document, the scanned account and the zone of trust.
 */

/**
 * The accounts that are not third parties. Absent (single-account mode), only the scanned account is.
 * With an organization, as in IAM Access Analyzer: every account of it, and any principal a statement
 * restricts to it with an `aws:PrincipalOrgID` (or `aws:PrincipalOrgPaths`) condition.
 */
export interface TrustZone {
  accounts: readonly string[];
  /** `o-…`: honoured in conditions only when given. */
  organizationId?: string;
}

/** An identity provider the role trusts, and the subjects (and, for OIDC, audiences) its conditions allow. */
export interface FederatedTrust {
  /** `oidc-provider/token.actions.githubusercontent.com` or `saml-provider/Okta`, as IAM names it. */
  provider: string;
  /**
   * OIDC: the `<provider>:sub` values (`repo:acme/deploy:*`); SAML: the `SAML:sub` values. Empty when
   * no condition restricts the subject. Read as `StringLike` reads them (`*` and `?` wildcards), so a
   * `StringEquals` value keeps its meaning: its own `*` or `?` is written `${*}` or `${?}`, IAM's escape.
   * When several conditions restrict the subject (all must hold), one without a wildcard bounds the
   * others, and only its values are kept.
   */
  subjects: string[];
  /** OIDC: the `<provider>:aud` values, read as `subjects` are; empty when no condition restricts the audience. */
  audiences?: string[];
}

export interface RoleTrust {
  /** Accounts outside the zone the policy lets assume the role, sorted; `*` for any account. */
  trustedAccounts: string[];
  /** Whether every statement that trusts one of those accounts requires an sts:ExternalId. */
  requiresExternalId: boolean;
  /** OIDC and SAML providers, one entry per statement and provider. */
  federated: FederatedTrust[];
}

const ANY = '*';
const ACCOUNT_ID = /^\d{12}$/;
const ACCOUNT_IN_ARN = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/;
const PROVIDER_IN_ARN = /^arn:aws[a-z-]*:iam::\d{12}:((oidc|saml)-provider\/.+)$/;
const FEDERATED_ACTION = { oidc: 'sts:AssumeRoleWithWebIdentity', saml: 'sts:AssumeRoleWithSAML' };

interface TrustStatement {
  Effect?: unknown;
  Principal?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Condition?: unknown;
}

/** Whom `document` (a role's trust policy, URL-encoded as IAM lists it, or plain JSON) lets in from outside `zone`. */
export function classifyTrust(document: string | undefined, accountId: string, zone?: TrustZone): RoleTrust {
  const internal = new Set([accountId, ...(zone?.accounts ?? [])]);
  const accounts = new Set<string>();
  const federated: FederatedTrust[] = [];
  let everyStatementNeedsExternalId = true;
  for (const statement of trustStatements(document)) {
    if (statement.Effect !== 'Allow') continue;
    federated.push(...federatedTrust(statement));
    if (!allows(statement, 'sts:AssumeRole')) continue;
    if (zone?.organizationId && restrictedToOrganization(statement.Condition, zone.organizationId)) continue;
    const foreign = restrictedPrincipals(
      awsPrincipalAccounts(statement.Principal),
      statement.Condition,
    ).filter((account) => !internal.has(account));
    if (foreign.length === 0) continue;
    for (const account of foreign) accounts.add(account);
    if (conditionKeys(statement.Condition).every(({ key }) => key !== 'sts:externalid'))
      everyStatementNeedsExternalId = false;
  }
  const trustedAccounts = [...accounts].sort();
  return {
    trustedAccounts,
    requiresExternalId: trustedAccounts.length > 0 && everyStatementNeedsExternalId,
    federated,
  };
}

/**
 * The accounts a statement's principals come from once its conditions have spoken: `Principal: "*"`
 * pinned by an `aws:PrincipalArn` or `aws:PrincipalAccount` condition to named accounts lets in only
 * those (terraform-aws-iam's self-assume statement pins `*` to the role itself). A condition whose
 * account part is a wildcard, or that `…IfExists` makes optional, pins nothing.
 */
function restrictedPrincipals(accounts: string[], condition: unknown): string[] {
  for (const { operator, key, values } of conditionKeys(condition)) {
    if (!PINNING_OPERATORS.includes(operator) || values.length === 0) continue;
    const pinned = values.map((value) =>
      key === 'aws:principalaccount'
        ? ACCOUNT_ID.exec(value)?.[0]
        : key === 'aws:principalarn'
          ? ACCOUNT_IN_ARN.exec(value)?.[1]
          : undefined,
    );
    if (pinned.some((account) => account === undefined)) continue;
    const named = pinned as string[];
    return accounts.includes(ANY)
      ? [...new Set(named)]
      : accounts.filter((account) => named.includes(account));
  }
  return accounts;
}
const PINNING_OPERATORS = ['ArnEquals', 'ArnLike', 'StringEquals', 'StringLike', 'StringEqualsIgnoreCase'];

/**
 * Web identity providers IAM knows by name (no provider ARN): Google, Facebook and Login with Amazon
 * name the user in one claim and the app in another; Cognito names the identity and its pool.
 */
const WEB_IDENTITY_CLAIMS: Readonly<Record<string, { sub: string; aud: string }>> = {
  'accounts.google.com': { sub: 'accounts.google.com:sub', aud: 'accounts.google.com:aud' },
  'graph.facebook.com': { sub: 'graph.facebook.com:id', aud: 'graph.facebook.com:app_id' },
  'www.amazon.com': { sub: 'www.amazon.com:user_id', aud: 'www.amazon.com:app_id' },
  'cognito-identity.amazonaws.com': {
    sub: 'cognito-identity.amazonaws.com:sub',
    aud: 'cognito-identity.amazonaws.com:aud',
  },
};

/** One entry per OIDC or SAML provider the statement names, when it allows that provider's action. */
function federatedTrust(statement: TrustStatement): FederatedTrust[] {
  const federated =
    typeof statement.Principal === 'object' && statement.Principal !== null
      ? asStrings((statement.Principal as { Federated?: unknown }).Federated)
      : [];
  return federated.flatMap((arn) => {
    const web = WEB_IDENTITY_CLAIMS[arn.toLowerCase()];
    if (web) {
      if (!allows(statement, FEDERATED_ACTION.oidc)) return [];
      return [
        {
          provider: `oidc-provider/${arn.toLowerCase()}`,
          subjects: allowedValues(statement.Condition, web.sub),
          audiences: allowedValues(statement.Condition, web.aud),
        },
      ];
    }
    const match = PROVIDER_IN_ARN.exec(arn);
    const provider = match?.[1];
    const protocol = match?.[2] as 'oidc' | 'saml' | undefined;
    if (!provider || !protocol || !allows(statement, FEDERATED_ACTION[protocol])) return [];
    if (protocol === 'saml') return [{ provider, subjects: allowedValues(statement.Condition, 'saml:sub') }];
    const host = provider.slice('oidc-provider/'.length).toLowerCase();
    return [
      {
        provider,
        subjects: allowedValues(statement.Condition, `${host}:sub`),
        audiences: allowedValues(statement.Condition, `${host}:aud`),
      },
    ];
  });
}

/**
 * The values the conditions allow for `key` (lower-cased), as `StringLike` patterns (see
 * {@link FederatedTrust.subjects}); none when no condition restricts it.
 */
function allowedValues(condition: unknown, key: string): string[] {
  const conditions = conditionKeys(condition)
    .filter((c) => c.key === key && restricts(c.operator))
    .map(({ operator, values }) => (operator.includes('Like') ? values : values.map(escapeWildcards)));
  // Every condition must hold: one that names values exactly is the most any value can be.
  const exact = conditions.filter((values) => values.every((value) => !hasWildcard(value)));
  return [...new Set((exact.length > 0 ? exact : conditions).flat())];
}

/** A value compared exactly, as a `StringLike` pattern that matches only it. */
function escapeWildcards(value: string): string {
  return value.replace(/\$\{[^}]*\}|[*?]/g, (match) => (match.length === 1 ? `\${${match}}` : match));
}

/**
 * The text a `StringLike` pattern fixes before its first wildcard (IAM's escapes `${*}`, `${?}`, `${$}`
 * read as the characters), and whether a wildcard follows. Any other policy variable counts as a
 * wildcard: its value comes with the request.
 */
export function literalPrefix(pattern: string): { prefix: string; open: boolean } {
  let prefix = '';
  let at = 0;
  for (const match of pattern.matchAll(/\$\{([^}]*)\}|[*?]/g)) {
    prefix += pattern.slice(at, match.index);
    at = match.index + match[0].length;
    const escaped = match[1] !== undefined && ['*', '?', '$'].includes(match[1]) ? match[1] : undefined;
    if (escaped === undefined) return { prefix, open: true };
    prefix += escaped;
  }
  return { prefix: prefix + pattern.slice(at), open: false };
}

export function hasWildcard(pattern: string): boolean {
  return literalPrefix(pattern).open;
}

/** A negated or null check does not name whom it lets in. */
function restricts(operator: string): boolean {
  return !/Not|^Null$/.test(operator);
}

const EQUALS = ['StringEquals', 'StringEqualsIgnoreCase'];
// `…IfExists` and `ForAllValues:` are true when the key is absent: they restrict nothing.
const SINGLE_VALUED = [...EQUALS, 'StringLike'].flatMap((op) => [op, `ForAnyValue:${op}`]);

/**
 * True when the statement lets in only principals of the organization `organizationId`: an
 * `aws:PrincipalOrgID` that equals it (no wildcard), or `aws:PrincipalOrgPaths` all under it.
 */
function restrictedToOrganization(condition: unknown, organizationId: string): boolean {
  return conditionKeys(condition).some(({ operator, key, values }) => {
    if (values.length === 0) return false;
    const ignoreCase = operator.endsWith('IgnoreCase');
    const same = (value: string) =>
      ignoreCase ? value.toLowerCase() === organizationId.toLowerCase() : value === organizationId;
    if (key === 'aws:principalorgid' && SINGLE_VALUED.includes(operator)) {
      return values.every(same);
    }
    if (
      key === 'aws:principalorgpaths' &&
      ['ForAnyValue:StringEquals', 'ForAnyValue:StringLike'].includes(operator)
    ) {
      return values.every((value) => value.startsWith(`${organizationId}/`));
    }
    return false;
  });
}

/** Each `operator → key → values` of a Condition block, the key lower-cased (IAM compares keys so). */
function conditionKeys(condition: unknown): { operator: string; key: string; values: string[] }[] {
  if (typeof condition !== 'object' || condition === null) return [];
  return Object.entries(condition).flatMap(([operator, keys]) =>
    typeof keys === 'object' && keys !== null
      ? Object.entries(keys).map(([key, values]) => ({
          operator,
          key: key.toLowerCase(),
          values: asStrings(values),
        }))
      : [],
  );
}

/** GetAccountAuthorizationDetails returns the trust policy URL-encoded; plain JSON is accepted too. */
function trustStatements(document: string | undefined): TrustStatement[] {
  if (!document) return [];
  try {
    const json = document.trimStart().startsWith('{')
      ? document
      : decodeURIComponent(document.replace(/\+/g, ' '));
    const statements = (JSON.parse(json) as { Statement?: unknown }).Statement;
    const list = Array.isArray(statements) ? statements : [statements];
    return list.filter((s): s is TrustStatement => typeof s === 'object' && s !== null);
  } catch {
    // IAM validates trust policies, so this is not expected; such a role is only in scope if tagged.
    return [];
  }
}

function allows(statement: TrustStatement, action: string): boolean {
  if (statement.Action !== undefined)
    return asStrings(statement.Action).some((p) => matchesAction(p, action));
  if (statement.NotAction !== undefined)
    return !asStrings(statement.NotAction).some((p) => matchesAction(p, action));
  return false;
}

function matchesAction(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return regex.test(action);
}

/** `Principal: "*"` or `{ AWS: ... }` → account ids, `*` for any account. Service and federated principals give none. */
function awsPrincipalAccounts(principal: unknown): string[] {
  if (principal === ANY) return [ANY];
  if (typeof principal !== 'object' || principal === null) return [];
  const accounts: string[] = [];
  for (const value of asStrings((principal as { AWS?: unknown }).AWS)) {
    if (value === ANY || ACCOUNT_ID.test(value)) accounts.push(value);
    else {
      const match = ACCOUNT_IN_ARN.exec(value);
      if (match?.[1]) accounts.push(match[1]);
    }
  }
  return accounts;
}

function asStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}
