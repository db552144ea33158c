import type { DecisionStore } from '../adapters/decision-store';
import type { CredentialState } from '../domain/decision';
import { OPEN_BY_OWNER_INDEX } from '../table-layout';

/** Where a pass over the open requests stopped: the next shard of the openByOwner index, after which owner. */
export interface OpenRequestsCursor {
  shard: number;
  /** The last owner told in that shard; absent: from the shard's start. */
  after?: string;
}

export interface TellOpenRequestsOptions {
  /** Only these accounts' requests are told (the run's selected accounts). */
  accounts: ReadonlySet<string>;
  /** Where the pass before stopped. @default the first shard's start */
  from?: OpenRequestsCursor;
  /** About how many requests one `tell` gets: an owner's are never split, so a batch can hold more. */
  batch: number;
  /** Asked before each batch after the first: false stops the pass there. */
  timeLeft: () => boolean;
}

/**
 * Tells the open requests (pending states) of `accounts`, read from the sparse openByOwner index
 * shard by shard and owner by owner, never every state of every account: `tell` gets batches of about
 * `batch` requests, and an owner's requests always in one batch, so each owner hears once per run.
 * Holds one batch (and one owner's requests) at a time. Returns where it stopped when `timeLeft` says
 * no batch more fits (every pass tells at least one batch, so passes always progress), or undefined
 * when every shard is done.
 */
export async function tellOpenRequests(
  store: Pick<DecisionStore, 'openStatesByOwner'>,
  tell: (states: CredentialState[]) => Promise<void>,
  options: TellOpenRequestsOptions,
): Promise<OpenRequestsCursor | undefined> {
  const from = options.from ?? { shard: 0 };
  let batches = 0;
  // Before each batch: one more fits, or the pass ends where the last batch ended.
  const mayTell = () => batches === 0 || options.timeLeft();
  for (let shard = from.shard; shard < OPEN_BY_OWNER_INDEX.shards; shard++) {
    let batch: CredentialState[] = [];
    let owner: string | undefined;
    let told = shard === from.shard ? from.after : undefined;
    const stopped = () => ({ shard, ...(told !== undefined && { after: told }) });
    for await (const state of store.openStatesByOwner(shard, told)) {
      if (state.owner !== owner) {
        // `owner`'s requests are all in the batch: tell it when it is full.
        if (owner !== undefined && batch.length >= options.batch) {
          if (!mayTell()) return stopped();
          await tell(batch);
          batches++;
          batch = [];
          told = owner;
        }
        owner = state.owner;
      }
      if (options.accounts.has(state.accountId)) batch.push(state);
    }
    if (batch.length > 0) {
      if (!mayTell()) return stopped();
      await tell(batch);
      batches++;
    }
  }
  return undefined;
}
