import type { KeyObject } from 'node:crypto';
import { checkpointValid } from '../domain/checkpoint';
import {
  decisionHeadLeaf,
  decodeHeads,
  merkleRoot,
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
  signature: SignatureStatus;
}

/**
 * A record's checkpoint signature: `verified` or `invalid` with the public key given, `signed` (not
 * checked) without one, `unsigned` when it has none (a job without the key, or stripped).
 */
export type SignatureStatus = 'verified' | 'invalid' | 'signed' | 'unsigned';

/** The population records' checkpoints (`domain/checkpoint.ts`): how many were signed, and if checked. */
export interface SignatureTally {
  /** A public key was given: every record's signature was checked, and an unsigned record is a problem. */
  checked: boolean;
  signed: number;
  unsigned: number;
}

/** The decision chains' heads checked against the population records that name them (`heads`). */
export interface HeadsTally {
  /** Accounts whose latest (with a key: latest verified) record naming its heads was checked. */
  accounts: number;
  /** Chains that record names. */
  chains: number;
  /** Accounts with population records none of which could be checked (none names its heads, or none verified). */
  unchecked: number;
}

/** The hash of a credential's decision `seq` as the export holds it (`ChainChecker.hashAt`). */
export type HashAt = (credentialId: string, seq: number) => string | undefined;

/** A record whose heads are checked once every decision was read: what that needs of it. */
interface NamedHeads {
  seq: number;
  at: string;
  decisionHeads: string;
  heads: string;
  sk: string;
  where: string;
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
    (PopulationRow & { seq: number; links: string; file: string; line: number })[]
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
  /**
   * Per account, the latest record naming its decision heads (with a public key, the latest whose
   * signature verified: a forged record appended after it does not hide it). The latest is enough: a
   * decision chain is hash-linked, so the hash at the head a record names commits to every decision
   * up to it, and the older records' heads are prefixes of the same chains. One record an account,
   * whatever the days, keeps the memory bounded.
   */
  private readonly named = new Map<string, NamedHeads>();
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
    const intact = populationHash(record) === record.hash;
    if (!intact) {
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
    if (chain.some((r) => r.seq === record.seq && hashOf(r.links) === record.hash)) return;
    const signature = this.checkSignature(record, {
      credentialId: id,
      seq: Number(record.seq) || 0,
      at: record.at,
      pk,
      sk,
      where,
    });
    this.nameHeads(record, this.publicKey ? signature === 'verified' : intact, sk, where);
    chain.push({
      accountId: this.intern(record.accountId),
      at: record.at,
      actor: this.intern(record.actor),
      inventoryAt: record.inventoryAt === record.at ? record.at : record.inventoryAt,
      evaluated: record.evaluated,
      findings: record.findings,
      counts: this.intern(record.counts),
      root: record.root,
      signature,
      seq: record.seq,
      links: packLinks(record.hash, record.prevHash),
      file: this.intern(file),
      line,
    });
  }

  /** Counts and (given a key) checks the record's signature. */
  private checkSignature(record: PopulationRecord, issue: Omit<ChainIssue, 'problem'>): SignatureStatus {
    const { signature } = record;
    if (signature) this.signatures.signed += 1;
    else this.signatures.unsigned += 1;
    if (!signature) {
      if (this.publicKey)
        this.issues.push({
          ...issue,
          problem:
            'population record: unsigned (no checkpoint signature; written by a scan without a key, or stripped)',
        });
      return 'unsigned';
    }
    if (!this.publicKey) return 'signed';
    if (checkpointValid(populationPreimage(record), signature, this.publicKey)) return 'verified';
    this.issues.push({
      ...issue,
      problem: `population record: the signature (key ${signature.keyId}) does not verify with the public key given (rewritten, or signed by another key)`,
    });
    return 'invalid';
  }

  /**
   * Keeps the record's named heads if it is the account's latest to check them against; `trusted`: its
   * signature verified (given a key), else its hash is its content's.
   */
  private nameHeads(record: PopulationRecord, trusted: boolean, sk: string, where: string): void {
    if (!trusted || typeof record.heads !== 'string' || typeof record.decisionHeads !== 'string') return;
    const known = this.named.get(record.accountId);
    if (known && known.seq >= record.seq) return;
    this.named.set(record.accountId, {
      seq: record.seq,
      at: record.at,
      decisionHeads: record.decisionHeads,
      heads: record.heads,
      sk,
      where,
    });
  }

  /** The `HEAD` item of a `POPULATION#` partition. */
  addHead(item: Record<string, unknown>): void {
    const accountId = String(item.pk).replace(/^POPULATION#/, '');
    this.heads.set(accountId, { seq: Number(item.seq), hash: String(item.hash) });
  }

  /**
   * Once every item was read. `hashAt` reads the export's decision chains: each account's named heads
   * are rebuilt from them and must give the `decisionHeads` the record committed to (and, given a key,
   * signed). A chain rewritten from its start, its hashes and its STATE item recomputed, passes every
   * link and anchor check, but no longer holds the hash the record names for it. Decisions written
   * after the record (by the scan's own later runs, Slack answers, enforcement) are past the head it
   * names, so they change nothing here.
   */
  finish(hashAt: HashAt): {
    accounts: number;
    records: number;
    issues: ChainIssue[];
    rows: PopulationRow[];
    signatures: SignatureTally;
    heads: HeadsTally;
  } {
    const issues = [...this.issues];
    const heads = this.checkHeads(hashAt, issues);
    let records = 0;
    const rows: PopulationRow[] = [];
    for (const [accountId, chain] of this.records) {
      chain.sort((a, b) => a.seq - b.seq);
      const pk = `POPULATION#${accountId}`;
      const id = `population:${accountId}`;
      let before: { seq: number; hash: string } | undefined;
      for (const record of chain) {
        records += 1;
        const { seq } = record;
        const hash = hashOf(record.links);
        const prevHash = prevHashOf(record.links);
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
    return {
      accounts: this.records.size,
      records,
      issues,
      rows,
      signatures: { ...this.signatures },
      heads,
    };
  }

  private checkHeads(hashAt: HashAt, issues: ChainIssue[]): HeadsTally {
    const tally: HeadsTally = { accounts: 0, chains: 0, unchecked: 0 };
    for (const accountId of this.records.keys()) {
      const record = this.named.get(accountId);
      if (!record) {
        tally.unchecked += 1;
        continue;
      }
      tally.accounts += 1;
      const pk = `POPULATION#${accountId}`;
      const leaves: string[] = [];
      let missing = 0;
      for (const { credentialId, seq } of decodeHeads(record.heads)) {
        const hash = hashAt(credentialId, seq);
        if (hash === undefined) {
          missing += 1;
          issues.push({
            credentialId,
            seq,
            pk: `CRED#${credentialId}`,
            problem: `the population record of ${accountId} seq ${record.seq} (${record.at}) names this chain's head at seq ${seq}, and the export has no such decision (removed)`,
          });
        } else leaves.push(decisionHeadLeaf(credentialId, seq, hash));
      }
      tally.chains += leaves.length + missing;
      if (missing === 0 && merkleRoot(leaves) !== record.decisionHeads)
        issues.push({
          credentialId: `population:${accountId}`,
          seq: record.seq,
          at: record.at,
          pk,
          sk: record.sk,
          where: record.where,
          problem: `population record: the heads of the ${leaves.length} decision chains it names do not give its decisionHeads${this.publicKey ? ' (signed)' : ''}: a chain was rewritten after it was written`,
        });
    }
    return tally;
  }
}

const HEX_HASH = /^[0-9a-f]{64}$/;
/** Starts a record's links kept as text: no latin1 string holds it, so a packed one never does. */
const AS_TEXT = '\u0100';

/**
 * A record's hash and prevHash in one 64-character string, their 64 bytes as latin1: kept for every
 * record (30,000 in a month of 1,000 accounts), two hex strings took 2.4 MB more. A value that is not a
 * hex hash (an altered record) is kept as text, so comparisons say what the strings' would.
 */
function packLinks(hash: string, prevHash: string): string {
  if (HEX_HASH.test(hash) && HEX_HASH.test(prevHash))
    return Buffer.from(hash + prevHash, 'hex').toString('latin1');
  return `${AS_TEXT}${hash}\n${prevHash}`;
}

function hashOf(links: string): string {
  return links.startsWith(AS_TEXT)
    ? links.slice(1, links.indexOf('\n'))
    : Buffer.from(links.slice(0, 32), 'latin1').toString('hex');
}

function prevHashOf(links: string): string {
  return links.startsWith(AS_TEXT)
    ? links.slice(links.indexOf('\n') + 1)
    : Buffer.from(links.slice(32), 'latin1').toString('hex');
}
