import { createHash } from 'node:crypto';
import type { DecisionStore } from '../adapters/decision-store';
import type { SlackClient } from '../adapters/slack-client';

const DAY_MS = 86_400_000;
/** A found user is reused 5 to 9 days, spread by email so a week's lookups do not all fall due one day. */
const FOUND_MIN_DAYS = 5;
const FOUND_SPREAD_DAYS = 4;
/** No user with that email: asked again the next day, when a new hire may have joined Slack. */
const NOT_FOUND_MS = DAY_MS;

/**
 * The Slack user id for an owner's email, from the decision table when Slack was asked recently
 * (`users.lookupByEmail` is Tier 3, 50 a minute: a run with 500 email owners would spend ten minutes
 * on lookups every day), else from Slack, remembered. Undefined: Slack has no user with that email.
 */
export async function lookupSlackUser(
  deps: { store: DecisionStore; slack: SlackClient },
  email: string,
  now: Date,
): Promise<string | undefined> {
  const recalled = await deps.store.recalledSlackUser(email, now);
  if (recalled !== undefined) return recalled ?? undefined;
  const userId = await deps.slack.lookupUserByEmail(email);
  const keepMs = userId === undefined ? NOT_FOUND_MS : (FOUND_MIN_DAYS + spreadOf(email)) * DAY_MS;
  await deps.store.rememberSlackUser(email, userId ?? null, new Date(now.getTime() + keepMs));
  return userId;
}

/** 0 to FOUND_SPREAD_DAYS, the same for an email every time. */
function spreadOf(email: string): number {
  const bucket = createHash('sha256').update(email.toLowerCase()).digest().readUInt16BE(0);
  return (bucket / 0xffff) * FOUND_SPREAD_DAYS;
}
