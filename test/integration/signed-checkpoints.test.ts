import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { createKmsClient } from '../../lambdas/shared/adapters/aws-clients';
import {
  createCheckpointSigner,
  readCheckpointPublicKey,
} from '../../lambdas/shared/adapters/checkpoint-signer';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import { type Decision, GENESIS_HASH, hashDecision } from '../../lambdas/shared/domain/decision';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import {
  chainPopulation,
  commitToHeads,
  decisionHeadLeaf,
  decodeHeads,
  merkleRoot,
  type PopulationInput,
  type PopulationRecord,
  populationPreimage,
} from '../../lambdas/shared/domain/population';
import { verifyExport, writeEvidenceReport } from '../../lambdas/shared/evidence/evidence-report';
import { decisionSk } from '../../lambdas/shared/table-layout';
import { scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { seedAccount } from '../../scripts/local/seed';
import { captureOutput } from '../support/cli-output';
import { useEmulator } from '../support/emulator';
import { POPULATION_ACCOUNT } from '../support/population-account';
import { exportTable } from '../support/table-export';

const { emulator, clients } = useEmulator();
const ACCOUNT = '123456789012';
const TABLE = 'reauth-checkpoints';
const DAY = 86_400_000;
let exportRoot: string;
let exported: string;
let publicKeyFile: string;
let keyId: string;

type Item = Record<string, AttributeValue>;
const isRun = (item: Record<string, unknown>) =>
  item.pk === `POPULATION#${ACCOUNT}` && String(item.sk).startsWith('RUN#');
const isHead = (item: Record<string, unknown>) => item.pk === `POPULATION#${ACCOUNT}` && item.sk === 'HEAD';

/** A copy of the export with its items (plain values) passed through `edit`, all at once. */
async function rewrite(
  edit: (items: Record<string, unknown>[]) => Record<string, unknown>[],
): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'reauth-checkpoints-'));
  const file = await exportTable(clients.dynamodb, TABLE, root);
  const items = gunzipSync(await readFile(exported))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((line) => unmarshall((JSON.parse(line) as { Item: Item }).Item));
  const lines = edit(items).map(
    (item) => `${JSON.stringify({ Item: marshall(item, { removeUndefinedValues: true }) })}\n`,
  );
  await writeFile(file, gzipSync(lines.join('')));
  return root;
}

/**
 * The account's population chain rewritten from its first record with `change` applied and every hash
 * recomputed (seq, prevHash, hash, the head), each record keeping the signature it had or given `sign`'s.
 */
function rechain(
  change: (input: PopulationInput) => PopulationInput,
  signatures: (record: PopulationRecord, old: PopulationRecord['signature']) => PopulationRecord['signature'],
) {
  return (items: Record<string, unknown>[]) => {
    const runs = items.filter(isRun).sort((a, b) => Number(a.seq) - Number(b.seq));
    let previous: PopulationRecord | undefined;
    const rewritten = runs.map((item) => {
      const { pk, sk, seq: _s, prevHash: _p, hash: _h, schemaVersion: _v, signature, ...input } = item;
      const record = chainPopulation(change(input as unknown as PopulationInput), previous);
      previous = record;
      const signed = signatures(record, signature as PopulationRecord['signature']);
      return { pk, sk, ...record, ...(signed && { signature: signed }) };
    });
    return [
      ...items.filter((item) => !isRun(item) && !isHead(item)),
      ...rewritten,
      { pk: `POPULATION#${ACCOUNT}`, sk: 'HEAD', seq: previous?.seq, hash: previous?.hash },
    ];
  };
}

const isDecisionOf = (credentialId: string) => (item: Record<string, unknown>) =>
  item.pk === `CRED#${credentialId}` && item.sk !== 'STATE' && typeof item.prevHash === 'string';

/**
 * A credential's decision chain rewritten from its first decision (`change` applied to each), every hash
 * recomputed and its STATE item's lastHash with them: each link and the state's anchor hold again.
 */
function rewriteChain(credentialId: string, change: (decision: Decision) => Decision) {
  return (items: Record<string, unknown>[]) => {
    let lastHash = GENESIS_HASH;
    const rewritten = items
      .filter(isDecisionOf(credentialId))
      .sort((a, b) => Number(a.seq) - Number(b.seq))
      .map((item) => {
        const { pk, sk, hash: _hash, ...rest } = item;
        const decision = { ...change(rest as unknown as Decision), prevHash: lastHash };
        lastHash = hashDecision(decision);
        return { pk, sk, ...decision, hash: lastHash };
      });
    return [
      ...items
        .filter((item) => !isDecisionOf(credentialId)(item))
        .map((item) =>
          item.pk === `CRED#${credentialId}` && item.sk === 'STATE' ? { ...item, lastHash } : item,
        ),
      ...rewritten,
    ];
  };
}

/** The heads a record names, their hashes read from `items` (as the forger's rewritten export holds them). */
function headsIn(items: Record<string, unknown>[], heads: string) {
  return commitToHeads(
    decodeHeads(heads).map(({ credentialId, seq }) => ({
      credentialId,
      seq,
      lastHash:
        seq === 0
          ? GENESIS_HASH
          : String(items.find((item) => isDecisionOf(credentialId)(item) && item.seq === seq)?.hash),
    })),
  );
}

/** A credential of the account with decisions, from the export: the chain the tests rewrite. */
async function decidedCredential(): Promise<string> {
  const items = gunzipSync(await readFile(exported))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((line) => unmarshall((JSON.parse(line) as { Item: Item }).Item));
  // The longest chain: rewritten from its start, every decision of it changes.
  const state = items
    .filter((item) => item.sk === 'STATE' && Number(item.seq) >= 1)
    .sort((a, b) => Number(b.seq) - Number(a.seq))[0];
  expect(state).toBeDefined();
  return String(state?.credentialId);
}

beforeAll(async () => {
  await ensureDecisionTable(clients.dynamodb, TABLE);
  await seedAccount(emulator, clients, POPULATION_ACCOUNT, new Date());
  const kms = createKmsClient();
  const { KeyMetadata } = await kms.send(
    new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
  );
  keyId = KeyMetadata?.KeyId as string;
  const store = createDecisionStore(clients.documents, TABLE);
  const signer = createCheckpointSigner(kms, keyId);
  for (const day of [0, 1])
    await scanAccount(
      {
        iam: clients.iam,
        secretsManager: clients.secretsManager,
        store,
        stacks: stackOwnersOfThisAccount(),
        signer,
      },
      { accountId: ACCOUNT, policy: parsePolicyConfig({}), now: new Date(Date.now() + day * DAY) },
    );
  exportRoot = await mkdtemp(join(tmpdir(), 'reauth-checkpoints-'));
  exported = await exportTable(clients.dynamodb, TABLE, exportRoot);
  publicKeyFile = join(exportRoot, 'checkpoint-key.pem');
  await writeFile(publicKeyFile, await readCheckpointPublicKey(kms, keyId));
});

afterEach(() => vi.restoreAllMocks());

const publicKey = () => readFile(publicKeyFile, 'utf8').then((pem) => createPublicKey(pem));

describe('signed population checkpoints', () => {
  it('each record is signed, and commits to the heads of the decision chains', async () => {
    const items = await rewrite((all) => all);
    const { verdict } = await verifyExport({ kind: 'dir', path: items }, { publicKey: await publicKey() });
    expect(verdict.issues).toEqual([]);
    expect(verdict.populationSignatures).toEqual({ checked: true, signed: 2, unsigned: 0 });
    // The last record's decisionHeads is the Merkle root of the states' heads as the export holds them.
    const plain = gunzipSync(await readFile(exported))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => unmarshall((JSON.parse(line) as { Item: Item }).Item));
    const last = plain.filter(isRun).sort((a, b) => Number(b.seq) - Number(a.seq))[0];
    const states = plain.filter((item) => item.sk === 'STATE');
    expect(states.length).toBeGreaterThan(0);
    expect(last?.decisionHeads).toBe(
      merkleRoot(
        states.map((s) => decisionHeadLeaf(String(s.credentialId), Number(s.seq), String(s.lastHash))),
      ),
    );
    // ... and names which chains and seqs those are, so that verify rebuilds it from the export's chains.
    expect(decodeHeads(String(last?.heads))).toEqual(
      states
        .map((s) => ({ credentialId: String(s.credentialId), seq: Number(s.seq) }))
        .sort((a, b) => (`${a.credentialId}|${a.seq}` < `${b.credentialId}|${b.seq}` ? -1 : 1)),
    );
    expect(verdict.decisionHeads).toEqual({ accounts: 1, chains: states.length, unchecked: 0 });
    expect(last?.signature).toMatchObject({
      algorithm: 'ECDSA_SHA_256',
      keyId: expect.stringContaining(keyId),
    });
  });

  it('reauth verify --public-key passes the export as written, offline', async () => {
    const output = captureOutput();
    expect(await main(['verify', '--export', exportRoot, '--public-key', publicKeyFile])).toBe(0);
    expect(output.join('\n')).toContain(
      "Every population record's signature verifies with the public key given (2 signed, 0 unsigned).",
    );
    expect(output.join('\n')).toMatch(
      /Decision chain heads: [1-9]\d* chains of 1 accounts checked against each account's latest population record whose signature verifies\./,
    );
  });

  it('reauth verify --key-id reads the public key from KMS', async () => {
    const output = captureOutput();
    expect(await main(['verify', '--export', exportRoot, '--key-id', keyId, '--json'])).toBe(0);
    expect(JSON.parse(output.join('\n')).populationSignatures).toEqual({
      checked: true,
      signed: 2,
      unsigned: 0,
    });
  });

  it('fails when the chain is rewritten from its start with every hash recomputed', async () => {
    // Each hash and link is consistent again: only the signatures can tell.
    const forged = await rewrite(
      rechain(
        (input) => ({ ...input, findings: 0 }),
        (_record, old) => old,
      ),
    );
    const unsigned = await verifyExport({ kind: 'dir', path: forged });
    expect(unsigned.verdict.issues).toEqual([]);
    const { verdict } = await verifyExport({ kind: 'dir', path: forged }, { publicKey: await publicKey() });
    expect(verdict.issues).toEqual([
      expect.objectContaining({ seq: 1, problem: expect.stringMatching(/signature .* does not verify/) }),
      expect.objectContaining({ seq: 2, problem: expect.stringMatching(/signature .* does not verify/) }),
    ]);
    const output = captureOutput();
    expect(await main(['verify', '--export', forged, '--public-key', publicKeyFile])).toBe(1);
    expect(output.join('\n')).toContain('Hash chains BROKEN: 2 problems');
  });

  it('fails when a decision chain is rewritten from its start, its hashes and STATE recomputed', async () => {
    const credentialId = await decidedCredential();
    // Every link and the state's anchor hold: only the heads the population records name can tell.
    const forged = await rewrite(
      rewriteChain(credentialId, (decision) => ({ ...decision, reason: `${decision.reason} (rewritten)` })),
    );
    for (const options of [{}, { publicKey: await publicKey() }]) {
      const { verdict } = await verifyExport({ kind: 'dir', path: forged }, options);
      expect(verdict.issues).toEqual([
        expect.objectContaining({
          credentialId: `population:${ACCOUNT}`,
          seq: 2,
          problem: expect.stringMatching(
            /heads of the \d+ decision chains it names do not give its decisionHeads/,
          ),
        }),
      ]);
    }
    const output = captureOutput();
    expect(await main(['verify', '--export', forged, '--public-key', publicKeyFile])).toBe(1);
    expect(output.join('\n')).toContain('do not give its decisionHeads (signed): a chain was rewritten');
  });

  it('fails on the signature when the population records are recomputed for the rewritten chain too', async () => {
    const credentialId = await decidedCredential();
    // The forger's whole export: the chain, its STATE, and each population record's heads and hashes
    // recomputed for it. Every hash, link, anchor and head agrees; the old signatures no longer verify.
    const forged = await rewrite((items) => {
      const chains = rewriteChain(credentialId, (decision) => ({
        ...decision,
        reason: `${decision.reason} (rewritten)`,
      }))(items);
      return rechain(
        (input) => ({ ...input, ...headsIn(chains, String(input.heads)) }),
        (_record, old) => old,
      )(chains);
    });
    const unchecked = await verifyExport({ kind: 'dir', path: forged });
    expect(unchecked.verdict.issues).toEqual([]);
    const { verdict } = await verifyExport({ kind: 'dir', path: forged }, { publicKey: await publicKey() });
    expect(verdict.issues).toEqual([
      expect.objectContaining({ seq: 1, problem: expect.stringMatching(/signature .* does not verify/) }),
      expect.objectContaining({ seq: 2, problem: expect.stringMatching(/signature .* does not verify/) }),
    ]);
    // No record verified, so none is trusted to name the heads: verify says so.
    expect(verdict.decisionHeads).toEqual({ accounts: 0, chains: 0, unchecked: 1 });
    const output = captureOutput();
    expect(await main(['verify', '--export', forged, '--public-key', publicKeyFile])).toBe(1);
    expect(output.join('\n')).toContain('1 accounts NOT checked (no verified record names its heads)');
  });

  it('passes decisions written after the population record: they are past the heads it names', async () => {
    const credentialId = await decidedCredential();
    // As a Slack answer after the scans would: one more decision chained on the tip, the STATE moved on.
    const later = await rewrite((items) => {
      const tip = items
        .filter(isDecisionOf(credentialId))
        .sort((a, b) => Number(b.seq) - Number(a.seq))[0] as Record<string, unknown>;
      const { pk, sk: _sk, hash, ...rest } = tip;
      const seq = Number(tip.seq) + 1;
      const at = new Date(Date.now() + 3 * DAY).toISOString();
      const decision = { ...rest, seq, at, prevHash: hash, reason: 'later' } as unknown as Decision;
      const next = { pk, sk: decisionSk(at, seq), ...decision, hash: hashDecision(decision) };
      return [
        ...items.map((item) =>
          item.pk === `CRED#${credentialId}` && item.sk === 'STATE'
            ? { ...item, seq, lastHash: next.hash }
            : item,
        ),
        next,
      ];
    });
    const { verdict } = await verifyExport({ kind: 'dir', path: later }, { publicKey: await publicKey() });
    expect(verdict.issues).toEqual([]);
    expect(verdict.decisions).toBeGreaterThan(0);
  });

  it('fails when the rewritten chain is signed with another key', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // A real ECDSA P-256 signature of each forged record, by a key that is not the stack's.
    const forged = await rewrite(
      rechain(
        (input) => ({ ...input, findings: 0 }),
        (record) => ({
          keyId: 'another',
          algorithm: 'ECDSA_SHA_256',
          value: sign('sha256', Buffer.from(populationPreimage(record)), privateKey).toString('base64'),
        }),
      ),
    );
    const { verdict } = await verifyExport({ kind: 'dir', path: forged }, { publicKey: await publicKey() });
    expect(verdict.issues.map((issue) => issue.problem)).toEqual([
      expect.stringMatching(/key another\) does not verify/),
      expect.stringMatching(/key another\) does not verify/),
    ]);
  });

  it('reports a record without a signature as unsigned, and says when signatures were not checked', async () => {
    const stripped = await rewrite((items) =>
      items.map((item) => (isRun(item) && item.seq === 2 ? { ...item, signature: undefined } : item)),
    );
    const { verdict } = await verifyExport({ kind: 'dir', path: stripped }, { publicKey: await publicKey() });
    expect(verdict.issues).toEqual([
      expect.objectContaining({ seq: 2, problem: expect.stringMatching(/unsigned/) }),
    ]);
    const output = captureOutput();
    expect(await main(['verify', '--export', stripped])).toBe(0);
    expect(output.join('\n')).toContain(
      'Population signatures NOT checked (1 signed, 1 unsigned): give --public-key <file> or --key-id <id> to check them.',
    );
  });

  it('the report shows each scan signed or unsigned: population.csv a row each, the page each account and day', async () => {
    const stripped = await rewrite((items) =>
      items.map((item) => (isRun(item) && item.seq === 2 ? { ...item, signature: undefined } : item)),
    );
    const out = join(stripped, 'report');
    await writeEvidenceReport({ kind: 'dir', path: stripped }, out, {
      publicKey: await publicKey(),
      asOf: new Date(Date.now() + DAY + 60_000),
    });
    const csv = (await readFile(join(out, 'population.csv'), 'utf8')).trim().split('\r\n');
    expect(csv[0]?.split(',').at(-1)).toBe('signature');
    expect(csv.slice(1).map((line) => line.split(',').at(-1))).toEqual(['verified', 'unsigned']);
    const page = await readFile(join(out, 'report.html'), 'utf8');
    const byDay = page.match(/Scans by day<\/h3>.*?<\/table>/s)?.[0] ?? '';
    // The unsigned column: the first day's scan signed, the second's not.
    expect(
      byDay
        .match(/<tr>.*?<\/tr>/g)
        ?.slice(1)
        .map((row) => row.match(/>(\d+)<\/td><\/tr>$/)?.[1]),
    ).toEqual(['0', '1']);
    expect(page).toMatch(/Latest scan of each account<\/h3>.*UNSIGNED/s);
    // Without the key the signed record is signed, not checked.
    const unchecked = join(stripped, 'unchecked');
    await writeEvidenceReport({ kind: 'dir', path: stripped }, unchecked, {
      asOf: new Date(Date.now() + DAY + 60_000),
    });
    const rows = (await readFile(join(unchecked, 'population.csv'), 'utf8')).trim().split('\r\n');
    expect(rows.slice(1).map((line) => line.split(',').at(-1))).toEqual(['signed', 'unsigned']);
  });

  it('reauth scan --key-id signs its population record; without a key it says the record is unsigned', async () => {
    const table = 'reauth-checkpoints-cli';
    await ensureDecisionTable(clients.dynamodb, table);
    let output = captureOutput();
    expect(await main(['scan', '--table', table])).toBe(0);
    expect(output.join('\n')).toContain(
      'Population record 1 written UNSIGNED (no --key-id): reauth verify with the public key will name it.',
    );
    vi.restoreAllMocks();
    output = captureOutput();
    expect(await main(['scan', '--table', table, '--key-id', keyId])).toBe(0);
    expect(output.join('\n')).toMatch(new RegExp(`Population record 2 signed with \\S*${keyId}\\.`));
    // A key it may not sign with (here: none such) fails before the scan records anything.
    vi.restoreAllMocks();
    output = captureOutput();
    expect(await main(['scan', '--table', table, '--key-id', 'alias/not-the-checkpoint-key'])).toBe(1);
    expect(output.join('\n')).toContain('cannot sign with --key-id alias/not-the-checkpoint-key');
    const root = await mkdtemp(join(tmpdir(), 'reauth-checkpoints-'));
    await exportTable(clients.dynamodb, table, root);
    const { verdict } = await verifyExport({ kind: 'dir', path: root }, { publicKey: await publicKey() });
    expect(verdict.populationRecords).toBe(2);
    expect(verdict.populationSignatures).toEqual({ checked: true, signed: 1, unsigned: 1 });
    expect(verdict.issues).toEqual([
      expect.objectContaining({ seq: 1, problem: expect.stringMatching(/unsigned/) }),
    ]);
  });

  it('the scan Lambda signs with the key CHECKPOINT_KEY_ID names', async () => {
    const table = 'reauth-checkpoints-handler';
    await ensureDecisionTable(clients.dynamodb, table);
    vi.resetModules();
    for (const [name, value] of Object.entries({
      TABLE_NAME: table,
      POLICY_FILE: fileURLToPath(new URL('../../scripts/local/demo.config.json', import.meta.url)),
      CHECKPOINT_KEY_ID: keyId,
      POWERTOOLS_LOG_LEVEL: 'WARN',
    }))
      vi.stubEnv(name, value);
    try {
      await (await import('../../lambdas/scan/handler')).handler();
    } finally {
      vi.unstubAllEnvs();
    }
    const root = await mkdtemp(join(tmpdir(), 'reauth-checkpoints-'));
    await exportTable(clients.dynamodb, table, root);
    const { verdict } = await verifyExport({ kind: 'dir', path: root }, { publicKey: await publicKey() });
    expect(verdict.issues).toEqual([]);
    expect(verdict.populationSignatures).toEqual({ checked: true, signed: 1, unsigned: 0 });
  });
});
