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
 */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

/**
 * Sparse index over STATE and KEYSLOT items only (only they carry `stateAccountId`): one paged Query
 * loads every known credential of an account, and what was learned of its keys not known by id,
 * instead of a read per credential. A KEYSLOT item's `credentialId` is its key-slot id
 * (`<account>:key-slot:…`), which no credential id can be.
 */
export const STATE_BY_ACCOUNT_INDEX = {
  name: 'stateByAccount',
  partitionKey: 'stateAccountId',
  sortKey: 'credentialId',
} as const;

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
