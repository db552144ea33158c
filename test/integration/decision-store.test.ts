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

describe('claims: a lease on the IAM side of one credential', () => {
  const NOW = new Date('2026-11-22T12:00:00.000Z');
  const LEASE = 15 * 60_000;
  const isPending = (s: CredentialState) => s.status === 'pending';

  async function pendingCredential(name: string): Promise<string> {
    const id = `${ACCOUNT}:access-key:AKIACLAIM${name}`;
    await store.transition(id, () => change(id, 'flag', 'pending', NOW.toISOString()));
    return id;
  }

  it('is taken by one holder at a time, again by the same holder, and by anyone once it expired', async () => {
    const id = await pendingCredential('ONE');
    const ask = (holder: string, now = NOW) =>
      store.claim(id, { holder, action: 'disable', now, leaseMs: LEASE, isDue: isPending });

    const [a, b] = await Promise.all([ask('job:a'), ask('job:b')]);
    const winner = 'claimed' in a ? 'job:a' : 'job:b';

    expect([a, b].filter((o) => 'claimed' in o)).toHaveLength(1);
    expect([a, b].find((o) => 'heldBy' in o)).toMatchObject({
      heldBy: { holder: winner, action: 'disable' },
    });
    expect(await ask(winner)).toHaveProperty('claimed');
    const later = new Date(NOW.getTime() + LEASE + 1);
    expect(await ask('job:c', later)).toMatchObject({
      claimed: { claim: { holder: 'job:c' } },
      tookOver: { holder: winner },
    });
    expect((await store.getState(id))?.seq).toBe(1);
  });

  it('is not taken when the change is no longer due', async () => {
    const id = await pendingCredential('TWO');
    await store.transition(id, (s) =>
      s ? change(id, 'reauthorize', 'active', NOW.toISOString()) : undefined,
    );

    const outcome = await store.claim(id, {
      holder: 'job:late',
      action: 'disable',
      now: NOW,
      leaseMs: LEASE,
      isDue: isPending,
    });

    expect(outcome).toMatchObject({ notDue: { status: 'active' } });
  });

  it("outlives another writer's decision, and goes with its holder's", async () => {
    const id = await pendingCredential('THREE');
    await store.claim(id, { holder: 'job:h', action: 'disable', now: NOW, leaseMs: LEASE, isDue: isPending });

    await store.transition(id, (s) =>
      s ? change(id, 'reauthorize', 'active', NOW.toISOString(), 'slack:U042') : undefined,
    );
    expect(await store.getState(id)).toMatchObject({ status: 'active', claim: { holder: 'job:h' } });

    await store.transition(
      id,
      (s) => (s ? change(id, 'disable', 'disabled', NOW.toISOString()) : undefined),
      {
        release: 'job:h',
      },
    );
    const state = await store.getState(id);
    expect(state?.status).toBe('disabled');
    expect(state?.claim).toBeUndefined();
    expect(verifyChain(await store.history(id))).toEqual([]);
  });

  it('confirms a change only while its holder still holds the claim: one taken over, or let go, records nothing', async () => {
    const id = await pendingCredential('FIVE');
    const disable = (s: CredentialState | undefined) =>
      s ? change(id, 'disable', 'disabled', NOW.toISOString()) : undefined;
    await store.claim(id, {
      holder: 'job:slow',
      action: 'disable',
      now: NOW,
      leaseMs: LEASE,
      isDue: isPending,
    });
    const later = new Date(NOW.getTime() + LEASE + 1);
    await store.claim(id, {
      holder: 'job:sweep',
      action: 'converge',
      now: later,
      leaseMs: LEASE,
      isDue: () => true,
    });

    const whileTaken = await store.transition(id, disable, { release: 'job:slow' });
    await store.release(id, 'job:sweep');
    const afterRelease = await store.transition(id, disable, { release: 'job:slow' });

    expect([whileTaken, afterRelease]).toEqual([undefined, undefined]);
    expect(await store.getState(id)).toMatchObject({ status: 'pending', seq: 1 });
    expect((await store.history(id)).map((d) => d.action)).toEqual(['flag']);
  });

  it('a decision decided before a claim was taken is decided again on the claimed state, claim kept', async () => {
    const id = await pendingCredential('FOUR');
    const before = await store.getState(id);
    await store.claim(id, { holder: 'job:h', action: 'disable', now: NOW, leaseMs: LEASE, isDue: isPending });

    const seen: (string | undefined)[] = [];
    await store.transition(
      id,
      (s) => {
        seen.push(s?.claim?.holder);
        return s ? change(id, 'remind', 'pending', NOW.toISOString()) : undefined;
      },
      { known: before },
    );

    expect(seen).toEqual([undefined, 'job:h']);
    expect(await store.getState(id)).toMatchObject({ seq: 2, claim: { holder: 'job:h' } });
  });
});

describe('named leases', () => {
  const NOW = new Date('2026-11-22T12:00:00.000Z');
  const until = new Date(NOW.getTime() + 60_000);

  it('are held by one holder until given back or expired', async () => {
    const [a, b] = await Promise.all([
      store.lease('slack:UALICE', 'scan:a', until, NOW),
      store.lease('slack:UALICE', 'scan:b', until, NOW),
    ]);
    expect([a, b].sort()).toEqual([false, true]);
    const holder = a ? 'scan:a' : 'scan:b';
    const other = a ? 'scan:b' : 'scan:a';

    await store.unlease('slack:UALICE', other);
    expect(await store.lease('slack:UALICE', other, until, NOW)).toBe(false);
    await store.unlease('slack:UALICE', holder);
    expect(await store.lease('slack:UALICE', other, until, NOW)).toBe(true);
    expect(await store.lease('slack:UALICE', holder, until, new Date(until.getTime() + 1))).toBe(true);
  });
});
