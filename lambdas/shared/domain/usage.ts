import type { Tier } from './policy';

const DAY_MS = 86_400_000;

/** Days of history a credential's usage is learned over before a new service or region is a question. */
export const DEFAULT_USAGE_LEARNING_DAYS = 30;

/**
 * At most this many services and this many regions are kept per credential, so the STATE item stays
 * small whatever a credential does; past it the oldest goes, and is a new use again if it comes back.
 */
export const USAGE_CAP = 20;

/**
 * Where a credential has been seen in use (an access key: service and region; a role: region only),
 * learned day by day from the credential report and RoleLastUsed, which tell only the last use.
 */
export interface Usage {
  services: string[];
  regions: string[];
  /** ISO: the first observation; the learning period runs from it. */
  since: string;
  /** Uses outside the known set the open request asks the owner about; the owner's *Still needed* adds them. */
  asked?: UsageSet & { at: string };
}

export interface UsageSet {
  services: string[];
  regions: string[];
}

/** What a scan saw of a credential's last use. */
export interface SeenUse {
  service?: string;
  region?: string;
}

/** A use outside what is known (after learning) or outside the tier's allowed regions. */
export interface UsageChange {
  /** Services and regions used that the owner has not answered for. */
  asked: UsageSet;
  /** The known set they are new to. */
  before: UsageSet;
  /** ISO: since when the known set was learned. */
  since: string;
  /** Regions used outside the tier's `allowedRegions`, and those regions. */
  notAllowed?: { regions: string[]; allowedRegions: string[] };
}

/**
 * The usage to keep after seeing `seen`, and the change to ask about, if any. Pure. The first sighting
 * starts the set and the learning period; during it a new service or region joins the set; after it
 * one is asked about instead. A region outside the tier's `allowedRegions` is asked about at once.
 */
export function observeUsage(
  current: Usage | undefined,
  seen: SeenUse,
  tier: Pick<Tier, 'usageLearningDays' | 'allowedRegions'>,
  now: Date,
): { usage: Usage | undefined; change?: UsageChange } {
  if (!seen.service && !seen.region) return withChange(current, tier);
  const known = current ?? { services: [], regions: [], since: now.toISOString() };
  const learningDays = tier.usageLearningDays ?? DEFAULT_USAGE_LEARNING_DAYS;
  const learning = now.getTime() - Date.parse(known.since) < learningDays * DAY_MS;
  const newService = seen.service && !known.services.includes(seen.service) ? seen.service : undefined;
  const newRegion = seen.region && !known.regions.includes(seen.region) ? seen.region : undefined;
  const notAllowed = newRegion && tier.allowedRegions && !tier.allowedRegions.includes(newRegion);

  const learned: UsageSet = {
    services: learning && newService ? [newService] : [],
    regions: learning && newRegion && !notAllowed ? [newRegion] : [],
  };
  const asked: UsageSet = {
    services: !learning && newService ? [newService] : [],
    regions: newRegion && (!learning || notAllowed) ? [newRegion] : [],
  };
  const next: Usage = {
    services: capped(known.services, learned.services),
    regions: capped(known.regions, learned.regions),
    since: known.since,
  };
  const before = known.asked ?? { services: [], regions: [] };
  const askedNow = {
    services: union(before.services, asked.services),
    regions: union(before.regions, asked.regions),
  };
  if (askedNow.services.length > 0 || askedNow.regions.length > 0) {
    next.asked = { ...askedNow, at: known.asked?.at ?? now.toISOString() };
  }
  return withChange(next, tier);
}

/** The change a stored usage asks about (its `asked` uses), with what was known before. */
function withChange(
  usage: Usage | undefined,
  tier: Pick<Tier, 'allowedRegions'>,
): { usage: Usage | undefined; change?: UsageChange } {
  if (!usage?.asked) return { usage };
  const { services, regions } = usage.asked;
  const outside = tier.allowedRegions ? regions.filter((r) => !tier.allowedRegions?.includes(r)) : [];
  return {
    usage,
    change: {
      asked: { services, regions },
      before: { services: usage.services, regions: usage.regions },
      since: usage.since,
      ...(outside.length > 0 && {
        notAllowed: { regions: outside, allowedRegions: tier.allowedRegions ?? [] },
      }),
    },
  };
}

/** The owner vouched for the uses asked about: they join the known set. */
export function vouchForUsage(usage: Usage | undefined): Usage | undefined {
  if (!usage?.asked) return usage;
  const { asked, ...rest } = usage;
  return {
    ...rest,
    services: capped(usage.services, asked.services),
    regions: capped(usage.regions, asked.regions),
  };
}

/**
 * What reauth learned of an access key whose id it does not know yet (no finding has needed one): the
 * credential report names a key by its user and its creation, and listing every user's keys for their
 * ids would cost a call per user. Kept beside the credential states but never one of them (no decision,
 * no request, no owner), until a finding lists the user's keys: the key's state then takes it over.
 */
export interface KeySlotUsage {
  accountId: string;
  /** The IAM user. */
  principal: string;
  /** ISO: the key's creation (`access_key_N_last_rotated`). A rotated key is another slot: it learns anew. */
  keyCreatedAt: string;
  usage: Usage;
  /** Epoch seconds, the table's TTL: each write pushes it on; a slot gone or known by id is left to expire. */
  expiresAt: number;
}

/** A key slot's usage is kept this long after its last write; a slot in use is written again halfway. */
export const KEY_SLOT_KEPT_DAYS = 90;

/**
 * `<accountId>:key-slot:<user>@<created ISO>`: one per key, never a credential id (its kind is none of
 * `CREDENTIAL_KINDS`, so `parseCredentialId` refuses it).
 */
export function keySlotIdOf(slot: Pick<KeySlotUsage, 'accountId' | 'principal' | 'keyCreatedAt'>): string {
  return `${slot.accountId}:key-slot:${slot.principal}@${slot.keyCreatedAt}`;
}

/**
 * The key slot's usage to write, or undefined: written when it learned something, or when what it
 * knows would expire within half its keeping (a key in daily use with the same service and region
 * must not forget it, or its learning would start over). Pure.
 */
export function planKeySlotUsage(
  known: KeySlotUsage | undefined,
  slot: Pick<KeySlotUsage, 'accountId' | 'principal' | 'keyCreatedAt'>,
  usage: Usage | undefined,
  now: Date,
): KeySlotUsage | undefined {
  if (!usage) return undefined;
  const nowS = Math.floor(now.getTime() / 1000);
  const keptS = KEY_SLOT_KEPT_DAYS * 86_400;
  const expiring = known !== undefined && known.expiresAt - nowS < keptS / 2;
  if (known && sameUsage(known.usage, usage) && !expiring) return undefined;
  // Field by field, not `{ ...slot, usage }`: V8 gives each such copy a hidden class of its own, and
  // an account's first scan keeps one slot per access key.
  return {
    accountId: slot.accountId,
    principal: slot.principal,
    keyCreatedAt: slot.keyCreatedAt,
    usage,
    expiresAt: nowS + keptS,
  };
}

/** Whether two usages hold the same (so an unchanged day writes nothing). */
export function sameUsage(a: Usage | undefined, b: Usage | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * In words, for the owner: "first use of `iam` from `us-east-1`; before: `s3` in `eu-west-1`", and for
 * a region outside the tier's: "use from `ap-south-1`, outside the allowed regions (`eu-west-1`)".
 */
export function describeUsageChange(change: UsageChange): string {
  const list = (values: string[]) => values.map((v) => `\`${v}\``).join(', ');
  const notAllowed = change.notAllowed?.regions ?? [];
  const newRegions = change.asked.regions.filter((r) => !notAllowed.includes(r));
  const parts: string[] = [];
  const { services } = change.asked;
  if (services.length > 0 || newRegions.length > 0) {
    const what = services.length > 0 ? ` of ${list(services)}` : '';
    const where = newRegions.length > 0 ? ` from ${list(newRegions)}` : '';
    const { before } = change;
    const was =
      before.services.length > 0 || before.regions.length > 0
        ? `; before: ${[
            before.services.length > 0 ? list(before.services) : '',
            before.regions.length > 0 ? `in ${list(before.regions)}` : '',
          ]
            .filter(Boolean)
            .join(' ')}`
        : '';
    parts.push(`first use${what}${where}${was}`);
  }
  if (change.notAllowed) {
    parts.push(
      `use from ${list(change.notAllowed.regions)}, outside the allowed regions (${list(change.notAllowed.allowedRegions)})`,
    );
  }
  return parts.join('; ');
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** `known` plus `added`, the oldest dropped past {@link USAGE_CAP}. */
function capped(known: readonly string[], added: readonly string[]): string[] {
  return union(known, added).slice(-USAGE_CAP);
}
