import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { checkpointValid } from '../../lambdas/shared/domain/checkpoint';
import {
  chainPopulation,
  commitToHeads,
  decisionHeadLeaf,
  decodeHeads,
  MAX_HEADS_CHARS,
  merkleRoot,
  populationHash,
  populationPreimage,
} from '../../lambdas/shared/domain/population';
import { captureOutput } from '../support/cli-output';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const record = chainPopulation(
  {
    accountId: '123456789012',
    at: '2026-12-06T06:00:00.000Z',
    actor: 'system:scan',
    policyId: 'sha256:0123456789abcdef',
    mode: 'report',
    inventoryAt: '2026-12-06T05:59:00.000Z',
    counts: { 'access-key': 2 },
    evaluated: 2,
    findings: 1,
    root: 'a'.repeat(64),
    decisionHeads: 'b'.repeat(64),
  },
  undefined,
);
/** As KMS signs the record's hash as a digest: ECDSA over SHA-256 of the preimage. */
const signatureOf = (preimage: string) => ({
  keyId: 'arn:aws:kms:us-east-1:123456789012:key/k',
  algorithm: 'ECDSA_SHA_256',
  value: sign('sha256', Buffer.from(preimage), privateKey).toString('base64'),
});

afterEach(() => vi.restoreAllMocks());

describe('a population checkpoint', () => {
  it('is a signature over the bytes the record’s hash is the SHA-256 of', () => {
    const preimage = populationPreimage(record);
    expect(createHash('sha256').update(preimage).digest('hex')).toBe(record.hash);
    expect(checkpointValid(preimage, signatureOf(preimage), publicKey)).toBe(true);
  });

  it('is outside the hash: a record signed hashes as before, and its signature is not in the preimage', () => {
    const signed = { ...record, signature: signatureOf(populationPreimage(record)) };
    expect(populationHash(signed)).toBe(record.hash);
    expect(populationPreimage(signed)).toBe(populationPreimage(record));
  });

  it('does not verify for another record, another key, another algorithm or a value that is no signature', () => {
    const preimage = populationPreimage(record);
    const signature = signatureOf(preimage);
    expect(checkpointValid(populationPreimage({ ...record, findings: 0 }), signature, publicKey)).toBe(false);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(checkpointValid(preimage, signature, other)).toBe(false);
    expect(checkpointValid(preimage, { ...signature, algorithm: 'RSASSA_PSS_SHA_256' }, publicKey)).toBe(
      false,
    );
    expect(checkpointValid(preimage, { ...signature, value: 'bm90IGEgc2lnbmF0dXJl' }, publicKey)).toBe(false);
  });
});

describe('reauth verify’s key options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reauth-checkpoint-'));

  it('refuses both --public-key and --key-id, and a file that holds no public key, as usage errors', async () => {
    let output = captureOutput();
    expect(await main(['verify', '--export', dir, '--public-key', 'k.pem', '--key-id', 'alias/k'])).toBe(2);
    expect(output.join('\n')).toContain('give --public-key or --key-id, not both');
    vi.restoreAllMocks();

    const notAKey = join(dir, 'not-a-key.pem');
    writeFileSync(notAKey, 'hello');
    output = captureOutput();
    expect(await main(['verify', '--export', dir, '--public-key', notAKey])).toBe(2);
    expect(output.join('\n')).toContain(`--public-key ${notAKey} holds no public key`);
    vi.restoreAllMocks();

    output = captureOutput();
    expect(await main(['verify', '--export', dir, '--public-key', join(dir, 'missing.pem')])).toBe(2);
    expect(output.join('\n')).toContain('cannot read --public-key');
  });
});

describe("a population record's decision heads", () => {
  const heads = [
    { credentialId: '123456789012:role:deploy', seq: 3, lastHash: 'c'.repeat(64) },
    { credentialId: '123456789012:access-key:AKIA0000000000000001', seq: 0, lastHash: '0'.repeat(64) },
  ];

  it('commits to each head (decisionHeads) and names its chain and seq, sorted (heads)', () => {
    const committed = commitToHeads(heads);
    expect(committed.decisionHeads).toBe(
      merkleRoot(heads.map((h) => decisionHeadLeaf(h.credentialId, h.seq, h.lastHash))),
    );
    expect(decodeHeads(String(committed.heads))).toEqual([
      { credentialId: '123456789012:access-key:AKIA0000000000000001', seq: 0 },
      { credentialId: '123456789012:role:deploy', seq: 3 },
    ]);
    expect(decodeHeads(String(commitToHeads([]).heads))).toEqual([]);
  });

  it('names none past the item-size bound, and still commits to them', () => {
    // Random ids do not compress: enough of them pass MAX_HEADS_CHARS.
    const many = Array.from({ length: 20_000 }, (_, i) => ({
      credentialId: `123456789012:secret:${createHash('sha256').update(String(i)).digest('hex')}`,
      seq: 1,
      lastHash: 'd'.repeat(64),
    }));
    const committed = commitToHeads(many);
    expect(committed.heads).toBeUndefined();
    expect(committed.decisionHeads).toMatch(/^[0-9a-f]{64}$/);
    expect(MAX_HEADS_CHARS).toBeLessThan(400_000);
  });
});
