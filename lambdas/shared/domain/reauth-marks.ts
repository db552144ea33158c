/**
 * What reauth writes into IAM and Secrets Manager to disable a credential, in one place: the enforcer
 * writes exactly these, and the trust-change consumer recognizes reauth's own changes by them (together
 * with who made the call: a document alone can be copied by anyone).
 */
import { canonicalJson } from './policy';

/** The Sid of reauth's deny statement on a secret, and of its role deny. */
export const REAUTH_DENY_SID = 'ReauthDisabled';
/** The inline policy reauth puts on a role to disable it. */
export const ROLE_DISABLE_POLICY_NAME = 'reauth-disabled';
const POLICY_VERSION = '2012-10-17';

/** Appended to a secret's resource policy: nobody reads the value while it is disabled. */
export const DENY_SECRET_READS = {
  Sid: REAUTH_DENY_SID,
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: ['secretsmanager:GetSecretValue'],
  Resource: '*',
} as const;

/** The whole `reauth-disabled` role policy: an explicit deny wins over every allow. */
export const ROLE_DISABLE_POLICY = {
  Version: POLICY_VERSION,
  Statement: [{ Sid: REAUTH_DENY_SID, Effect: 'Deny', Action: '*', Resource: '*' }],
} as const;

/**
 * The tag a platform team puts on the IAM users whose access keys reauth may rotate (value `true`).
 * reauth's `CreateAccessKey` grant admits only users that carry it, and reauth holds no tagging grant,
 * so whoever holds reauth's roles cannot mint a key for any other user, an administrator included.
 */
export const ROTATABLE_TAG = { key: 'reauth:rotatable', value: 'true' } as const;

/** The inline policy, on a user or a role, that ends the sessions issued before a moment. */
export const REVOKE_SESSIONS_POLICY_NAME = 'reauth-revoke-sessions';
/** The Sid of its one statement. */
export const REVOKE_SESSIONS_SID = 'ReauthRevokeSessions';

/** What a session revocation wrote: the policy and the moment before which sessions end (ISO). */
export interface RevokedSessions {
  policyName: typeof REVOKE_SESSIONS_POLICY_NAME;
  issuedBefore: string;
}

/**
 * The `reauth-revoke-sessions` policy: every request made with temporary credentials issued before
 * `issuedBefore` is denied (what the IAM console's *Revoke active sessions* puts on a role). Requests
 * signed with a long-term access key carry no aws:TokenIssueTime, so the condition never matches them;
 * sessions issued afterwards are untouched.
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

/**
 * The moment a `reauth-revoke-sessions` document (JSON text, URL-encoded as IAM returns it, or parsed)
 * revokes sessions before, when it is reauth's exactly; undefined for any other document, even one
 * that only borrows its name or Sid.
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
