import type { CredentialKind } from './credential';
import { DEFAULT_USAGE_WINDOW_DAYS, type ServiceUsage } from './service-usage';
import { DEFAULT_USAGE_LEARNING_DAYS, type Usage } from './usage';

const DAY_MS = 86_400_000;
/** Services named on a state item, used or unused: the counts stay exact, the names are capped. */
export const USAGE_SUMMARY_MAX_NAMES = 20;
/**
 * The credentials whose user's or role's usage a request shows (and right-sizing narrows): access keys,
 * passwords and roles. A secret is no principal; a user's status credentials (certificates, SSH keys,
 * service credentials) are judged by age alone, and their request needs no usage read.
 */
export const SERVICE_USAGE_KINDS: readonly CredentialKind[] = ['access-key', 'password', 'role'];
/** A principal's usage read for the over-privileged trigger is read again after this many days. */
export const SERVICE_USAGE_RECHECK_DAYS = 7;

/**
 * What a credential's state keeps of its principal's `ServiceUsage`: the counts, and the names of the
 * used services (most recent first) and of some unused ones, capped, so the item stays small whatever
 * the principal is granted (`*` grants some 400 services).
 */
export interface UsageSummary {
  principalArn: string;
  grantedCount: number;
  usedCount: number;
  used: string[];
  /** Granted and not used in the window, alphabetical, capped. */
  unused: string[];
  windowDays: number;
  readAt: string;
  trackedSince: string;
}

export function summarizeUsage(usage: ServiceUsage): UsageSummary {
  const used = usage.used.map((u) => u.service);
  const usedSet = new Set(used);
  const unused = usage.granted.filter((service) => !usedSet.has(service));
  return {
    principalArn: usage.principalArn,
    grantedCount: usage.granted.length,
    usedCount: used.length,
    used: used.slice(0, USAGE_SUMMARY_MAX_NAMES),
    unused: unused.slice(0, USAGE_SUMMARY_MAX_NAMES),
    windowDays: usage.windowDays,
    readAt: usage.readAt,
    trackedSince: usage.trackedSince,
  };
}

/**
 * The owner's line: "uses 3 of 41 services granted in the last 90 days: s3, sqs, kms" (with "and N
 * more" past the cap), or "granted no services" for a user or role no policy grants anything.
 */
export function summaryLine(
  summary: Pick<UsageSummary, 'usedCount' | 'used' | 'grantedCount' | 'windowDays'>,
): string {
  if (summary.grantedCount === 0) return 'granted no services';
  const more = summary.usedCount - summary.used.length;
  const names = [...summary.used, ...(more > 0 ? [`and ${more} more`] : [])].join(', ');
  return `uses ${summary.usedCount} of ${summary.grantedCount} services granted in the last ${summary.windowDays} days${summary.usedCount > 0 ? `: ${names}` : ''}`;
}

/** What an over-privileged request says is unused: "unused: 38 services (acm, apigateway, … and 18 more)". */
export function unusedLine(summary: UsageSummary): string {
  const count = summary.grantedCount - summary.usedCount;
  const more = count - summary.unused.length;
  return `unused: ${count} services (${[...summary.unused, ...(more > 0 ? [`and ${more} more`] : [])].join(', ')})`;
}

/** The share of granted services not used in the window (0 when nothing is granted). */
export function unusedShareOf(summary: UsageSummary): number {
  return summary.grantedCount === 0 ? 0 : (summary.grantedCount - summary.usedCount) / summary.grantedCount;
}

/**
 * Whether `summary` shows more than `maxUnusedShare` of the granted services unused, judged only when
 * the data can say so: read within SERVICE_USAGE_RECHECK_DAYS, covering the whole window (IAM tracked
 * the principal for all of it), and past the credential's usage learning period (from its first
 * sighting in use, as `usage-changed` waits for it).
 */
export function isOverPrivileged(
  summary: UsageSummary | undefined,
  tier: { maxUnusedServiceShare?: number; usageLearningDays?: number },
  usage: Usage | undefined,
  now: Date,
): boolean {
  const max = tier.maxUnusedServiceShare;
  if (max === undefined || !summary) return false;
  const fresh = now.getTime() - Date.parse(summary.readAt) < SERVICE_USAGE_RECHECK_DAYS * DAY_MS;
  const covered = Date.parse(summary.trackedSince) <= now.getTime() - summary.windowDays * DAY_MS;
  return fresh && covered && isLearned(usage, tier, now) && unusedShareOf(summary) > max;
}

/** Past its usage learning period: seen in use at least `usageLearningDays` ago (never seen: not learned). */
export function isLearned(
  usage: Usage | undefined,
  tier: { usageLearningDays?: number },
  now: Date,
): boolean {
  return (
    usage !== undefined &&
    now.getTime() - Date.parse(usage.since) >=
      (tier.usageLearningDays ?? DEFAULT_USAGE_LEARNING_DAYS) * DAY_MS
  );
}

/** The window a tier reads usage over. */
export function usageWindowDaysOf(tier: { usageWindowDays?: number }): number {
  return tier.usageWindowDays ?? DEFAULT_USAGE_WINDOW_DAYS;
}
