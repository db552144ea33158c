import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore, type DecisionStore } from '../../lambdas/shared/adapters/decision-store';
import {
  type CredentialState,
  type DecisionAction,
  SCHEMA_VERSION,
  type Transition,
  verifyChain,
} from '../../lambdas/shared/domain/decision';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { useEmulator } from '../support/emulator';

const { clients } = useEmulator();
const TABLE = 'decisions-under-test';
const ACCOUNT = '123456789012';
let store: DecisionStore;

beforeAll(async () => {
  await ensureDecisionTable(clients.dynamodb, TABLE);
  store = createDecisionStore(clients.documents, TABLE);
});

/** A transition for a user's key: `action` moves it to `status`, decided at `at`. */
function change(
  credentialId: string,
  action: DecisionAction,
  status: CredentialState['status'],
  at: string,
  actor = 'system:scan',
): Transition {
  const subject = {
    credentialId,
    accountId: ACCOUNT,
    kind: 'access-key' as const,
    principal: 'svc-etl',
    owner: 'U042',
  };
  return {
    state: { ...subject, status, triggers: status === 'pending' ? ['idle'] : [] },
    decision: {
      ...subject,
      action,
      reason: `${action} by ${actor}`,
      actor,
      at,
      mode: 'report',
      policyId: 'sha256:0123456789abcdef',
      evidence: { idleDays: 120, lastUsedAt: null },
    },
  };
}

describe('the decision store on DynamoDB', () => {
  it('writes a STATE item and a DECISION item with every top-level attribute an export reader needs', async () => {
    const id = `${ACCOUNT}:access-key:AKIAFIRST`;

    const decision = await store.transition(id, () =>
      change(id, 'flag', 'pending', '2026-11-22T12:00:00.000Z'),
    );

    const decisions = await clients.dynamodb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :d)',
        ExpressionAttributeValues: { ':pk': { S: `CRED#${id}` }, ':d': { S: 'DECISION#' } },
      }),
    );
    expect(decisions.Items).toHaveLength(1);
    const item = decisions.Items?.[0] ?? {};
    expect(item.sk?.S).toBe('DECISION#2026-11-22T12:00:00.000Z#000001');
    for (const name of [
      'credentialId',
      'accountId',
      'kind',
      'principal',
      'owner',
      'action',
      'reason',
      'actor',
      'at',
      'mode',
      'policyId',
      'prevHash',
      'hash',
    ]) {
      expect(item[name]?.S, name).toBeTruthy();
    }
    expect(item.schemaVersion?.N).toBe(String(SCHEMA_VERSION));
    expect(item.evidence?.M?.idleDays?.N).toBe('120');
    expect(item.hash?.S).toBe(decision?.hash);

    const state = await clients.dynamodb.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `CRED#${id}` }, sk: { S: 'STATE' } } }),
    );
    expect(state.Item?.status?.S).toBe('pending');
    expect(state.Item?.seq?.N).toBe('1');
    expect(state.Item?.lastHash?.S).toBe(decision?.hash);
  });

  it('chains each decision to the one before, and the chain reads back intact', async () => {
    const id = `${ACCOUNT}:access-key:AKIACHAIN`;

    await store.transition(id, () => change(id, 'flag', 'pending', '2026-11-01T00:00:00.000Z'));
    await store.transition(id, () =>
      change(id, 'reauthorize', 'active', '2026-11-02T00:00:00.000Z', 'slack:U042'),
    );
    await store.transition(id, () => change(id, 'flag', 'pending', '2026-11-03T00:00:00.000Z'));
    const history = await store.history(id);

    expect(history.map((d) => [d.seq, d.action])).toEqual([
      [1, 'flag'],
      [2, 'reauthorize'],
      [3, 'flag'],
    ]);
    expect(history[1]?.prevHash).toBe(history[0]?.hash);
    expect(verifyChain(history)).toEqual([]);
  });

  it('shows a decision altered in the table as a broken chain', async () => {
    const id = `${ACCOUNT}:access-key:AKIATAMPER`;
    await store.transition(id, () => change(id, 'flag', 'pending', '2026-11-01T00:00:00.000Z'));
    await store.transition(id, () =>
      change(id, 'reauthorize', 'active', '2026-11-02T00:00:00.000Z', 'slack:U042'),
    );
    const [first] = await store.history(id);

    // Someone rewrites who approved it, straight in the table.
    await clients.documents.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk: `CRED#${id}`, sk: 'DECISION#2026-11-02T00:00:00.000Z#000002' },
        UpdateExpression: 'SET actor = :mallory',
        ExpressionAttributeValues: { ':mallory': 'slack:UMALLORY' },
      }),
    );

    const problems = verifyChain(await store.history(id));
    expect(first?.seq).toBe(1);
    expect(problems).toEqual([
      expect.objectContaining({ seq: 2, problem: expect.stringContaining('altered') }),
    ]);
  });

  it('writes nothing when the decider finds nothing to record', async () => {
    const id = `${ACCOUNT}:access-key:AKIANOOP`;
    await store.transition(id, () => change(id, 'flag', 'pending', '2026-11-01T00:00:00.000Z'));

    const written = await store.transition(id, (current) =>
      current?.status === 'pending' ? undefined : change(id, 'flag', 'pending', '2026-11-02T00:00:00.000Z'),
    );

    expect(written).toBeUndefined();
    expect(await store.history(id)).toHaveLength(1);
    expect((await store.getState(id))?.seq).toBe(1);
  });

  it('loses no decision when two writers race on one credential', async () => {
    const id = `${ACCOUNT}:access-key:AKIARACE`;
    await store.transition(id, () => change(id, 'flag', 'pending', '2026-11-01T00:00:00.000Z'));
    const stale = await store.getState(id);
    // Both writers start from the same state, as a scan and a Slack click would.
    const writers = Array.from({ length: 6 }, (_, n) =>
      store.transition(
        id,
        () => change(id, 'remind', 'pending', `2026-11-02T00:00:0${n}.000Z`, `system:writer-${n}`),
        {
          known: stale,
        },
      ),
    );

    const written = await Promise.all(writers);

    const history = await store.history(id);
    expect(written.every((decision) => decision !== undefined)).toBe(true);
    expect(history).toHaveLength(7);
    expect(new Set(history.slice(1).map((d) => d.actor)).size).toBe(6);
    expect(verifyChain(history)).toEqual([]);
    expect((await store.getState(id))?.seq).toBe(7);
  });

  it('re-decides on the state another writer left, instead of overwriting it', async () => {
    const id = `${ACCOUNT}:access-key:AKIAREDECIDE`;
    await store.transition(id, () => change(id, 'flag', 'pending', '2026-11-01T00:00:00.000Z'));
    const seenByScan = await store.getState(id);
    // The owner reauthorizes while the scan is still working from what it read before.
    await store.transition(id, () =>
      change(id, 'reauthorize', 'active', '2026-11-02T00:00:00.000Z', 'slack:U042'),
    );

    // The scan would flag it again only if it were still pending; it sees the reauthorization.
    const written = await store.transition(
      id,
      (current) =>
        current?.status === 'pending'
          ? change(id, 'remind', 'pending', '2026-11-02T00:00:01.000Z')
          : undefined,
      { known: seenByScan },
    );

    expect(written).toBeUndefined();
    expect((await store.getState(id))?.status).toBe('active');
    expect((await store.history(id)).map((d) => d.action)).toEqual(['flag', 'reauthorize']);
  });

  it("loads an account's states through its index, and only that account's", async () => {
    const other = '210987654321:access-key:AKIAOTHER';
    await store.transition(other, () => ({
      ...change(other, 'flag', 'pending', '2026-11-01T00:00:00.000Z'),
      state: {
        ...change(other, 'flag', 'pending', '2026-11-01T00:00:00.000Z').state,
        accountId: '210987654321',
      },
    }));

    const states = await store.loadStates(ACCOUNT);

    expect(states.size).toBeGreaterThanOrEqual(5);
    expect(states.has(other)).toBe(false);
    expect(states.get(`${ACCOUNT}:access-key:AKIACHAIN`)).toMatchObject({ status: 'pending', seq: 3 });
  });
});
