import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type CredentialState,
  chainDecision,
  type Decision,
  GENESIS_HASH,
  SCHEMA_VERSION,
  type Transition,
} from '../domain/decision';
import { credentialPk, decisionSk, STATE_BY_ACCOUNT_INDEX, STATE_SK, TABLE_KEYS } from '../table-layout';

/** Another writer kept changing the credential while this one tried to record its decision. */
export class StaleStateError extends Error {
  override readonly name = 'StaleStateError';
}

/** Decides the change to make given the state read now; `undefined` when there is nothing to record. */
export type Decide = (current: CredentialState | undefined) => Transition | undefined;

export interface TransitionOptions {
  /**
   * The state the caller already read (e.g. from `loadStates`), `undefined` for "none known": saves a
   * read when it is still current. Without this option the state is read first.
   */
  known?: CredentialState | undefined;
}

/** The decision table: one STATE item and append-only, hash-chained DECISION items per credential. */
export interface DecisionStore {
  /** Every credential state of an account, by credentialId (one paged Query on a sparse index). */
  loadStates(accountId: string): Promise<Map<string, CredentialState>>;
  getState(credentialId: string): Promise<CredentialState | undefined>;
  /**
   * Records `decide`'s transition, if any: the decision and the new state in one transaction,
   * conditional on the state being the one decided on. When another writer got there first, the
   * state is read again and `decide` asked again, so no decision is ever lost or overwritten.
   * Returns the decision written, or `undefined` when `decide` found nothing to record.
   */
  transition(
    credentialId: string,
    decide: Decide,
    options?: TransitionOptions,
  ): Promise<Decision | undefined>;
  /** A credential's decisions, oldest first. */
  history(credentialId: string): Promise<Decision[]>;
}

const MAX_ATTEMPTS = 8;

export function createDecisionStore(documents: DynamoDBDocumentClient, tableName: string): DecisionStore {
  const { partitionKey: pk, sortKey: sk } = TABLE_KEYS;

  async function getState(credentialId: string): Promise<CredentialState | undefined> {
    const { Item } = await documents.send(
      new GetCommand({
        TableName: tableName,
        Key: { [pk]: credentialPk(credentialId), [sk]: STATE_SK },
        ConsistentRead: true,
      }),
    );
    return Item ? toState(Item) : undefined;
  }

  /** Writes one decision and the state it leads to; false when `current` is no longer current. */
  async function write(
    credentialId: string,
    current: CredentialState | undefined,
    change: Transition,
  ): Promise<Decision | false> {
    const decision = chainDecision(change.decision, current ?? { seq: 0, lastHash: GENESIS_HASH });
    const state: CredentialState = {
      ...change.state,
      schemaVersion: SCHEMA_VERSION,
      seq: decision.seq,
      lastHash: decision.hash,
      updatedAt: decision.at,
    };
    const key = credentialPk(credentialId);
    try {
      await documents.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: tableName,
                Item: {
                  [pk]: key,
                  [sk]: STATE_SK,
                  [STATE_BY_ACCOUNT_INDEX.partitionKey]: state.accountId,
                  ...state,
                },
                ...(current
                  ? {
                      ConditionExpression: '#seq = :seq',
                      ExpressionAttributeNames: { '#seq': 'seq' },
                      ExpressionAttributeValues: { ':seq': current.seq },
                    }
                  : {
                      ConditionExpression: 'attribute_not_exists(#pk)',
                      ExpressionAttributeNames: { '#pk': pk },
                    }),
              },
            },
            {
              Put: {
                TableName: tableName,
                Item: { [pk]: key, [sk]: decisionSk(decision.at, decision.seq), ...decision },
                // Append-only: a decision item is never overwritten.
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': pk },
              },
            },
          ],
        }),
      );
      return decision;
    } catch (error) {
      if (isLostRace(error)) return false;
      throw error;
    }
  }

  return {
    async loadStates(accountId) {
      const states = new Map<string, CredentialState>();
      const pages = paginateQuery(
        { client: documents },
        {
          TableName: tableName,
          IndexName: STATE_BY_ACCOUNT_INDEX.name,
          KeyConditionExpression: '#account = :account',
          ExpressionAttributeNames: { '#account': STATE_BY_ACCOUNT_INDEX.partitionKey },
          ExpressionAttributeValues: { ':account': accountId },
        },
      );
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          const state = toState(item);
          states.set(state.credentialId, state);
        }
      }
      return states;
    },

    getState,

    async transition(credentialId, decide, options) {
      let current = options && 'known' in options ? options.known : await getState(credentialId);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const change = decide(current);
        if (!change) return undefined;
        const written = await write(credentialId, current, change);
        if (written) return written;
        current = await getState(credentialId);
      }
      throw new StaleStateError(
        `${credentialId}: the state changed under ${MAX_ATTEMPTS} attempts to record a decision`,
      );
    },

    async history(credentialId) {
      const decisions: Decision[] = [];
      const pages = paginateQuery(
        { client: documents },
        {
          TableName: tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :decision)',
          ExpressionAttributeNames: { '#pk': pk, '#sk': sk },
          ExpressionAttributeValues: { ':pk': credentialPk(credentialId), ':decision': 'DECISION#' },
          ConsistentRead: true,
        },
      );
      for await (const page of pages) {
        for (const item of page.Items ?? []) decisions.push(withoutKeys(item) as unknown as Decision);
      }
      return decisions.sort((a, b) => a.seq - b.seq);
    },
  };
}

function toState(item: Record<string, unknown>): CredentialState {
  const { [STATE_BY_ACCOUNT_INDEX.partitionKey]: _index, ...state } = withoutKeys(item);
  return state as unknown as CredentialState;
}

function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  const { [TABLE_KEYS.partitionKey]: _pk, [TABLE_KEYS.sortKey]: _sk, ...rest } = item;
  return rest;
}

const LOST_RACE = ['ConditionalCheckFailed', 'TransactionConflict'];

/** The transaction lost a race with another writer of the same credential: read again and retry. */
function isLostRace(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return false;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
  if (reasons) return reasons.some((reason) => LOST_RACE.includes(reason.Code ?? ''));
  // Without reasons the message lists them: "... reasons [ConditionalCheckFailed, None]".
  return LOST_RACE.some((code) => error.message.includes(code));
}
