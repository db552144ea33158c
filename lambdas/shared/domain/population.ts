import { createHash, hash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { CheckpointSignature } from './checkpoint';
import { canonicalJson } from './policy';

/**
 * What one scan of one account evaluated: the population an auditor samples ("show me every
 * credential that was checked on this day"). One record per account and run, whatever the inventory's
 * size: counts, and a Merkle root over every credential's line (`merkleRoot`), which commits to each
 * credential id evaluated and its outcome without holding them. The records of an account form a hash
 * chain of their own (`seq`, `prevHash`, `hash`), as a credential's decisions do, so a record removed
 * or rewritten breaks it.
 */
export interface PopulationRecord {
  accountId: string;
  /** ISO: when the scan ran (its `now`). */
  at: string;
  /** `system:scan` or `system:enforce`: the job whose scan it was. */
  actor: string;
  policyId: string;
  mode: 'report' | 'enforce';
  /** ISO: when IAM generated the credential report the scan read (the access keys' freshness). */
  inventoryAt: string;
  /** Credentials evaluated, by kind. */
  counts: Record<string, number>;
  /** Credentials evaluated in all; the Merkle root's leaves. */
  evaluated: number;
  /** Of them, those that need an owner's word (a finding). */
  findings: number;
  /** sha256 Merkle root (hex) over the sorted leaves (`populationLeaf`); of no leaf, sha256 of nothing. */
  root: string;
  /**
   * sha256 Merkle root (hex) over the heads of the account's decision chains as the scan left them
   * (`decisionHeadLeaf`), so that a signed record commits to every credential's chain too. Schema 2 on.
   */
  decisionHeads?: string;
  /**
   * Which chains and seqs `decisionHeads` is over (`commitToHeads`), so that `reauth verify` rebuilds it
   * from the export's own chains: a chain rewritten from its start no longer holds the hash signed for
   * it. Schema 3 on; absent past `MAX_HEADS_CHARS` (an item is at most 400 KB).
   */
  heads?: string;
  seq: number;
  prevHash: string;
  hash: string;
  schemaVersion: number;
  /** The signed checkpoint (`domain/checkpoint.ts`); absent when the scan had no key. Not in the hash. */
  signature?: CheckpointSignature;
}

/** Version of the population record's layout; bump on any change a reader would notice. */
export const POPULATION_SCHEMA_VERSION = 3;

export const POPULATION_GENESIS_HASH = '0'.repeat(64);

/**
 * One credential's line: `<id>:<outcome>:<triggers, comma-separated>`. An access key not yet known by
 * id is named by its key slot (`<account>:key-slot:<user>@<created>`), which is what the scan knows of it.
 */
export function populationLeaf(id: string, outcome: string, triggers: readonly string[]): string {
  return `${id}|${outcome}|${[...triggers].sort().join(',')}`;
}

/** A decision chain's head: `<credentialId>|<seq>|<lastHash>`. */
export function decisionHeadLeaf(credentialId: string, seq: number, lastHash: string): string {
  return `${credentialId}|${seq}|${lastHash}`;
}

/** A decision chain's head as a scan left it: its state's `seq` and `lastHash` (seq 0: no decision yet). */
export interface DecisionHead {
  credentialId: string;
  seq: number;
  lastHash: string;
}

/** Past this a record names no heads (`decisionHeads` alone): DynamoDB's items are at most 400 KB. */
export const MAX_HEADS_CHARS = 300_000;

/**
 * What a record commits to of the account's decision chains: `decisionHeads`, the Merkle root over
 * each head's leaf, and `heads`, the heads' `<credentialId>|<seq>` lines (sorted, gzipped, base64: an
 * account's ids share most of their text, so 1,000 chains take 4 to 20 kB). The hashes are left out:
 * the verifier reads them from the export's chains, and the signed root says whether they are the ones
 * the scan saw.
 */
export function commitToHeads(
  heads: readonly DecisionHead[],
): Pick<PopulationRecord, 'decisionHeads' | 'heads'> {
  const decisionHeads = merkleRoot(heads.map((h) => decisionHeadLeaf(h.credentialId, h.seq, h.lastHash)));
  const named = gzipSync(
    heads
      .map((h) => `${h.credentialId}|${h.seq}`)
      .sort()
      .join('\n'),
  ).toString('base64');
  return { decisionHeads, ...(named.length <= MAX_HEADS_CHARS && { heads: named }) };
}

/** The chains and seqs a record's `heads` names (`commitToHeads`). */
export function decodeHeads(heads: string): { credentialId: string; seq: number }[] {
  const text = gunzipSync(Buffer.from(heads, 'base64')).toString('utf8');
  if (text === '') return [];
  return text.split('\n').map((line) => {
    const bar = line.lastIndexOf('|');
    return { credentialId: line.slice(0, bar), seq: Number(line.slice(bar + 1)) };
  });
}

const sha256 = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest();

/**
 * The Merkle root (hex) of `leaves`, sorted first: each leaf hashed as `0x00 || leaf`, each inner node
 * as `0x01 || left || right` (the prefixes keep a leaf from passing as a node), an odd node carried up.
 * Each level is one buffer, each node hashed with one-shot `hash()` to hex: a Hash object and a Buffer
 * a node held native memory until the next collection, 12 MB of verify's peak at 20,000 chains.
 */
export function merkleRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) return sha256('').toString('hex');
  const sorted = [...leaves].sort();
  let count = sorted.length;
  let level = Buffer.allocUnsafe(32 * count);
  sorted.forEach((leaf, i) => {
    // '\u0000' is the byte 0x00 in UTF-8.
    level.write(hash('sha256', `\u0000${leaf}`), 32 * i, 'hex');
  });
  const node = Buffer.alloc(65, 1);
  while (count > 1) {
    const next = Buffer.allocUnsafe(32 * Math.ceil(count / 2));
    for (let i = 0; i < count; i += 2) {
      if (i + 1 < count) {
        level.copy(node, 1, 32 * i, 32 * (i + 2));
        next.write(hash('sha256', node), 16 * i, 'hex');
      } else level.copy(next, 16 * i, 32 * i, 32 * (i + 1));
    }
    level = next;
    count = Math.ceil(count / 2);
  }
  return level.toString('hex', 0, 32);
}

/** The record's fields before the chain's. */
export type PopulationInput = Omit<
  PopulationRecord,
  'seq' | 'prevHash' | 'hash' | 'schemaVersion' | 'signature'
>;

/** Chains `input` after `previous` (none: the account's first record). */
export function chainPopulation(
  input: PopulationInput,
  previous: Pick<PopulationRecord, 'seq' | 'hash'> | undefined,
): PopulationRecord {
  const chained = {
    ...input,
    seq: (previous?.seq ?? 0) + 1,
    prevHash: previous?.hash ?? POPULATION_GENESIS_HASH,
    schemaVersion: POPULATION_SCHEMA_VERSION,
  };
  return { ...chained, hash: populationHash(chained) };
}

type Hashed = Omit<PopulationRecord, 'hash'> & { hash?: string };

/** What a record's hash is the sha256 of, and its signature is over: its canonical JSON without `hash` and `signature`. */
export function populationPreimage(record: Hashed): string {
  const { hash: _hash, signature: _signature, ...rest } = record;
  return canonicalJson(rest);
}

/** The hash of a record (hex). */
export function populationHash(record: Hashed): string {
  return sha256(populationPreimage(record)).toString('hex');
}
