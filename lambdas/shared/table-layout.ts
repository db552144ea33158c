/**
 * The decision table's key layout, shared by the store adapter and the CDK table so they cannot drift.
 * - Current state: `pk = CRED#<credentialId>`, `sk = STATE`.
 * - Decisions, append-only: `pk = CRED#<credentialId>`, `sk = DECISION#<at ISO-8601>#<seq>`.
 * - Leases, short-lived (`expiresAt` is the table's TTL): `pk = LEASE#<name>`, `sk = LEASE`.
 * - Slack users found by email, kept days (`expiresAt`): `pk = SLACKUSER#<email>`, `sk = SLACKUSER`.
 * - Slack messages, which credentials each shows: `pk = MESSAGE#<channel>#<ts>`, `sk = MESSAGE`
 *   (`expiresAt` a year on: by then no answer in it can still be given).
 * - An organization-wide enforce run's action budget, kept days (`expiresAt`): `pk = BUDGET#<runId>`,
 *   `sk = BUDGET`, `used` the actions reserved so far by its member accounts.
 * - Usage learned of an access key not known by id yet: `pk = KEYSLOT#<keySlotId>`, `sk = KEYSLOT`
 *   (`expiresAt` refreshed on write). It is in the stateByAccount index, so the scan's one Query
 *   loads it with the states; the store hands it out apart from them.
 * - What a scan of an account evaluated (its population, `domain/population.ts`), one per run:
 *   `pk = POPULATION#<accountId>`, `sk = RUN#<at ISO-8601>#<seq>`, chained per account; the chain's
 *   head (`sk = HEAD`: the last `seq` and `hash`) is written in the same transaction.
 * - Who created a credential or its principal (a creator hint): `pk = CREATOR#<accountId>:<subject>`,
 *   `sk = CREATOR`, in the stateByAccount index too, so the same Query loads it.
 */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

/**
 * Sparse index over STATE, KEYSLOT and CREATOR items only (only they carry `stateAccountId`): one paged
 * Query loads every known credential of an account, what was learned of its keys not known by id, and
 * who created what, instead of a read per credential. A KEYSLOT item's `credentialId` is its key-slot
 * id (`<account>:key-slot:…`), a CREATOR item's `<account>:creator:<subject>`: no credential id can be either.
 */
export const STATE_BY_ACCOUNT_INDEX = {
  name: 'stateByAccount',
  partitionKey: 'stateAccountId',
  sortKey: 'credentialId',
} as const;

/**
 * Sparse index over open requests only (a STATE item carries `openShard` and `openOwner` while its
 * status is `pending`, and loses them with the Put that ends the request): what the organization's
 * summary must tell (new requests, reminders due) is found without reading every state of every
 * account. Sorted by owner within a shard, so every credential of an owner comes together and a
 * summary split across invocations resumes after the last owner it told. Owners are spread over
 * `shards` partitions by a hash of the owner, so no one partition takes every open request's writes.
 */
export const OPEN_BY_OWNER_INDEX = {
  name: 'openByOwner',
  partitionKey: 'openShard',
  sortKey: 'openOwner',
  shards: 16,
} as const;

/** The openByOwner index's partition of `owner`: FNV-1a of the owner, modulo the shards. */
export function openShardOf(owner: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < owner.length; i++) hash = Math.imul(hash ^ owner.charCodeAt(i), 0x01000193);
  return openShard((hash >>> 0) % OPEN_BY_OWNER_INDEX.shards);
}

export function openShard(index: number): string {
  return `OPEN#${index}`;
}

/** The openByOwner index's keys of a state item: present only while its request is open. */
export function openIndexKeys(state: { status: string; owner: string }): Record<string, string> {
  if (state.status !== 'pending') return {};
  return {
    [OPEN_BY_OWNER_INDEX.partitionKey]: openShardOf(state.owner),
    [OPEN_BY_OWNER_INDEX.sortKey]: state.owner,
  };
}

export const STATE_SK = 'STATE';

export function credentialPk(credentialId: string): string {
  return `CRED#${credentialId}`;
}

export function decisionSk(at: string, seq: number): string {
  return `DECISION#${at}#${String(seq).padStart(6, '0')}`;
}

export const LEASE_SK = 'LEASE';

/** A lease item's own attributes, beside its keys and `expiresAt`: all a lease-only grant lets a function write. */
export const LEASE_ATTRIBUTES = ['holder', 'until'] as const;

export function leasePk(name: string): string {
  return `LEASE#${name}`;
}

export const SLACK_USER_SK = 'SLACKUSER';

/** Emails are case-insensitive in Slack: one item per address however the owner tag spells it. */
export function slackUserPk(email: string): string {
  return `SLACKUSER#${email.toLowerCase()}`;
}

export const BUDGET_SK = 'BUDGET';

export function budgetPk(runId: string): string {
  return `BUDGET#${runId}`;
}

/** The table's TTL attribute (epoch seconds): DynamoDB deletes expired leases and lookups on its own. */
export const EXPIRES_AT = 'expiresAt';

export const MESSAGE_SK = 'MESSAGE';

export function messagePk(message: { channel: string; ts: string }): string {
  return `MESSAGE#${message.channel}#${message.ts}`;
}

export const KEY_SLOT_SK = 'KEYSLOT';

export function keySlotPk(keySlotId: string): string {
  return `KEYSLOT#${keySlotId}`;
}

export const CREATOR_SK = 'CREATOR';

/** A creator hint's index sort key (its `credentialId`), which no credential id can be. */
export function creatorIndexId(accountId: string, subject: string): string {
  return `${accountId}:creator:${subject}`;
}

export function creatorPk(accountId: string, subject: string): string {
  return `CREATOR#${accountId}:${subject}`;
}

export const POPULATION_HEAD_SK = 'HEAD';

export function populationPk(accountId: string): string {
  return `POPULATION#${accountId}`;
}

export function populationSk(at: string, seq: number): string {
  return `RUN#${at}#${String(seq).padStart(6, '0')}`;
}
