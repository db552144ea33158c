import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import {
  type Decision,
  type DecisionAction,
  hashDecision,
  type Transition,
} from '../../lambdas/shared/domain/decision';
import { credentialPk, decisionSk } from '../../lambdas/shared/table-layout';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { captureOutput } from '../support/cli-output';
import { useEmulator } from '../support/emulator';

const { clients } = useEmulator();
const TABLE = 'cli-decisions-under-test';
const ACCOUNT = '123456789012';
const store = createDecisionStore(clients.documents, TABLE);

function change(credentialId: string, action: DecisionAction, at: string): Transition {
  const subject = {
    credentialId,
    accountId: ACCOUNT,
    kind: 'access-key' as const,
    principal: 'svc-etl',
    owner: 'U042',
  };
  const status = action === 'reauthorize' ? 'active' : 'pending';
  return {
    state: { ...subject, status, triggers: status === 'pending' ? ['idle'] : [] },
    decision: {
      ...subject,
      action,
      reason: `${action}, as recorded`,
      actor: action === 'reauthorize' ? 'slack:U042' : 'system:scan',
      at,
      mode: 'report',
      policyId: 'sha256:0123456789abcdef',
      evidence: { idleDays: 120, lastUsedAt: null, triggers: ['idle'] },
    },
  };
}

/** Records flag, notify and reauthorize for a new key; returns its id and its three decisions. */
async function recordThree(keyId: string): Promise<{ id: string; decisions: Decision[] }> {
  const id = `${ACCOUNT}:access-key:${keyId}`;
  await store.transition(id, () => change(id, 'flag', '2026-11-01T09:00:00.000Z'));
  await store.transition(id, () => change(id, 'notify', '2026-11-01T09:01:00.000Z'));
  await store.transition(id, () => change(id, 'reauthorize', '2026-11-03T15:00:00.000Z'));
  const decisions = await store.history(id);
  expect(decisions.map((d) => d.seq)).toEqual([1, 2, 3]);
  return { id, decisions };
}

beforeAll(async () => {
  await ensureDecisionTable(clients.dynamodb, TABLE);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('reauth decisions checks the chain against the STATE item', () => {
  it('exits 0 on an untouched history, the tip matching the STATE item', async () => {
    const { id } = await recordThree('AKIAINTACT');
    const output = captureOutput();

    const code = await main(['decisions', id, '--table', TABLE]);

    expect(code).toBe(0);
    expect(output.join('\n')).toMatch(/Hash chain intact: 3 decisions, .* matching the STATE item \(seq 3\)/);
  });

  it('exits 1 naming seq 3 when the last decision was rewritten with its hash recomputed', async () => {
    const { id, decisions } = await recordThree('AKIAREWRITTEN');
    const { hash: _old, ...tip } = decisions[2] as Decision;
    const forged = { ...tip, reason: 'approved by the CISO' };
    await clients.documents.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          pk: credentialPk(id),
          sk: decisionSk(forged.at, forged.seq),
          ...forged,
          hash: hashDecision(forged),
        },
      }),
    );
    const output = captureOutput();

    const code = await main(['decisions', id, '--table', TABLE]);

    expect(code).toBe(1);
    expect(output.join('\n')).toContain('approved by the CISO');
    expect(output.join('\n')).toMatch(
      /Hash chain BROKEN:\n {2}seq 3 \(2026-11-03T15:00:00.000Z\): the state's lastHash does not match the hash of seq 3/,
    );
  });

  it('exits 1 naming seq 3 when the last decision was deleted, in --json too', async () => {
    const { id, decisions } = await recordThree('AKIADELETED');
    const tip = decisions[2] as Decision;
    await clients.documents.send(
      new DeleteCommand({ TableName: TABLE, Key: { pk: credentialPk(id), sk: decisionSk(tip.at, tip.seq) } }),
    );
    const output = captureOutput();

    const code = await main(['decisions', id, '--table', TABLE, '--json']);

    expect(code).toBe(1);
    const result = JSON.parse(output.join('\n'));
    expect(result).toMatchObject({ credentialId: id, chainValid: false, state: { seq: 3 } });
    expect(result.decisions).toHaveLength(2);
    expect(result.problems).toEqual([
      {
        seq: 3,
        problem: 'the state says 3 decisions but the table has up to seq 2 (the latest are missing)',
      },
    ]);
  });

  it('exits 1 when the decisions remain but their STATE item was deleted', async () => {
    const { id } = await recordThree('AKIANOSTATE');
    await clients.documents.send(
      new DeleteCommand({ TableName: TABLE, Key: { pk: credentialPk(id), sk: 'STATE' } }),
    );
    const output = captureOutput();

    const code = await main(['decisions', id, '--table', TABLE]);

    expect(code).toBe(1);
    expect(output.join('\n')).toMatch(/seq 3 \(.*\): no STATE item, but the table holds 3 decisions/);
  });
});
