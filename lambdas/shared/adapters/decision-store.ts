import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  paginateScan,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CheckpointSigner } from '../domain/checkpoint';
import {
  type Claim,
  type CredentialState,
  chainDecision,
  type Decision,
  GENESIS_HASH,
  SCHEMA_VERSION,
  type StateUpdate,
  type Transition,
} from '../domain/decision';
import type { CreatorHint } from '../domain/owners';
import { chainPopulation, type PopulationInput, type PopulationRecord } from '../domain/population';
import { type KeySlotUsage, keySlotIdOf } from '../domain/usage';
import {
  BUDGET_SK,
  budgetPk,
  CREATOR_SK,
  creatorIndexId,
  creatorPk,
  credentialPk,
  decisionSk,
  EXPIRES_AT,
  KEY_SLOT_SK,
  keySlotPk,
  LEASE_SK,
  leasePk,
  MESSAGE_SK,
  messagePk,
  OPEN_BY_OWNER_INDEX,
  openIndexKeys,
  openShard,
  openShardOf,
  POPULATION_HEAD_SK,
  populationPk,
  populationSk,
  SLACK_USER_SK,
  STATE_BY_ACCOUNT_INDEX,
  STATE_SK,
  slackUserPk,
  TABLE_KEYS,
} from '../table-layout';

/** Another writer kept changing the credential while this one tried to record its decision. */
export class StaleStateError extends Error {
  override readonly name = 'StaleStateError';
}

/**
 * Decides the change to make given the state read now: a decision and its state, the state alone
 * (usage learned), or `undefined` when there is nothing to record.
 */
export type Decide = (current: CredentialState | undefined) => Transition | StateUpdate | undefined;

export interface TransitionOptions {
  /**
   * The state the caller already read (e.g. from `loadStates`), `undefined` for "none known": saves a
   * read when it is still current. Without this option the state is read first.
   */
  known?: CredentialState | undefined;
  /**
   * The holder of the credential's claim, confirming the change it made under it and done with it: the
   * write is made only while this holder still holds the claim (a holder that stopped past its lease
   * may find it taken over, and IAM since put back by another), and it drops the claim. When the claim
   * is someone else's, or nobody's, `decide` is not asked and nothing is written. When `decide` finds
   * nothing to record the claim stays, for the holder to act on what the record says, then release.
   */
  release?: string;
}

/** What a caller asks for when it claims a credential before changing it in IAM or Secrets Manager. */
/** A Slack message: its channel and ts. */
export interface SlackMessageRef {
  channel: string;
  ts: string;
}

export interface ShownRequest {
  credentialId: string;
  requestSeq: number;
}

export interface ClaimRequest {
  holder: string;
  action: Claim['action'];
  now: Date;
  /** How long the claim holds if its holder never releases it (it crashed). */
  leaseMs: number;
  /** Whether the change is still due on the state read now; not due: nothing is claimed. */
  isDue: (state: CredentialState) => boolean;
}

export type ClaimOutcome =
  /** `tookOver`: the expired claim of a holder that stopped, which this one replaced. */
  | { claimed: CredentialState; tookOver?: Claim }
  | { notDue: CredentialState | undefined }
  | { heldBy: Claim };

/** Scans of one account racing to append their populations: each lost race reads the head again. */
const POPULATION_ATTEMPTS = 5;

/** BatchWriteItem's limit. */
const BATCH_WRITE_SIZE = 25;
/** Unprocessed items (throttling) are retried with a doubling wait, this many times in all. */
const BATCH_WRITE_ATTEMPTS = 8;

/** The decision table: one STATE item and append-only, hash-chained DECISION items per credential. */
export interface DecisionStore {
  /** Every credential state of an account, by credentialId (one paged Query on a sparse index). */
  loadStates(accountId: string): Promise<Map<string, CredentialState>>;
  /**
   * The same one Query, for the scan: the states, and apart from them the usage learned of access keys
   * not known by id yet, by key-slot id. Open requests written before the openByOwner index existed
   * are put into it on the way (the scan runs before the summary that reads the index).
   */
  loadAccount(accountId: string): Promise<{
    states: Map<string, CredentialState>;
    keySlots: Map<string, KeySlotUsage>;
    /** Creator hints, by subject (`creatorSubject`). */
    creators: Map<string, CreatorHint>;
  }>;
  /**
   * Keeps who created a credential or its principal. The first creation recorded wins: a second
   * `CreateAccessKey` for the same id cannot happen, and a replayed event changes nothing.
   */
  rememberCreator(hint: CreatorHint): Promise<void>;
  /**
   * Appends what a scan of an account evaluated to the account's population chain: the record and the
   * chain's head in one transaction, read and retried when another scan of the account wrote first.
   * `sign`: the record's hash is signed (a checkpoint, `domain/checkpoint.ts`) and the signature
   * stored on the record; absent, the record is unsigned, which verify with a public key reports.
   */
  recordPopulation(input: PopulationInput, sign?: CheckpointSigner): Promise<PopulationRecord>;
  /**
   * Writes key slots' learned usage (no decision: they are no credential's state), their TTL pushed on:
   * 25 to a BatchWriteItem, since an account's first scan learns of every key at once.
   */
  rememberKeySlots(slots: readonly KeySlotUsage[]): Promise<void>;
  getState(credentialId: string): Promise<CredentialState | undefined>;
  /**
   * The states of one user's or role's credentials in an account (a user's keys and password): the
   * account's one Query, filtered by principal. For a change to the principal itself (a right-size),
   * which its other credentials' records follow; rare, so the account's read is not worth an index.
   */
  principalStates(accountId: string, principal: string): Promise<CredentialState[]>;
  /**
   * Every state of every account whose request is open (`pending`): one paged Scan of the sparse
   * stateByAccount index, which holds state items and key slots (never pending) only. For `/reauth`, which is asked rarely and
   * cannot know the owner's accounts in advance.
   */
  openRequests(): Promise<CredentialState[]>;
  /**
   * The open requests (`pending` states) of one shard of the sparse openByOwner index, in owner order
   * (every state of an owner together), after owner `after` when given: a page at a time, so a caller
   * holds what it is telling, not every open request.
   */
  openStatesByOwner(shard: number, after?: string): AsyncIterable<CredentialState>;
  /**
   * Records `decide`'s transition, if any: the decision and the new state in one transaction,
   * conditional on the state being the one decided on. When another writer got there first, the
   * state is read again and `decide` asked again, so no decision is ever lost or overwritten.
   * Returns the decision written, or `undefined` when `decide` found nothing to record or changed
   * the state alone, or `release` names a holder that no longer holds the claim.
   */
  transition(
    credentialId: string,
    decide: Decide,
    options?: TransitionOptions,
  ): Promise<Decision | undefined>;
  /** A credential's decisions, oldest first. */
  history(credentialId: string): Promise<Decision[]>;
  /** The current states of these credentials, read consistently (100 a call). */
  getStates(credentialIds: readonly string[]): Promise<Map<string, CredentialState>>;
  /**
   * Takes the credential's claim when the change is due and nobody else holds a live claim (or the
   * holder is the same, e.g. a redelivered job). One conditional update; it does not move `seq`.
   */
  claim(credentialId: string, request: ClaimRequest): Promise<ClaimOutcome>;
  /** Drops the claim if `holder` still holds it. */
  release(credentialId: string, holder: string): Promise<void>;
  /**
   * A named lease (e.g. one owner's Slack messages) for `holder` until `until`, unless someone else
   * holds it unexpired. False: someone else does.
   */
  lease(name: string, holder: string, until: Date, now: Date): Promise<boolean>;
  /** Gives a lease back if `holder` still holds it. */
  unlease(name: string, holder: string): Promise<void>;
  /**
   * A remembered `users.lookupByEmail` answer not yet expired at `now`: the user id, `null` when Slack had
   * no user with that email, `undefined` when there is none.
   */
  recalledSlackUser(email: string, now: Date): Promise<string | null | undefined>;
  /** Remembers a `users.lookupByEmail` answer until `until` (then the table's TTL removes it). */
  rememberSlackUser(email: string, userId: string | null, until: Date): Promise<void>;
  /**
   * Notes which requests (credential and request seq) a Slack message shows, so an answer in it
   * rebuilds it from them alone, and *Still needed: all* answers those requests and no newer ones.
   */
  rememberMessage(message: SlackMessageRef, shown: readonly ShownRequest[], now: Date): Promise<void>;
  /** The requests a Slack message shows; undefined for a message reauth did not note. */
  messageRequests(message: SlackMessageRef): Promise<ShownRequest[] | undefined>;
  /**
   * Reserves `count` actions of a run's budget shared by several workers (an organization's member
   * accounts), unless that would take the run past `max`: one conditional ADD, so concurrent workers
   * never overspend it together. False: no room, nothing reserved. The item expires (TTL) at `until`.
   */
  reserveBudget(runId: string, count: number, max: number, until: Date): Promise<boolean>;
}

const MAX_ATTEMPTS = 8;
/** BatchGetItem reads at most 100 keys a call. */
const BATCH_GET_LIMIT = 100;
/** DynamoDB's TTL deletes within days of expiry; the lease's own `until` is what counts. */
const LEASE_TTL_MARGIN_S = 3600;
/** A message's note outlives every answer that can be given in it (deadlines, restore windows). */
const MESSAGE_TTL_S = 366 * 86_400;

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

  /** The Put of a STATE item, on condition that `current` is still what the table holds (or nothing). */
  function statePut(credentialId: string, state: CredentialState, current: CredentialState | undefined) {
    return {
      TableName: tableName,
      Item: {
        [pk]: credentialPk(credentialId),
        [sk]: STATE_SK,
        [STATE_BY_ACCOUNT_INDEX.partitionKey]: state.accountId,
        ...state,
        ...openIndexKeys(state),
      },
      ...(current
        ? unchangedSince(current)
        : { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': pk } }),
    };
  }

  /** Writes the state alone, the chain as it was; false when `current` is no longer current. */
  async function writeState(
    credentialId: string,
    current: CredentialState | undefined,
    change: StateUpdate,
  ): Promise<boolean> {
    const state: CredentialState = {
      ...change.state,
      schemaVersion: SCHEMA_VERSION,
      seq: current?.seq ?? 0,
      lastHash: current?.lastHash ?? GENESIS_HASH,
      // The last change the record made: learning is not a decision.
      updatedAt: current?.updatedAt ?? change.at,
      ...(current?.claim && { claim: current.claim }),
    };
    try {
      await documents.send(new PutCommand(statePut(credentialId, state, current)));
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** Writes one decision and the state it leads to; false when `current` is no longer current. */
  async function write(
    credentialId: string,
    current: CredentialState | undefined,
    change: Transition,
    release: string | undefined,
  ): Promise<Decision | false> {
    const decision = chainDecision(change.decision, current ?? { seq: 0, lastHash: GENESIS_HASH });
    // A claim outlives every write but its holder's release: it guards the IAM side, not the record.
    const claim = current?.claim && current.claim.holder !== release ? current.claim : undefined;
    const state: CredentialState = {
      ...change.state,
      schemaVersion: SCHEMA_VERSION,
      seq: decision.seq,
      lastHash: decision.hash,
      updatedAt: decision.at,
      ...(claim && { claim }),
    };
    const key = credentialPk(credentialId);
    try {
      await documents.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: statePut(credentialId, state, current) },
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
          // No ClientRequestToken here: the SDK draws one per call and keeps it across its retries, so a
          // retry after a lost response is a no-op for DynamoDB (not a lost race, and counted once);
          // one of our own per write would make two writers' identical decisions look like one write.
        }),
      );
      return decision;
    } catch (error) {
      if (isLostRace(error)) return false;
      throw error;
    }
  }

  async function releaseClaim(credentialId: string, holder: string): Promise<void> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { [pk]: credentialPk(credentialId), [sk]: STATE_SK },
          UpdateExpression: 'REMOVE #claim',
          ConditionExpression: '#claim.#holder = :holder',
          ExpressionAttributeNames: { '#claim': 'claim', '#holder': 'holder' },
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // already released, or taken over after it expired
    }
  }

  /** Puts an open request written before the openByOwner index existed into it, if it is still open and the owner's. */
  async function indexOpenRequest(state: CredentialState): Promise<void> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { [pk]: credentialPk(state.credentialId), [sk]: STATE_SK },
          UpdateExpression: 'SET #shard = :shard, #openOwner = :owner',
          ConditionExpression: '#status = :pending AND #owner = :owner',
          ExpressionAttributeNames: {
            '#shard': OPEN_BY_OWNER_INDEX.partitionKey,
            '#openOwner': OPEN_BY_OWNER_INDEX.sortKey,
            '#status': 'status',
            '#owner': 'owner',
          },
          ExpressionAttributeValues: {
            ':shard': openShardOf(state.owner),
            ':owner': state.owner,
            ':pending': 'pending',
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // changed meanwhile: its own write indexed it
    }
  }

  async function queryAccount(accountId: string, options: { indexOpen: boolean; principal?: string }) {
    const states = new Map<string, CredentialState>();
    const keySlots = new Map<string, KeySlotUsage>();
    const creators = new Map<string, CreatorHint>();
    const pages = paginateQuery(
      { client: documents },
      {
        TableName: tableName,
        IndexName: STATE_BY_ACCOUNT_INDEX.name,
        KeyConditionExpression: '#account = :account',
        ExpressionAttributeNames: {
          '#account': STATE_BY_ACCOUNT_INDEX.partitionKey,
          ...(options.principal !== undefined && { '#principal': 'principal', '#sk': sk }),
        },
        ExpressionAttributeValues: {
          ':account': accountId,
          ...(options.principal !== undefined && { ':principal': options.principal, ':state': STATE_SK }),
        },
        ...(options.principal !== undefined && {
          FilterExpression: '#principal = :principal AND #sk = :state',
        }),
      },
    );
    const unindexed: CredentialState[] = [];
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (item[sk] === KEY_SLOT_SK) {
          const slot = toKeySlot(item);
          keySlots.set(keySlotIdOf(slot), slot);
        } else if (item[sk] === CREATOR_SK) {
          const hint = toCreatorHint(item);
          creators.set(hint.subject, hint);
        } else {
          const state = toState(item);
          states.set(state.credentialId, state);
          if (state.status === 'pending' && item[OPEN_BY_OWNER_INDEX.partitionKey] === undefined)
            unindexed.push(state);
        }
      }
    }
    // Open requests written before the openByOwner index existed join it at their account's next scan,
    // which comes before the summary that reads the index.
    if (options.indexOpen) for (const state of unindexed) await indexOpenRequest(state);
    return { states, keySlots, creators };
  }

  return {
    // The scan's read, which also puts older open requests into the openByOwner index (it may write).
    loadAccount: (accountId) => queryAccount(accountId, { indexOpen: true }),

    async loadStates(accountId) {
      return (await queryAccount(accountId, { indexOpen: false })).states;
    },

    async principalStates(accountId, principal) {
      return [...(await queryAccount(accountId, { indexOpen: false, principal })).states.values()];
    },

    async rememberKeySlots(slots) {
      // Last writer wins: two scans of one account learn the same from the same report. Two slots with
      // one id (two keys of a user created in the same second) would fail the batch: the last is kept.
      const byId = new Map(slots.map((slot) => [keySlotIdOf(slot), slot]));
      const put = ([keySlotId, slot]: [string, KeySlotUsage]) => ({
        PutRequest: {
          Item: {
            [pk]: keySlotPk(keySlotId),
            [sk]: KEY_SLOT_SK,
            [STATE_BY_ACCOUNT_INDEX.partitionKey]: slot.accountId,
            [STATE_BY_ACCOUNT_INDEX.sortKey]: keySlotId,
            accountId: slot.accountId,
            principal: slot.principal,
            keyCreatedAt: slot.keyCreatedAt,
            usage: slot.usage,
            [EXPIRES_AT]: slot.expiresAt,
          },
        },
      });
      // Each batch's items are built as it is sent: an account's first scan remembers nearly every key
      // (8,755 of 10,000), and their items built up front stayed in its heap until the last batch went.
      const slotsById = [...byId];
      for (let start = 0; start < slotsById.length; start += BATCH_WRITE_SIZE) {
        let pending: ReturnType<typeof put>[] = slotsById.slice(start, start + BATCH_WRITE_SIZE).map(put);
        for (let attempt = 1; pending.length > 0; attempt++) {
          if (attempt > BATCH_WRITE_ATTEMPTS)
            throw new Error(
              `DynamoDB left ${pending.length} key-slot writes unprocessed after ${attempt - 1} attempts`,
            );
          if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
          const { UnprocessedItems } = await documents.send(
            new BatchWriteCommand({ RequestItems: { [tableName]: pending } }),
          );
          pending = (UnprocessedItems?.[tableName] ?? []) as typeof pending;
        }
      }
    },

    async recordPopulation(input, sign) {
      const key = populationPk(input.accountId);
      for (let attempt = 1; ; attempt++) {
        const head = (
          await documents.send(
            new GetCommand({
              TableName: tableName,
              Key: { [pk]: key, [sk]: POPULATION_HEAD_SK },
              ConsistentRead: true,
            }),
          )
        ).Item as { seq: number; hash: string } | undefined;
        const chained = chainPopulation(input, head);
        // Signed once chained (the hash names its place in the chain), and stored in the same item.
        const record = sign ? { ...chained, signature: await sign(chained.hash) } : chained;
        try {
          await documents.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Put: {
                    TableName: tableName,
                    Item: { [pk]: key, [sk]: populationSk(record.at, record.seq), ...record },
                    ConditionExpression: 'attribute_not_exists(#pk)',
                    ExpressionAttributeNames: { '#pk': pk },
                  },
                },
                {
                  Put: {
                    TableName: tableName,
                    Item: { [pk]: key, [sk]: POPULATION_HEAD_SK, seq: record.seq, hash: record.hash },
                    ConditionExpression: head ? '#seq = :seq' : 'attribute_not_exists(#pk)',
                    ExpressionAttributeNames: head ? { '#seq': 'seq' } : { '#pk': pk },
                    ...(head && { ExpressionAttributeValues: { ':seq': head.seq } }),
                  },
                },
              ],
            }),
          );
          return record;
        } catch (error) {
          // Another scan of the account chained its record first: chain after it.
          if (!isLostRace(error) || attempt >= POPULATION_ATTEMPTS) throw error;
        }
      }
    },

    async rememberCreator(hint) {
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              [pk]: creatorPk(hint.accountId, hint.subject),
              [sk]: CREATOR_SK,
              [STATE_BY_ACCOUNT_INDEX.partitionKey]: hint.accountId,
              [STATE_BY_ACCOUNT_INDEX.sortKey]: creatorIndexId(hint.accountId, hint.subject),
              ...hint,
            },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': pk },
          }),
        );
      } catch (error) {
        if (!isConditionFailed(error)) throw error; // already known: the first creation wins
      }
    },

    getState,

    async openRequests() {
      const states: CredentialState[] = [];
      const pages = paginateScan(
        { client: documents },
        {
          TableName: tableName,
          IndexName: STATE_BY_ACCOUNT_INDEX.name,
          FilterExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending' },
        },
      );
      for await (const page of pages) for (const item of page.Items ?? []) states.push(toState(item));
      return states;
    },

    async *openStatesByOwner(shard, after) {
      const { name, partitionKey, sortKey } = OPEN_BY_OWNER_INDEX;
      const pages = paginateQuery(
        { client: documents },
        {
          TableName: tableName,
          IndexName: name,
          KeyConditionExpression: `#shard = :shard${after === undefined ? '' : ' AND #owner > :after'}`,
          ExpressionAttributeNames: {
            '#shard': partitionKey,
            ...(after !== undefined && { '#owner': sortKey }),
          },
          ExpressionAttributeValues: {
            ':shard': openShard(shard),
            ...(after !== undefined && { ':after': after }),
          },
        },
      );
      for await (const page of pages) for (const item of page.Items ?? []) yield toState(item);
    },

    async transition(credentialId, decide, options) {
      let current = options && 'known' in options ? options.known : await getState(credentialId);
      const release = options?.release;
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        // The write's condition (`unchangedSince`) then keeps it this holder's until the write lands.
        if (release !== undefined && current?.claim?.holder !== release) return undefined;
        const change = decide(current);
        if (!change) return undefined;
        if (!change.decision) {
          if (await writeState(credentialId, current, change)) return undefined;
        } else {
          const written = await write(credentialId, current, change, release);
          if (written) return written;
        }
        current = await getState(credentialId);
      }
      throw new StaleStateError(
        `${credentialId}: the state changed under ${MAX_ATTEMPTS} attempts to record a decision`,
      );
    },

    async getStates(credentialIds) {
      const states = new Map<string, CredentialState>();
      const unique = [...new Set(credentialIds)];
      for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
        let keys: Record<string, unknown>[] | undefined = unique
          .slice(i, i + BATCH_GET_LIMIT)
          .map((id) => ({ [pk]: credentialPk(id), [sk]: STATE_SK }));
        // Unprocessed keys (throttling) are asked again until none is left.
        while (keys && keys.length > 0) {
          const page: BatchGetCommandOutput = await documents.send(
            new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }),
          );
          for (const item of page.Responses?.[tableName] ?? []) {
            const state = toState(item);
            states.set(state.credentialId, state);
          }
          keys = page.UnprocessedKeys?.[tableName]?.Keys;
        }
      }
      return states;
    },

    async claim(credentialId, request) {
      const until = new Date(request.now.getTime() + request.leaseMs).toISOString();
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const state = await getState(credentialId);
        if (!state || !request.isDue(state)) return { notDue: state };
        const held = state.claim;
        if (held && held.holder !== request.holder && held.until > request.now.toISOString()) {
          return { heldBy: held };
        }
        const claim: Claim = { holder: request.holder, action: request.action, until };
        try {
          await documents.send(
            new UpdateCommand({
              TableName: tableName,
              Key: { [pk]: credentialPk(credentialId), [sk]: STATE_SK },
              UpdateExpression: 'SET #claim = :claim',
              ...unchangedSince(state, { ':claim': claim }),
            }),
          );
          return { claimed: { ...state, claim }, ...(held && { tookOver: held }) };
        } catch (error) {
          if (!isConditionFailed(error)) throw error;
        }
      }
      throw new StaleStateError(
        `${credentialId}: the state changed under ${MAX_ATTEMPTS} attempts to claim it`,
      );
    },

    release: releaseClaim,

    async rememberMessage(message, shown, now) {
      await documents.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            [pk]: messagePk(message),
            [sk]: MESSAGE_SK,
            requests: shown.map(({ credentialId, requestSeq }) => ({ credentialId, requestSeq })),
            [EXPIRES_AT]: Math.ceil(now.getTime() / 1000) + MESSAGE_TTL_S,
          },
        }),
      );
    },

    async messageRequests(message) {
      const { Item } = await documents.send(
        new GetCommand({
          TableName: tableName,
          Key: { [pk]: messagePk(message), [sk]: MESSAGE_SK },
          ConsistentRead: true,
        }),
      );
      const requests: unknown = Item?.requests;
      return Array.isArray(requests)
        ? requests.filter(
            (r): r is ShownRequest =>
              typeof r?.credentialId === 'string' && typeof r?.requestSeq === 'number',
          )
        : undefined;
    },

    async lease(name, holder, until, now) {
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              [pk]: leasePk(name),
              [sk]: LEASE_SK,
              holder,
              until: until.toISOString(),
              [EXPIRES_AT]: Math.ceil(until.getTime() / 1000) + LEASE_TTL_MARGIN_S,
            },
            ConditionExpression: 'attribute_not_exists(#pk) OR #holder = :holder OR #until < :now',
            ExpressionAttributeNames: { '#pk': pk, '#holder': 'holder', '#until': 'until' },
            ExpressionAttributeValues: { ':holder': holder, ':now': now.toISOString() },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    },

    async unlease(name, holder) {
      try {
        // Expired, not deleted: no reauth function may delete items from the compliance table, and
        // the table's TTL removes it.
        await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { [pk]: leasePk(name), [sk]: LEASE_SK },
            UpdateExpression: 'SET #until = :released',
            ConditionExpression: '#holder = :holder',
            ExpressionAttributeNames: { '#holder': 'holder', '#until': 'until' },
            ExpressionAttributeValues: { ':holder': holder, ':released': new Date(0).toISOString() },
          }),
        );
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    },

    async recalledSlackUser(email, now) {
      const { Item } = await documents.send(
        new GetCommand({ TableName: tableName, Key: { [pk]: slackUserPk(email), [sk]: SLACK_USER_SK } }),
      );
      if (!Item || typeof Item.until !== 'string' || Item.until <= now.toISOString()) return undefined;
      return typeof Item.userId === 'string' ? Item.userId : null;
    },

    async rememberSlackUser(email, userId, until) {
      // Overwritten when looked up again, removed by the TTL: never deleted by reauth.
      await documents.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            [pk]: slackUserPk(email),
            [sk]: SLACK_USER_SK,
            ...(userId !== null && { userId }),
            until: until.toISOString(),
            [EXPIRES_AT]: Math.ceil(until.getTime() / 1000) + LEASE_TTL_MARGIN_S,
          },
        }),
      );
    },

    async reserveBudget(runId, count, max, until) {
      if (count > max) return false;
      try {
        await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { [pk]: budgetPk(runId), [sk]: BUDGET_SK },
            UpdateExpression: 'ADD #used :count SET #expiresAt = :expiresAt',
            ConditionExpression: 'attribute_not_exists(#used) OR #used <= :room',
            ExpressionAttributeNames: { '#used': 'used', '#expiresAt': EXPIRES_AT },
            ExpressionAttributeValues: {
              ':count': count,
              ':room': max - count,
              ':expiresAt': Math.ceil(until.getTime() / 1000),
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
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
  const {
    [STATE_BY_ACCOUNT_INDEX.partitionKey]: _index,
    [OPEN_BY_OWNER_INDEX.partitionKey]: _shard,
    [OPEN_BY_OWNER_INDEX.sortKey]: _owner,
    ...state
  } = withoutKeys(item);
  return state as unknown as CredentialState;
}

function toKeySlot(item: Record<string, unknown>): KeySlotUsage {
  const { accountId, principal, keyCreatedAt, usage, [EXPIRES_AT]: expiresAt } = item;
  return { accountId, principal, keyCreatedAt, usage, expiresAt } as KeySlotUsage;
}

function toCreatorHint(item: Record<string, unknown>): CreatorHint {
  const { accountId, subject, owner, eventName, at, by } = item;
  return { accountId, subject, owner, eventName, at, by } as CreatorHint;
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

/**
 * The condition that a STATE item is still the one read: the same `seq` and the same claim (or none),
 * so neither a decision nor a claim taken since is overwritten. `values` adds the write's own values.
 */
function unchangedSince(state: CredentialState, values: Record<string, unknown> = {}) {
  return {
    ConditionExpression: state.claim
      ? '#seq = :seq AND #claim.#holder = :holder'
      : '#seq = :seq AND attribute_not_exists(#claim)',
    ExpressionAttributeNames: {
      '#seq': 'seq',
      '#claim': 'claim',
      ...(state.claim && { '#holder': 'holder' }),
    },
    ExpressionAttributeValues: {
      ':seq': state.seq,
      ...(state.claim && { ':holder': state.claim.holder }),
      ...values,
    },
  };
}

function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
