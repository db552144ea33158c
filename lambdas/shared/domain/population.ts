import { createHash } from 'node:crypto';
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
  seq: number;
  prevHash: string;
  hash: string;
  schemaVersion: number;
  /** The signed checkpoint (`domain/checkpoint.ts`); absent when the scan had no key. Not in the hash. */
  signature?: CheckpointSignature;
}

/** Version of the population record's layout; bump on any change a reader would notice. */
export const POPULATION_SCHEMA_VERSION = 2;

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

const sha256 = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest();

/**
 * The Merkle root (hex) of `leaves`, sorted first: each leaf hashed as `0x00 || leaf`, each inner node
 * as `0x01 || left || right` (the prefixes keep a leaf from passing as a node), an odd node carried up.
 */
export function merkleRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) return sha256('').toString('hex');
  let level: Buffer[] = [...leaves]
    .sort()
    .map((leaf) => sha256(Buffer.concat([Buffer.from([0]), Buffer.from(leaf)])));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Buffer;
      const right = level[i + 1];
      next.push(right ? sha256(Buffer.concat([Buffer.from([1]), left, right])) : left);
    }
    level = next;
  }
  return (level[0] as Buffer).toString('hex');
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
