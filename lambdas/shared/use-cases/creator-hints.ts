import type { DecisionStore } from '../adapters/decision-store';
import { creatorHintOf } from '../domain/creators';
import type { CreatorHint, OwnersConfig } from '../domain/owners';

/**
 * Who created what, kept as creator hints (the owner chain's `creator` source): the events consumer
 * remembers each creation as CloudTrail delivers it, the backfill what CloudTrail's event history holds.
 * Both go through `rememberCreation` (the backfill is `backfill-creators.ts`, apart so that the consumer's
 * bundle has no CloudTrail client), so a creation read twice (a redelivery, or the backfill after the
 * consumer) is kept once: the store keeps the first hint of a subject.
 */

export type CreationOutcome = { remembered: CreatorHint } | { none: string };

/** Remembers the creator a CloudTrail record names, if it names one. */
export async function rememberCreation(
  store: Pick<DecisionStore, 'rememberCreator'>,
  record: unknown,
  context: { accountId: string; owners?: OwnersConfig; dryRun?: boolean },
): Promise<CreationOutcome> {
  const read = creatorHintOf(record, context);
  if ('none' in read) return read;
  if (!context.dryRun) await store.rememberCreator(read.hint);
  return { remembered: read.hint };
}
