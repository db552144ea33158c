import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { lookupEvents } from '../adapters/cloudtrail-history';
import type { DecisionStore } from '../adapters/decision-store';
import { CREATION_EVENTS, isIamCreation } from '../domain/creators';
import type { OwnersConfig } from '../domain/owners';
import { rememberCreation } from './creator-hints';

/** What a backfill read and kept, per creation call. */
export interface BackfillReport {
  accountId: string;
  since: string;
  dryRun: boolean;
  /** Per event name: records read, hints kept (or that would be, in a dry run), records naming nobody. */
  byEvent: Record<string, { read: number; hints: number; none: number }>;
  /** Why records named nobody, with how many each. */
  reasons: Record<string, number>;
}

/**
 * Reads every creation of the last `days` days from CloudTrail's event history (LookupEvents, one
 * event name per call as the API allows) and remembers each creator; `dryRun` remembers nothing.
 * Only this account's history, and its secrets' in one region.
 */
export async function backfillCreators(
  deps: {
    /** The event history of IAM's events (us-east-1's) and of Secrets Manager's (the secrets' region). */
    history: { iam: CloudTrailClient; secretsManager: CloudTrailClient };
    store: Pick<DecisionStore, 'rememberCreator'>;
  },
  options: {
    accountId: string;
    owners?: OwnersConfig;
    now: Date;
    days: number;
    dryRun: boolean;
    /** Between two LookupEvents calls (2 a second per account and region). */
    minIntervalMs?: number;
  },
): Promise<BackfillReport> {
  const since = new Date(options.now.getTime() - options.days * 86_400_000);
  const report: BackfillReport = {
    accountId: options.accountId,
    since: since.toISOString(),
    dryRun: options.dryRun,
    byEvent: {},
    reasons: {},
  };
  const pace = paced(options.minIntervalMs ?? LOOKUP_EVENTS_INTERVAL_MS);
  for (const eventName of CREATION_EVENTS) {
    const counts = { read: 0, hints: 0, none: 0 };
    report.byEvent[eventName] = counts;
    const history = isIamCreation(eventName) ? deps.history.iam : deps.history.secretsManager;
    for await (const record of lookupEvents(history, { eventName, start: since, end: options.now, pace })) {
      counts.read++;
      const outcome = await rememberCreation(deps.store, record, {
        accountId: options.accountId,
        ...(options.owners && { owners: options.owners }),
        dryRun: options.dryRun,
      });
      if ('remembered' in outcome) counts.hints++;
      else {
        counts.none++;
        const reason = outcome.none.replace(/^\S+ of \S+: /, '');
        report.reasons[reason] = (report.reasons[reason] ?? 0) + 1;
      }
    }
  }
  return report;
}

/** LookupEvents allows 2 calls a second per account and region: a little under, for the clock's sake. */
export const LOOKUP_EVENTS_INTERVAL_MS = 550;

/** Waits so that two calls are at least `interval` apart. */
function paced(interval: number): () => Promise<void> {
  let last = 0;
  return async () => {
    const wait = last + interval - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    last = Date.now();
  };
}
