import type { KeyObject } from 'node:crypto';
import { checkpointValid } from '../domain/checkpoint';
import {
  POPULATION_GENESIS_HASH,
  type PopulationRecord,
  populationHash,
  populationPreimage,
} from '../domain/population';
import { POPULATION_HEAD_SK, populationSk } from '../table-layout';
import type { ChainIssue } from './chain-check';

/** What a report shows of one population record: a scan of an account on a day. */
export interface PopulationRow {
  accountId: string;
  at: string;
  actor: string;
  inventoryAt: string;
  evaluated: number;
  findings: number;
  counts: Record<string, number>;
  root: string;
}

/** The population records' checkpoints (`domain/checkpoint.ts`): how many were signed, and if checked. */
export interface SignatureTally {
  /** A public key was given: every record's signature was checked, and an unsigned record is a problem. */
  checked: boolean;
  signed: number;
  unsigned: number;
}

/**
 * Checks the accounts' population chains as the export holds them (see `domain/population.ts`): each
 * record's hash over its content, seqs 1..n without a gap, each prevHash the hash before, and the head
 * naming the last record. A few hundred bytes a record: one per account and run. Given the checkpoint
 * key's public key, each record's signature too: a chain rewritten with its hashes recomputed fails
 * there, as does a record without one.
 */
export class PopulationChecker {
  private readonly records = new Map<
    string,
    (PopulationRow & { seq: number; hash: string; prevHash: string; file: string; line: number })[]
  >();
  /**
   * One copy of what many records repeat (the actor, the counts, the file): 30 days of 1,000 accounts
   * are 30,000 records, and each parsed line brings its own copies.
   */
  private readonly shared = new Map<string, unknown>();
  private intern<T>(value: T, key = typeof value === 'string' ? value : JSON.stringify(value)): T {
    const kept = this.shared.get(key);
    if (kept !== undefined) return kept as T;
    this.shared.set(key, value);
    return value;
  }
  private readonly heads = new Map<string, { seq: number; hash: string }>();
  private readonly issues: ChainIssue[] = [];
  private readonly signatures: SignatureTally;

  constructor(private readonly publicKey?: KeyObject) {
    this.signatures = { checked: publicKey !== undefined, signed: 0, unsigned: 0 };
  }

  /** A `RUN#` item of a `POPULATION#` partition. */
  addRecord(item: Record<string, unknown>, file: string, line: number): void {
    const { pk, sk, ...record } = item as unknown as PopulationRecord & { pk: string; sk: string };
    const where = `${file}:${line}`;
    const id = `population:${record.accountId}`;
    if (populationHash(record) !== record.hash) {
      this.issues.push({
        credentialId: id,
        seq: Number(record.seq) || 0,
        at: record.at,
        pk,
        sk,
        where,
        problem: 'population record: hash does not match the content (altered after it was written)',
      });
    }
    let chain = this.records.get(record.accountId);
    if (!chain) {
      chain = [];
      this.records.set(this.intern(record.accountId), chain);
    }
    // The same record in two exports (a full and an incremental) is one record.
    if (chain.some((r) => r.seq === record.seq && r.hash === record.hash)) return;
    this.checkSignature(record, {
      credentialId: id,
      seq: Number(record.seq) || 0,
      at: record.at,
      pk,
      sk,
      where,
    });
    chain.push({
      accountId: this.intern(record.accountId),
      at: record.at,
      actor: this.intern(record.actor),
      inventoryAt: record.inventoryAt === record.at ? record.at : record.inventoryAt,
      evaluated: record.evaluated,
      findings: record.findings,
      counts: this.intern(record.counts),
      root: record.root,
      seq: record.seq,
      hash: record.hash,
      prevHash: record.prevHash,
      file: this.intern(file),
      line,
    });
  }

  private checkSignature(record: PopulationRecord, issue: Omit<ChainIssue, 'problem'>): void {
    const { signature } = record;
    if (signature) this.signatures.signed += 1;
    else this.signatures.unsigned += 1;
    if (!this.publicKey) return;
    if (!signature)
      this.issues.push({
        ...issue,
        problem:
          'population record: unsigned (no checkpoint signature; written by a scan without a key, or stripped)',
      });
    else if (!checkpointValid(populationPreimage(record), signature, this.publicKey))
      this.issues.push({
        ...issue,
        problem: `population record: the signature (key ${signature.keyId}) does not verify with the public key given (rewritten, or signed by another key)`,
      });
  }

  /** The `HEAD` item of a `POPULATION#` partition. */
  addHead(item: Record<string, unknown>): void {
    const accountId = String(item.pk).replace(/^POPULATION#/, '');
    this.heads.set(accountId, { seq: Number(item.seq), hash: String(item.hash) });
  }

  finish(): {
    accounts: number;
    records: number;
    issues: ChainIssue[];
    rows: PopulationRow[];
    signatures: SignatureTally;
  } {
    const issues = [...this.issues];
    let records = 0;
    const rows: PopulationRow[] = [];
    for (const [accountId, chain] of this.records) {
      chain.sort((a, b) => a.seq - b.seq);
      const pk = `POPULATION#${accountId}`;
      const id = `population:${accountId}`;
      let before: { seq: number; hash: string } | undefined;
      for (const record of chain) {
        records += 1;
        const { seq, hash, prevHash } = record;
        const where = `${record.file}:${record.line}`;
        // The record itself, not a copy: at 30,000 records a copy each is megabytes for nothing.
        rows.push(record);
        const expected =
          seq === 1 ? POPULATION_GENESIS_HASH : before?.seq === seq - 1 ? before.hash : undefined;
        if (seq !== (before?.seq ?? 0) + 1)
          issues.push({
            credentialId: id,
            seq: (before?.seq ?? 0) + 1,
            pk,
            problem: `population record seq ${(before?.seq ?? 0) + 1} is missing (removed from the record; seq ${seq} at ${where} follows)`,
          });
        else if (expected !== undefined && prevHash !== expected)
          issues.push({
            credentialId: id,
            seq,
            at: record.at,
            pk,
            sk: populationSk(record.at, seq),
            where,
            problem: `population record: prevHash does not match the hash of seq ${seq - 1}`,
          });
        before = { seq, hash };
      }
      const head = this.heads.get(accountId);
      if (head && before && (head.seq !== before.seq || head.hash !== before.hash))
        issues.push({
          credentialId: id,
          seq: head.seq,
          pk,
          sk: POPULATION_HEAD_SK,
          problem:
            head.seq > before.seq
              ? `the population head names seq ${head.seq}, and the export ends at ${before.seq}: records removed from its end`
              : `the population head names seq ${head.seq} with another hash than the export's record`,
        });
    }
    rows.sort((a, b) => (a.at === b.at ? (a.accountId < b.accountId ? -1 : 1) : a.at < b.at ? -1 : 1));
    return { accounts: this.records.size, records, issues, rows, signatures: { ...this.signatures } };
  }
}
