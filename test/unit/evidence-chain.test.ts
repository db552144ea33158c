import { mkdtemp, readdir, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chainDecision,
  type Decision,
  type DecisionAction,
  GENESIS_HASH,
  hashDecision,
} from '../../lambdas/shared/domain/decision';
import { verifyExport } from '../../lambdas/shared/evidence/evidence-report';
import { createExportWriter } from '../../lambdas/shared/evidence/export-writer';
import { credentialPk, decisionSk } from '../../lambdas/shared/table-layout';

const ACCOUNT = '123456789012';
const ACTIONS: DecisionAction[] = ['flag', 'notify', 'remind', 'reauthorize'];

/** A credential's decisions as exported items: flag, notify, remind, reauthorize, one day apart. */
function chainItems(keyId: string, count = 4): Record<string, unknown>[] {
  const credentialId = `${ACCOUNT}:access-key:${keyId}`;
  const items: Record<string, unknown>[] = [];
  let previous = { seq: 0, lastHash: GENESIS_HASH };
  for (let i = 0; i < count; i += 1) {
    const decision: Decision = chainDecision(
      {
        credentialId,
        accountId: ACCOUNT,
        kind: 'access-key',
        principal: 'svc-etl',
        owner: 'U042',
        action: ACTIONS[i % ACTIONS.length] as DecisionAction,
        reason: `step ${i + 1}`,
        actor: 'system:scan',
        at: new Date(Date.UTC(2026, 10, 1 + i)).toISOString(),
        mode: 'report',
        policyId: 'sha256:0123456789abcdef',
        evidence: { idleDays: 120 + i, lastUsedAt: null, triggers: ['idle'] },
      },
      previous,
    );
    previous = { seq: decision.seq, lastHash: decision.hash };
    items.push({ pk: credentialPk(credentialId), sk: decisionSk(decision.at, decision.seq), ...decision });
  }
  return items;
}

async function writeExport(files: Record<string, unknown>[][]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'reauth-chain-'));
  const writer = createExportWriter(root, { exportId: '01700000000000-abcdef01' });
  for (const items of files) await writer.addFile(items);
  await writer.close();
  return root;
}

async function verify(root: string) {
  return (await verifyExport({ kind: 'dir', path: root })).verdict;
}

describe('verifying the hash chains of an export', () => {
  it('finds every chain intact when nothing was changed', async () => {
    const root = await writeExport([chainItems('AKIAONE'), chainItems('AKIATWO', 3)]);

    const verdict = await verify(root);

    expect(verdict).toMatchObject({ credentials: 2, decisions: 7, duplicates: 0, issues: [] });
  });

  it('names the item whose reason was altered after it was written', async () => {
    const items = chainItems('AKIAONE');
    items[2] = { ...items[2], reason: 'nothing to see here' };
    const root = await writeExport([items]);

    const { issues } = await verify(root);

    expect(issues).toEqual([
      expect.objectContaining({
        credentialId: `${ACCOUNT}:access-key:AKIAONE`,
        seq: 3,
        at: '2026-11-03T00:00:00.000Z',
        pk: `CRED#${ACCOUNT}:access-key:AKIAONE`,
        sk: 'DECISION#2026-11-03T00:00:00.000Z#000003',
        problem: 'hash does not match the content (altered after it was written)',
      }),
    ]);
    expect(issues[0]?.where).toMatch(/\.json\.gz:3$/);
  });

  it('catches a removed decision, and a decision re-hashed to hide an edit', async () => {
    const gap = chainItems('AKIAGAP');
    gap.splice(1, 1);
    const rehashed = chainItems('AKIAREHASH');
    const { pk: _pk, sk: _sk, ...second } = rehashed[1] as Record<string, unknown>;
    const first = rehashed[0] as unknown as Decision;
    const forged = chainDecision(
      { ...(second as unknown as Decision), reason: 'forged' },
      {
        seq: 1,
        lastHash: first.hash,
      },
    );
    rehashed[1] = { ...rehashed[1], ...forged };
    const root = await writeExport([gap, rehashed]);

    const { issues } = await verify(root);

    expect(issues.map((i) => [i.credentialId.split(':')[2], i.seq, i.problem])).toEqual([
      ['AKIAGAP', 2, expect.stringMatching(/^decision seq 2 is missing/)],
      ['AKIAREHASH', 3, 'prevHash does not match the hash of seq 2'],
    ]);
  });

  it('catches a gap, a fork and a broken link when a chain is read newest first and out of order', async () => {
    // Prepare: seq 3 removed, seq 6 rewritten with a wrong prevHash, and a second seq 2 forked off; in
    // either order of the two files, links land before, between and after those already read.
    const [one, two, , four, five, six] = chainItems('AKIAFORK', 6) as Record<string, unknown>[];
    const unkeyed = (item: Record<string, unknown> | undefined) => {
      const { pk: _pk, sk: _sk, ...decision } = item ?? {};
      return decision as unknown as Decision;
    };
    const relinked = chainDecision(unkeyed(six), { seq: 5, lastHash: unkeyed(one).hash });
    const forked = chainDecision(
      { ...unkeyed(two), reason: 'forked' },
      { seq: 1, lastHash: unkeyed(one).hash },
    );
    const root = await writeExport([
      [{ ...six, ...relinked }, two, five] as Record<string, unknown>[],
      [one, four, { ...two, ...forked }] as Record<string, unknown>[],
    ]);

    // Act
    const { issues, decisions } = await verify(root);

    // Assess
    expect(decisions).toBe(5);
    expect(issues.map((i) => [i.seq, i.problem])).toEqual([
      [2, expect.stringMatching(/^two different decisions with seq 2 \(the other at .*\.json\.gz:[23]\)$/)],
      [
        3,
        expect.stringMatching(
          /^decision seq 3 is missing \(removed from the record; seq 4 at .*\.json\.gz:2 follows\)$/,
        ),
      ],
      [6, 'prevHash does not match the hash of seq 5'],
    ]);
  });

  it('catches the latest decisions missing, from the state item', async () => {
    const items = chainItems('AKIATAIL');
    const last = items.pop() as unknown as Decision;
    const state = {
      pk: credentialPk(last.credentialId),
      sk: 'STATE',
      credentialId: last.credentialId,
      owner: 'U042',
      status: 'active',
      seq: 4,
      lastHash: last.hash,
      updatedAt: last.at,
    };
    const root = await writeExport([[...items, state]]);

    const { issues } = await verify(root);

    expect(issues).toEqual([
      expect.objectContaining({ seq: 4, sk: 'STATE', problem: expect.stringMatching(/latest are missing/) }),
    ]);
  });

  it('catches the latest decision rewritten with its hash recomputed, from the state item', async () => {
    const items = chainItems('AKIAFORGED');
    const { pk, sk, ...stored } = items[3] as Record<string, unknown>;
    const original = stored as unknown as Decision;
    const { hash: _old, ...tip } = original;
    const forged = { ...tip, reason: 'approved by the CISO' };
    items[3] = { pk, sk, ...forged, hash: hashDecision(forged) };
    const state = {
      pk: credentialPk(original.credentialId),
      sk: 'STATE',
      credentialId: original.credentialId,
      owner: 'U042',
      status: 'active',
      seq: 4,
      lastHash: original.hash,
      updatedAt: original.at,
    };
    const root = await writeExport([[...items, state]]);

    const { issues } = await verify(root);

    expect(issues).toEqual([
      expect.objectContaining({
        seq: 4,
        sk: 'STATE',
        problem: expect.stringMatching(/^the state's lastHash does not match the hash of seq 4/),
      }),
    ]);
  });

  it('stays intact when a chain is spread over files in any order, and counts repeats once', async () => {
    const items = [...chainItems('AKIAONE', 6), ...chainItems('AKIATWO', 5)];
    const shuffled = [...items].reverse();
    const root = await writeExport([
      shuffled.slice(0, 4),
      shuffled.slice(4, 8),
      shuffled.slice(8),
      items.slice(0, 2),
    ]);
    // Renaming the data files changes the order they are read in.
    const data = join(root, 'AWSDynamoDB', '01700000000000-abcdef01', 'data');
    for (const [i, name] of (await readdir(data)).entries())
      await rename(join(data, name), join(data, `${9 - i}.json.gz`));

    const verdict = await verify(root);

    expect(verdict).toMatchObject({ credentials: 2, decisions: 11, duplicates: 2, issues: [] });
  });
});
