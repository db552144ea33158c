import { type Credential, isStatusCredential } from './credential';
import { type CredentialState, inPriorityOrder, type Trigger } from './decision';
import { awsServiceAccountsOf, type Identification, identify } from './identification';
import { type OwnerClues, type OwnerOrigin, resolveOwner } from './owners';
import {
  DEFAULT_PASSWORD_IDLE_DAYS,
  type Exemption,
  isExemptionInForce,
  type PolicyConfig,
  type Tier,
} from './policy';
import { type OpenTrust, openTrust } from './trust-breadth';
import { describeUsageChange, observeUsage, type Usage, type UsageChange } from './usage';
import { isOverPrivileged, summaryLine, type UsageSummary, unusedLine } from './usage-summary';

const DAY_MS = 86_400_000;

/** Why reauth needs an owner's word on a credential, and everything that shows it. */
export interface Finding {
  outcome: 'finding';
  triggers: Trigger[];
  /** The resolved owner, or the fallback owner when none could be resolved (`orphaned`). */
  owner: string;
  ownerSource: OwnerOrigin;
  tierName: string;
  tier: Tier;
  /** What the owner needs to recognise it; the evidence holds it too. */
  identification: Identification;
  evidence: Evidence;
  /** Where it has been used, to keep in its state (see `observeUsage`). */
  usage?: Usage;
}

/** Recorded on the flag: the identification, and what made the decision. */
export interface Evidence extends Identification {
  tier: string;
  triggers: Trigger[];
  /** ISO, or null: never used. */
  lastUsedAt: string | null;
  /** Days since last use, or since creation when never used. */
  idleDays: number;
  /**
   * Days since the last rotation (creation when never rotated; a status credential's upload or
   * creation); absent for roles and passwords.
   */
  rotationAgeDays?: number;
  /**
   * The tier's limits this credential was judged by (its idle limit: `idleDays`, or the new-credential
   * grace when never used; none for status credentials, whose use IAM does not record): a control
   * whose own limit is stricter is not evidenced by this flag.
   */
  limits: { idleDays?: number; maxAgeDays?: number };
  /** Where the owner came from (absent on flags recorded before owners had sources: the owner tag's). */
  ownerSource?: OwnerOrigin;
  reviewDueAt?: string;
  keySlot?: 1 | 2;
  /** A tier tag that names no configured tier (the default tier was used). */
  unknownTier?: string;
  /** The exemption tag's text: a request for an exemption, which only an approved record grants. */
  exemptionRequested?: string;
  /** `usage-changed`: the uses outside what was learned or allowed, and what was known before. */
  usageChange?: UsageChange;
  /** `trust-too-broad`: each part of a federated trust left open, whom it lets in and what an attacker needs. */
  openTrust?: OpenTrust[];
  /** `over-privileged`: its user's or role's services granted against used, and the tier's limit. */
  serviceUsage?: UsageSummary & { maxUnusedServiceShare: number };
}

export type Evaluation =
  | Finding
  | { outcome: 'ok'; owner: string; ownerSource: OwnerOrigin; usage?: Usage }
  | { outcome: 'protected'; owner: string; ownerSource: OwnerOrigin; pattern: string }
  | {
      outcome: 'exempt';
      owner: string;
      ownerSource: OwnerOrigin;
      until: string;
      approver: string;
      reason: string;
    };

/**
 * What evaluation reads of a credential's record: its state, or, for an access key reauth knows no id
 * of yet, only the usage learned of its key slot (see `KeySlotUsage`).
 */
export type KnownRecord = CredentialState | Pick<CredentialState, 'usage'>;

/**
 * Decides whether a credential needs reauthorization now. Pure: `now` is passed in.
 * `credentialId` is known once the credential has an id (access keys from the credential report may not yet).
 */
export function evaluateCredential(
  credential: Credential,
  known: KnownRecord | undefined,
  policy: PolicyConfig,
  now: Date,
  credentialId?: string,
  clues?: OwnerClues,
): Evaluation {
  const state = known && 'seq' in known ? known : undefined;
  const { owner, origin } = resolveOwner(
    credential,
    { ...(clues ?? recordedClues(state)), ...(state?.assignedOwner && { assigned: state.assignedOwner }) },
    policy,
  );

  const pattern = [...REAUTH_OWN_PRINCIPALS, ...policy.protectedPrincipals].find(
    (p) => matchesPattern(p, credential.principal) || matchesPattern(p, credential.principalArn),
  );
  if (pattern) return { outcome: 'protected', owner, ownerSource: origin, pattern };

  const exemption = activeExemption(policy.exemptions, credential, credentialId, now);
  if (exemption) {
    return {
      outcome: 'exempt',
      owner,
      ownerSource: origin,
      until: exemption.until,
      approver: exemption.approver,
      reason: exemption.reason,
    };
  }
  if (state?.status === 'exempt' && state.exemptUntil && Date.parse(state.exemptUntil) > now.getTime()) {
    return {
      outcome: 'exempt',
      owner,
      ownerSource: origin,
      until: state.exemptUntil,
      approver: state.owner,
      reason: 'approved exemption',
    };
  }

  const requestedTier = credential.tags[policy.tierTagKey];
  const tierName = requestedTier && requestedTier in policy.tiers ? requestedTier : policy.defaultTier;
  const tier = policy.tiers[tierName] as Tier; // defaultTier is checked against tiers when the policy is parsed

  const triggers: Trigger[] = [];
  const reviewDueAt = state?.reviewDueAt;
  const vouchedFor = reviewDueAt !== undefined && Date.parse(reviewDueAt) > now.getTime();
  const idleDays = daysBetween(credential.lastUsedAt ?? credential.createdAt, now);
  // Roles are not rotated, and a password's age asks nothing of its owner (only its disuse does).
  const rotationAgeDays =
    credential.kind === 'role' || credential.kind === 'password'
      ? undefined
      : daysBetween(credential.lastRotatedAt ?? credential.createdAt, now);
  // IAM records no use of a status credential: "never used" would be a guess, so only its age counts.
  const idleLimit = isStatusCredential(credential.kind)
    ? undefined
    : credential.lastUsedAt
      ? idleDaysOf(credential.kind, tier)
      : tier.newCredentialGraceDays;
  const maxAgeDays = maxAgeDaysOf(credential.kind, tier);

  // Asked even while vouched for: a reauthorization vouches for the access its owner knew of, and must
  // not hide an account AWS owns (one that never assumes a customer's role) added to the trust since.
  // No answer makes such a trust right, so *Still needed* is asked again by the next scan; only
  // removing the account ends it. (Protected principals and approved exemptions are settled above.)
  if (Object.keys(awsServiceAccountsOf(credential.trustedAccounts ?? [])).length > 0)
    triggers.push('aws-service-account-trusted');
  const open = (credential.federated ?? []).flatMap((trust) =>
    openTrust(trust, policy.trustedOidcOwners ?? []),
  );
  if (!vouchedFor) {
    if (reviewDueAt !== undefined) triggers.push('review-due');
    if (idleLimit !== undefined && idleDays >= idleLimit) triggers.push('idle');
    if (rotationAgeDays !== undefined && rotationAgeDays >= maxAgeDays) triggers.push('max-age');
    if (open.length > 0) triggers.push('trust-too-broad');
    if (origin.source === 'fallback') triggers.push('orphaned');
    if (isOverPrivileged(state?.serviceUsage, tier, known?.usage, now)) triggers.push('over-privileged');
  }
  // Usage drift asks even while vouched for: what was vouched for is not this use.
  const { usage, change: usageChange } = observeUsage(
    known?.usage,
    { service: credential.lastUsedService, region: credential.lastUsedRegion },
    tier,
    now,
  );
  if (usageChange) triggers.push('usage-changed');
  if (triggers.length === 0) return { outcome: 'ok', owner, ownerSource: origin, ...(usage && { usage }) };

  const identification = identify(credential, policy.vendors);
  const ordered = inPriorityOrder(triggers);
  return {
    outcome: 'finding',
    triggers: ordered,
    owner,
    ownerSource: origin,
    tierName,
    tier,
    identification,
    ...(usage && { usage }),
    evidence: {
      ...identification,
      tier: tierName,
      triggers: ordered,
      lastUsedAt: credential.lastUsedAt?.toISOString() ?? null,
      idleDays,
      ...(rotationAgeDays !== undefined && { rotationAgeDays }),
      limits: {
        ...(idleLimit !== undefined && { idleDays: idleLimit }),
        ...(rotationAgeDays !== undefined && { maxAgeDays }),
      },
      ownerSource: origin,
      ...(reviewDueAt && { reviewDueAt }),
      ...(credential.keySlot && { keySlot: credential.keySlot }),
      ...(requestedTier && !(requestedTier in policy.tiers) && { unknownTier: requestedTier }),
      ...(credential.tags[EXEMPTION_REQUEST_TAG] && {
        exemptionRequested: credential.tags[EXEMPTION_REQUEST_TAG],
      }),
      ...(usageChange && { usageChange }),
      ...(ordered.includes('trust-too-broad') && { openTrust: open }),
      ...(ordered.includes('over-privileged') &&
        state?.serviceUsage &&
        tier.maxUnusedServiceShare !== undefined && {
          serviceUsage: { ...state.serviceUsage, maxUnusedServiceShare: tier.maxUnusedServiceShare },
        }),
    },
  };
}

/**
 * The clues a caller without the scan's (the events consumer) reads from the state: the owner the
 * last scan found from a stack, an account or a creator, so an event does not move a request to the
 * fallback owner for want of what only the scan reads.
 */
function recordedClues(state: CredentialState | undefined): OwnerClues {
  const origin = state?.ownerSource;
  if (!state || !origin?.via) return {};
  switch (origin.source) {
    case 'stack':
      return { stack: { name: origin.via, owner: state.owner } };
    case 'account':
      return { account: { owner: state.owner, via: origin.via } };
    case 'creator':
      return { creator: { owner: state.owner, via: origin.via } };
    default:
      return {};
  }
}

/** Where the Reauth construct names the Slack secret it creates: `reauth/slack/<prefix>-<id>`. */
export const REAUTH_SLACK_SECRET_PATH = 'reauth/slack/';

/**
 * reauth's own credentials, protected whatever the policy says: the Slack secret the Reauth construct
 * creates (`reauth/slack` before names took a prefix).
 */
export const REAUTH_OWN_PRINCIPALS = ['reauth/slack', `${REAUTH_SLACK_SECRET_PATH}*`];

/**
 * A principal may carry this tag to ask for an exemption. It never grants one: only an approved record
 * with an approver and an expiry (the policy's `exemptions`) does; the request is shown to the owner.
 */
export const EXEMPTION_REQUEST_TAG = 'reauth:exempt';

/** Human words for a finding, recorded as the decision's reason. */
export function describeFinding(finding: Finding): string {
  const { evidence } = finding;
  const requested = evidence.exemptionRequested
    ? `; an exemption was requested by tag ("${evidence.exemptionRequested}") but tags cannot grant one: add an approved exemption to the policy`
    : '';
  return `${describeTriggers(finding)}${requested}`;
}

function describeTriggers(finding: Finding): string {
  const { evidence, tier } = finding;
  return finding.triggers
    .map((trigger) => {
      switch (trigger) {
        case 'idle':
          return evidence.lastUsedAt
            ? `unused for ${evidence.idleDays} days (tier ${evidence.tier} allows ${evidence.limits.idleDays})`
            : `never used in the ${evidence.idleDays} days since it was created (tier ${evidence.tier} allows ${tier.newCredentialGraceDays})`;
        case 'max-age':
          return `not rotated for ${evidence.rotationAgeDays} days (tier ${evidence.tier} allows ${evidence.limits.maxAgeDays ?? tier.maxAgeDays})`;
        case 'review-due':
          return `its reauthorization expired on ${evidence.reviewDueAt}`;
        case 'orphaned':
          return 'no owner found (no owner tag, and no group, path, stack, account or creator names one): escalated to the fallback owner';
        case 'aws-service-account-trusted':
          return describeAwsServiceAccounts(evidence.awsServiceAccounts ?? {});
        case 'trust-too-broad':
          return (evidence.openTrust ?? []).map((open) => open.why).join('; ');
        case 'usage-changed':
          return evidence.usageChange ? describeUsageChange(evidence.usageChange) : 'used in a new way';
        case 'over-privileged':
          return evidence.serviceUsage
            ? `over-privileged: ${summaryLine(evidence.serviceUsage)}; ${unusedLine(evidence.serviceUsage)} (tier ${evidence.tier} allows at most ${Math.round(evidence.serviceUsage.maxUnusedServiceShare * 100)}% unused)`
            : 'over-privileged';
        default:
          return trigger;
      }
    })
    .join('; ');
}

/**
 * `trusts 009996457667, an account AWS owns for ELB logs: …`. The service is named so the owner can
 * trace how it got there, not to reassure: AWS never assumes a customer's role from such an account.
 */
export function describeAwsServiceAccounts(accounts: Readonly<Record<string, string>>): string {
  const listed = Object.entries(accounts).map(([account, service]) => `${account} (${service})`);
  const which = listed.length === 1 ? 'an account AWS owns' : 'accounts AWS owns';
  return `trusts ${listed.join(', ')}, ${which} for its own service, never a vendor: AWS never assumes a customer's role from one, so this trust is likely a backdoor; remove it (the security channel is told too)`;
}

function activeExemption(
  exemptions: readonly Exemption[],
  credential: Credential,
  credentialId: string | undefined,
  now: Date,
): Exemption | undefined {
  return exemptions.find(
    (e) => (e.match === credential.principal || e.match === credentialId) && isExemptionInForce(e, now),
  );
}

/** The days of disuse a tier allows a credential of `kind` once it has been used. */
export function idleDaysOf(kind: Credential['kind'], tier: Tier): number {
  return kind === 'password' ? (tier.passwordIdleDays ?? DEFAULT_PASSWORD_IDLE_DAYS) : tier.idleDays;
}

/** The age a tier allows a credential of `kind` before it must be rotated or replaced. */
export function maxAgeDaysOf(kind: Credential['kind'], tier: Tier): number {
  return isStatusCredential(kind) ? (tier.userCredentialMaxAgeDays ?? tier.maxAgeDays) : tier.maxAgeDays;
}

/** Whole days from `from` to `now`, never negative. */
export function daysBetween(from: Date, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - from.getTime()) / DAY_MS));
}

/** `*` matches any run of characters; everything else is literal. */
export function matchesPattern(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return regex.test(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
