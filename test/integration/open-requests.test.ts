import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import {
  credentialPk,
  OPEN_BY_OWNER_INDEX,
  openShardOf,
  STATE_BY_ACCOUNT_INDEX,
  STATE_SK,
} from '../../lambdas/shared/table-layout';
import { type OpenRequestsCursor, tellOpenRequests } from '../../lambdas/shared/use-cases/tell-open-requests';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { flaggedRequest } from '../../scripts/local/flagged-request';
import { useEmulator } from '../support/emulator';

const { clients } = useEmulator();
const TABLE = 'open-requests-under-test';
const NOW = new Date('2026-12-01T09:00:00Z');
const store = createDecisionStore(clients.documents, TABLE);
const SELECTED = new Set(['111111111111', '222222222222']);
const OUTSIDE = '999999999999';
const OWNERS = Array.from({ length: 40 }, (_, i) => `UOWNER${String(i).padStart(2, '0')}`);
let serial = 0;

async function flagged(accountId: string, owner: string): Promise<CredentialState> {
  serial++;
  return flaggedRequest(store, {
    credentialId: `${accountId}:access-key:AKIAOPEN${String(serial).padStart(12, '0')}`,
    principal: `svc-${serial}`,
    owner,
    at: NOW,
    policyId: 'policy',
  });
}

/** Every batch one pass (or several, resumed from each other's cursors) hands to `tell`. */
async function passes(timeLeftAfter: number[], batch: number) {
  const batches: CredentialState[][] = [];
  const cursors: (OpenRequestsCursor | undefined)[] = [];
  let from: OpenRequestsCursor | undefined;
  for (const allowed of timeLeftAfter) {
    let asked = 0;
    from = await tellOpenRequests(store, async (states) => void batches.push(states), {
      accounts: SELECTED,
      ...(from && { from }),
      batch,
      timeLeft: () => ++asked <= allowed,
    });
    cursors.push(from);
    if (!from) break;
  }
  return { batches, cursors };
}

let open: CredentialState[];

beforeAll(async () => {
  // Prepare: 40 owners (several to a shard), each with an open request in both selected accounts, some with two in one;
  // requests of an account outside the run; and answered ones, which are no longer open.
  await ensureDecisionTable(clients.dynamodb, TABLE);
  open = [];
  for (const [i, owner] of OWNERS.entries()) {
    open.push(await flagged('111111111111', owner), await flagged('222222222222', owner));
    if (i % 3 === 0) open.push(await flagged('222222222222', owner));
    await flagged(OUTSIDE, owner);
    const answered = await flagged('111111111111', owner);
    await store.transition(answered.credentialId, (current) => ({
      state: { ...(current as CredentialState), status: 'active' },
      at: NOW.toISOString(),
    }));
  }
});

describe('the open requests a summary tells (the sparse openByOwner index)', () => {
  it('holds only pending states: an answered request leaves it with the write that ends it', async () => {
    const indexed: CredentialState[] = [];
    for (let shard = 0; shard < OPEN_BY_OWNER_INDEX.shards; shard++)
      for await (const state of store.openStatesByOwner(shard)) indexed.push(state);

    expect(indexed.every((state) => state.status === 'pending')).toBe(true);
    // The selected accounts' open requests and the outside account's: none answered.
    expect(indexed).toHaveLength(open.length + OWNERS.length);
    // A state read from the index is a state: none of the index's keys.
    expect(indexed[0]).not.toHaveProperty('openShard');
    expect(indexed[0]).not.toHaveProperty('openOwner');
  });

  it("tells every open request of the selected accounts once, and each owner's in one batch", async () => {
    const { batches, cursors } = await passes([Number.POSITIVE_INFINITY], 4);

    expect(cursors).toEqual([undefined]);
    const told = batches.flat().map((state) => state.credentialId);
    expect(told.sort()).toEqual(open.map((state) => state.credentialId).sort());
    for (const owner of OWNERS)
      expect(batches.filter((b) => b.some((state) => state.owner === owner))).toHaveLength(1);
    // Batches of about 4: an owner's requests (2 or 3) are never split, so none holds more than 4 + 2.
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(6);
  });

  it('stops between owners when time runs out, and the next pass resumes there, repeating and missing none', async () => {
    // Each pass may tell two batches of one owner each; the passes go on from each other's cursors.
    const { batches, cursors } = await passes(Array(40).fill(1), 1);

    expect(cursors.length).toBeGreaterThan(2);
    expect(cursors.at(-1)).toBeUndefined();
    const told = batches.flat().map((state) => state.credentialId);
    expect(new Set(told).size).toBe(told.length);
    expect(told.sort()).toEqual(open.map((state) => state.credentialId).sort());
    for (const owner of OWNERS)
      expect(batches.filter((b) => b.some((state) => state.owner === owner))).toHaveLength(1);
  });

  it("takes in an open request written before the index existed at its account's next scan read", async () => {
    // Prepare: a pending state as an earlier version wrote it, without the index's keys.
    const old = {
      ...(await flagged('333333333333', 'UOLDOWNER')),
      credentialId: '333333333333:access-key:AKIAOLD',
    };
    await clients.documents.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          pk: credentialPk(old.credentialId),
          sk: STATE_SK,
          [STATE_BY_ACCOUNT_INDEX.partitionKey]: old.accountId,
          ...old,
        },
      }),
    );
    const shard = Number(openShardOf('UOLDOWNER').split('#')[1]);
    const indexed = async () => {
      const found: string[] = [];
      for await (const state of store.openStatesByOwner(shard)) found.push(state.credentialId);
      return found;
    };
    expect(await indexed()).not.toContain(old.credentialId);

    // Act: the scan's read of the account (loadStates, which readers call, writes nothing).
    await store.loadStates('333333333333');
    expect(await indexed()).not.toContain(old.credentialId);
    await store.loadAccount('333333333333');

    expect(await indexed()).toContain(old.credentialId);
  });
});
