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
 */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

/**
 * Sparse index over STATE items only (only they carry `stateAccountId`): one paged Query loads every
 * known credential of an account, instead of a read per credential.
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
