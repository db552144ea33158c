/**
 * *Still needed, only what it uses* (issue #25): the policy that narrows a principal to the services
 * it used, and when reauth refuses to narrow one. Pure: `now` is passed in.
 *
 * Why a deny attached to the principal and not a permissions boundary. A principal holds one boundary,
 * and IAM's `iam:PermissionsBoundary` condition on `Put…PermissionsBoundary` names the boundary being
 * set, never the one it replaces. So a grant that lets reauth put its own boundary also lets whoever
 * holds reauth's role swap a team's strict boundary for reauth's laxer one, and putting the team's
 * boundary back on *Restore* would need a grant to set any policy as any principal's boundary (an
 * `AdministratorAccess` boundary is no boundary). Issue #20 settled that reauth cannot grant. Instead
 * reauth attaches `reauth-right-size-…` (under `/reauth/right-size/`): one statement that denies every
 * action but the kept ones (`NotAction`). An explicit deny narrows exactly as a boundary of the kept
 * services would, and it is the intersection with any boundary already there, which stays untouched:
 * effective = identity ∩ boundary ∩ kept. It is a deny, so attaching it anywhere only takes access away,
 * and *Restore* / *Widen* is detaching it. The boundary slot stays free for what the disable needs at
 * IAM's quota of attached policies (it makes `reauth-disabled` the boundary there).
 */
import { createHash } from 'node:crypto';
import type { CredentialKind } from './credential';
import type { CredentialState } from './decision';
import { matchesPattern, REAUTH_OWN_PRINCIPALS } from './evaluate';
import { canonicalJson } from './policy';
import { REAUTH_POLICY_PATH } from './reauth-marks';
import { RIGHT_SIZE_FLOOR_DAYS, type ServiceUsage, type UsedService } from './service-usage';
import { summaryLine, type UsageSummary } from './usage-summary';

/** Where reauth's right-size policies live: attachable by reauth's roles, written only by the policy writer. */
export const RIGHT_SIZE_POLICY_PATH = `${REAUTH_POLICY_PATH}right-size/`;
export const RIGHT_SIZE_SID = 'ReauthRightSize';
const NAME_PREFIX = 'reauth-right-size-';
const POLICY_VERSION = '2012-10-17';
/** IAM's limit on a managed policy's document, whitespace excluded. */
const MAX_POLICY_CHARS = 6_144;
const DAY_MS = 86_400_000;

/**
 * Never denied: who am I, and the reads that show the principal what narrows it (its own policies and
 * their documents), so the owner can see why a call is denied.
 */
export const ALWAYS_KEPT = [
  'sts:GetCallerIdentity',
  'iam:GetRole',
  'iam:GetUser',
  'iam:GetPolicy',
  'iam:GetPolicyVersion',
  'iam:ListAttachedRolePolicies',
  'iam:ListAttachedUserPolicies',
] as const;

/**
 * The kinds whose user or role an owner may narrow: an access key's and a console password's user, a
 * role. A secret has no principal; a user's status credentials (certificates, SSH keys, service
 * credentials) are asked about by age alone, and their services are not what IAM's usage data tracks.
 */
export const RIGHT_SIZE_KINDS: readonly CredentialKind[] = ['access-key', 'password', 'role'];

/**
 * The lease a change to a user's or role's right-size holds, in its account: one at a time per
 * principal, whichever of its credentials was answered (IAM holds one right-size deny per principal).
 */
export function principalLeaseOf(state: Pick<CredentialState, 'accountId' | 'kind' | 'principal'>): string {
  return `right-size:${state.accountId}:${state.kind === 'role' ? 'role' : 'user'}:${state.principal}`;
}

/** reauth's member roles (`reauth-reader`, `reauth-enforcer`, `reauth-enforcer-sessions`): never narrowed. */
const REAUTH_ROLE_PATTERNS = ['reauth-reader', 'reauth-enforcer', 'reauth-enforcer-*'];

/**
 * What a right-size narrows to: the principal's used services (with their last use, and actions where
 * IAM gave them) and how many it was granted, with the data's window and freshness. From a fresh read
 * (`ServiceUsage`), or from the summary the request's state keeps.
 */
export interface RightSizeUsage {
  principalArn: string;
  used: UsedService[];
  grantedCount: number;
  readAt: string;
  trackedSince: string;
  windowDays: number;
}

export function rightSizeUsageOf(usage: ServiceUsage): RightSizeUsage {
  const { principalArn, used, readAt, trackedSince, windowDays } = usage;
  return { principalArn, used, grantedCount: usage.granted.length, readAt, trackedSince, windowDays };
}

/**
 * The state's summary as a right-size's usage: each used service kept whole (the summary holds no
 * dates or actions, so each counts as used within the floor). Undefined when the summary names fewer
 * services than were used (it keeps a capped list): narrowing to the names kept would cut a used one.
 */
export function rightSizeUsageOfSummary(summary: UsageSummary | undefined): RightSizeUsage | undefined {
  if (!summary || summary.used.length !== summary.usedCount) return undefined;
  const { principalArn, grantedCount, readAt, trackedSince, windowDays } = summary;
  const used = summary.used.map((service) => ({ service, lastAccessed: readAt }));
  return { principalArn, used, grantedCount, readAt, trackedSince, windowDays };
}

/** The owner's line for a right-size: "uses 3 of 41 services granted in the last 90 days: s3, sqs, kms". */
export function rightSizeLine(usage: RightSizeUsage): string {
  const used = usage.used.map((u) => u.service);
  return summaryLine({
    used,
    usedCount: used.length,
    grantedCount: usage.grantedCount,
    windowDays: usage.windowDays,
  });
}

/**
 * What the principal keeps: each used service whole (`s3:*`), or its actions where IAM gave
 * action-level data, unless the service was used within the floor (the last 7 days): IAM dates a
 * service's last use, not each action's, so only the whole service is sure not to cut a recent action.
 */
export function keptActions(usage: Pick<RightSizeUsage, 'used'>, now: Date): string[] {
  const floor = now.getTime() - RIGHT_SIZE_FLOOR_DAYS * DAY_MS;
  const kept = usage.used.flatMap((u) =>
    u.actions && u.actions.length > 0 && Date.parse(u.lastAccessed) < floor ? u.actions : [`${u.service}:*`],
  );
  return [...new Set(kept)].sort();
}

/** The document of a right-size policy: everything denied but the kept actions and {@link ALWAYS_KEPT}. */
export function rightSizePolicy(kept: readonly string[]) {
  return {
    Version: POLICY_VERSION,
    Statement: [
      {
        Sid: RIGHT_SIZE_SID,
        Effect: 'Deny',
        NotAction: [...new Set([...kept, ...ALWAYS_KEPT])].sort(),
        Resource: '*',
      },
    ],
  };
}

/**
 * The kept actions that fit a managed policy: action lists collapsed to their services when the
 * document would pass IAM's 6,144 characters (wider, never narrower than what was used).
 */
export function fittedKept(kept: readonly string[]): string[] {
  const size = (actions: readonly string[]) => JSON.stringify(rightSizePolicy(actions)).length;
  if (size(kept) <= MAX_POLICY_CHARS) return [...kept];
  return [...new Set(kept.map((action) => `${action.split(':')[0]}:*`))].sort();
}

/**
 * The policy's name: the prefix and a digest of the principal and what it keeps, so narrowing the same
 * principal to the same actions is the same policy (a retry finds it), and a name says nothing a reader
 * could take for a grant.
 */
export function rightSizePolicyName(principalArn: string, kept: readonly string[]): string {
  const digest = createHash('sha256')
    .update(canonicalJson({ principalArn, kept: [...kept].sort() }))
    .digest('hex')
    .slice(0, 24);
  return `${NAME_PREFIX}${digest}`;
}

/** Whether a managed policy ARN is a reauth right-size policy, in any account. */
export function isRightSizePolicyArn(arn: string | undefined): boolean {
  return (
    arn !== undefined &&
    /^arn:[\w-]+:iam::\d{12}:policy\/reauth\/right-size\/reauth-right-size-[0-9a-f]{24}$/.test(arn)
  );
}

/**
 * The kept actions of a right-size document (JSON text, URL-encoded as IAM returns it, or parsed) when
 * it is exactly reauth's; undefined for any other document.
 */
export function keptOfRightSizePolicy(document: unknown): string[] | undefined {
  const parsed = typeof document === 'string' ? parseDocument(document) : document;
  const statement = (parsed as { Statement?: { NotAction?: unknown }[] } | undefined)?.Statement?.[0];
  const notAction = statement?.NotAction;
  if (!Array.isArray(notAction) || !notAction.every((a) => typeof a === 'string')) return undefined;
  const kept = (notAction as string[]).filter((a) => !(ALWAYS_KEPT as readonly string[]).includes(a));
  return canonicalJson(parsed) === canonicalJson(rightSizePolicy(kept)) ? kept : undefined;
}

function parseDocument(text: string): unknown {
  try {
    return JSON.parse(text.trimStart().startsWith('{') ? text : decodeURIComponent(text));
  } catch {
    return undefined;
  }
}

/** What a right-size changed, kept in the state so *Widen* undoes exactly that and drift is seen. */
export interface RightSizeReceipt {
  /** reauth's policy attached to the principal. */
  policyArn: string;
  /** The user or role narrowed (a key's or a password's user). */
  principalArn: string;
  /** What it keeps, as the policy's NotAction says (without {@link ALWAYS_KEPT}). */
  kept: string[];
  /** The principal's permissions boundary when it was narrowed, untouched by reauth (null: none). */
  boundary: string | null;
}

/**
 * Why reauth will not narrow this principal, from what the request knows of it (undefined: it may be
 * read). Checked before any call to IAM, so a refused click reads nothing. `protectedPrincipals` are the
 * policy's; reauth's own are added here.
 */
export function principalRefusal(
  state: Pick<CredentialState, 'kind' | 'principal' | 'status'>,
  options: { protectedPrincipals: readonly string[] },
): string | undefined {
  if (state.kind === 'secret') return 'a secret has no IAM user or role to narrow';
  if (!RIGHT_SIZE_KINDS.includes(state.kind)) return `a ${state.kind} is not narrowed by what its user used`;
  if (state.status === 'protected' || state.status === 'exempt')
    return `it is ${state.status}: reauth changes nothing on it`;
  if (/^AWSServiceRoleFor/.test(state.principal))
    return 'it is an AWS service-linked role: AWS manages its permissions';
  if (ownOrProtected(state.principal, options.protectedPrincipals)) return PROTECTED;
  return undefined;
}

/**
 * Why reauth will not narrow this principal to `usage` (undefined: it may): {@link principalRefusal},
 * then what the usage says (its ARN, with its path, and whether it covers the window).
 */
export function rightSizeRefusal(
  state: Pick<CredentialState, 'kind' | 'principal' | 'status'>,
  usage: RightSizeUsage | undefined,
  options: { now: Date; protectedPrincipals: readonly string[] },
): string | undefined {
  const refused = principalRefusal(state, options);
  if (refused) return refused;
  if (!usage)
    return 'reauth has not read what it uses (IAM service last-accessed data), or it uses more services than the request lists';
  const arn = usage.principalArn;
  if (arn.includes(':role/aws-service-role/'))
    return 'it is an AWS service-linked role: AWS manages its permissions';
  if (ownOrProtected(arn, options.protectedPrincipals)) return PROTECTED;
  if (!arn.endsWith(`/${state.principal}`)) return `the usage data is about ${arn}, not ${state.principal}`;
  if (usage.windowDays < RIGHT_SIZE_FLOOR_DAYS)
    return `its usage window (${usage.windowDays} days) is shorter than the ${RIGHT_SIZE_FLOOR_DAYS}-day floor`;
  const windowStart = options.now.getTime() - usage.windowDays * DAY_MS;
  if (Date.parse(usage.trackedSince) > windowStart)
    return `its usage data starts ${usage.trackedSince.slice(0, 10)}, less than the ${usage.windowDays}-day window ago (IAM's tracking period, or the principal is younger)`;
  if (usage.used.length === 0)
    return 'it used no service in the window: narrowing it would disable it; use Disable instead';
  return undefined;
}

const PROTECTED = 'it is protected (reauth’s own, or named in protectedPrincipals)';

function ownOrProtected(nameOrArn: string, protectedPrincipals: readonly string[]): boolean {
  return [...REAUTH_OWN_PRINCIPALS, ...REAUTH_ROLE_PATTERNS, ...protectedPrincipals].some((p) =>
    matchesPattern(p, nameOrArn),
  );
}
