/**
 * What reauth writes into IAM and Secrets Manager to disable a credential, in one place: the enforcer
 * writes exactly these, and the trust-change consumer recognizes reauth's own changes by them (together
 * with who made the call: a document alone can be copied by anyone).
 */
import { canonicalJson } from './policy';

/** The Sid of reauth's deny statement on a secret, and of its role deny. */
export const REAUTH_DENY_SID = 'ReauthDisabled';
const POLICY_VERSION = '2012-10-17';

/**
 * reauth's namespace among an account's customer managed policies. reauth writes no policy document
 * into IAM itself: it attaches and detaches only policies under this path, each a deny, so whoever
 * holds its roles can take access away and give back what reauth took, never grant.
 */
export const REAUTH_POLICY_PATH = '/reauth/';
/** The managed policy (under `/reauth/`, created by the stack) that reauth attaches to a role to disable it. */
export const ROLE_DISABLE_POLICY_NAME = 'reauth-disabled';
/** Where the session policy writer keeps reauth's `reauth-sessions-before-<moment>` policies. */
export const SESSIONS_POLICY_PATH = '/reauth/sessions/';
const SESSIONS_POLICY_PREFIX = 'reauth-sessions-before-';
/**
 * The longest any temporary credential lives: 36 hours (GetSessionToken and GetFederationToken; a
 * role session lasts 12 hours at most). A revocation older than this has nothing left to end.
 */
export const SESSION_LIFETIME_MAX_MS = 36 * 3_600_000;

/** Appended to a secret's resource policy: nobody reads the value while it is disabled. */
export const DENY_SECRET_READS = {
  Sid: REAUTH_DENY_SID,
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: ['secretsmanager:GetSecretValue'],
  Resource: '*',
} as const;

/** The `reauth-disabled` managed policy's document: an explicit deny wins over every allow. */
export const ROLE_DISABLE_POLICY = {
  Version: POLICY_VERSION,
  Statement: [{ Sid: REAUTH_DENY_SID, Effect: 'Deny', Action: '*', Resource: '*' }],
} as const;

/**
 * The ARN of the `reauth-disabled` policy in an account. A member account's is `reauth-disabled`; a
 * hub stack's is `<namePrefix>-disabled`, so two copies of reauth in one account each have their own.
 */
export function roleDisablePolicyArn(
  accountId: string,
  partition = 'aws',
  name: string = ROLE_DISABLE_POLICY_NAME,
): string {
  return `arn:${partition}:iam::${accountId}:policy${REAUTH_POLICY_PATH}${name}`;
}

/** Whether a managed policy ARN is a reauth copy's `…-disabled` directly under `/reauth/`, in any account. */
export function isRoleDisablePolicyArn(arn: string | undefined): boolean {
  return arn !== undefined && /^arn:[\w-]+:iam::\d{12}:policy\/reauth\/[A-Za-z][\w-]*-disabled$/.test(arn);
}

/**
 * The tag a platform team puts on the IAM users whose access keys reauth may rotate (value `true`).
 * reauth's `CreateAccessKey` grant admits only users that carry it, and reauth holds no tagging grant,
 * so whoever holds reauth's roles cannot mint a key for any other user, an administrator included.
 */
export const ROTATABLE_TAG = { key: 'reauth:rotatable', value: 'true' } as const;

/** The Sid of the one statement of a `reauth-sessions-before-<moment>` policy. */
export const REVOKE_SESSIONS_SID = 'ReauthRevokeSessions';

/** What a session revocation attached: reauth's policy and the moment before which sessions end (ISO). */
export interface RevokedSessions {
  policyArn: string;
  issuedBefore: string;
}

/**
 * The document of `reauth-sessions-before-<moment>`: every request made with temporary credentials
 * issued before `issuedBefore` is denied (what the IAM console's *Revoke active sessions* writes).
 * Requests signed with a long-term access key carry no aws:TokenIssueTime, so the condition never
 * matches them; sessions issued afterwards are untouched.
 */
export function revokeSessionsPolicy(issuedBefore: string) {
  return {
    Version: POLICY_VERSION,
    Statement: [
      {
        Sid: REVOKE_SESSIONS_SID,
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': issuedBefore } },
      },
    ],
  } as const;
}

/** The policy's name for a moment: `reauth-sessions-before-20261206T072423.123Z` (IAM names allow no colon). */
export function sessionsPolicyName(issuedBefore: string): string {
  return `${SESSIONS_POLICY_PREFIX}${new Date(issuedBefore).toISOString().replace(/[-:]/g, '')}`;
}

/** The ARN of the policy that ends an account's sessions issued before a moment. */
export function sessionsPolicyArn(accountId: string, issuedBefore: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${accountId}:policy${SESSIONS_POLICY_PATH}${sessionsPolicyName(issuedBefore)}`;
}

/**
 * The moment (ISO) a `reauth-sessions-before-…` policy ARN (or name) ends sessions before; undefined
 * for any other policy. Only the session policy writer creates policies under that path, each with
 * exactly `revokeSessionsPolicy` of the moment its name gives (it checks a name it finds taken).
 */
export function revokedBeforeOfArn(arnOrName: string | undefined): string | undefined {
  const match =
    /^(?:arn:[\w-]+:iam::\d{12}:policy\/reauth\/sessions\/)?reauth-sessions-before-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/.exec(
      arnOrName ?? '',
    );
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ms] = match;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`;
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}

/**
 * The moment a `reauth-sessions-before-…` document (JSON text, URL-encoded as IAM returns it, or
 * parsed) revokes sessions before, when it is reauth's exactly; undefined for any other document, even
 * one that only borrows its Sid.
 */
export function revokedBeforeOf(document: unknown): string | undefined {
  const parsed = parsedDocument(document);
  const [statement] = statementsOf(parsed);
  const condition = (statement as { Condition?: { DateLessThan?: Record<string, unknown> } } | undefined)
    ?.Condition?.DateLessThan?.['aws:TokenIssueTime'];
  if (typeof condition !== 'string' || Number.isNaN(Date.parse(condition))) return undefined;
  return sameJson(parsed, revokeSessionsPolicy(condition)) ? condition : undefined;
}

/** Whether a statement is reauth's secret deny, exactly (not merely named like it). */
export function isReauthSecretDeny(statement: unknown): boolean {
  return sameJson(statement, DENY_SECRET_READS);
}

/** Whether a role policy document (JSON text, URL-encoded as IAM returns it, or parsed) is reauth's, exactly. */
export function isReauthRolePolicy(document: unknown): boolean {
  return sameJson(parsedDocument(document), ROLE_DISABLE_POLICY);
}

/**
 * A policy document as IAM and CloudTrail carry it, parsed: JSON text, URL-encoded JSON text (as
 * IAM's Get…Policy calls return it), or already parsed; undefined when the text is not JSON.
 */
export function parsedDocument(document: unknown): unknown {
  return typeof document === 'string' ? parseJson(decodeIfEncoded(document)) : document;
}

/** The statements of a resource policy document (JSON text or parsed); [] when it has none or is not JSON. */
export function statementsOf(document: unknown): unknown[] {
  const parsed = typeof document === 'string' ? parseJson(document) : document;
  if (typeof parsed !== 'object' || parsed === null) return [];
  const statement = (parsed as { Statement?: unknown }).Statement;
  return statement === undefined ? [] : Array.isArray(statement) ? statement : [statement];
}

function sameJson(a: unknown, b: unknown): boolean {
  return a !== undefined && canonicalJson(a) === canonicalJson(b);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decodeIfEncoded(text: string): string {
  if (text.trimStart().startsWith('{')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
