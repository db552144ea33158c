import {
  type ChainProblem,
  CREDENTIAL_STATUSES,
  type CredentialStatus,
  DECISION_ACTIONS,
  type Decision,
  GENESIS_HASH,
  hashDecision,
  statusAfter,
  verifyChain,
} from '../domain/decision';
import { decisionSk, TABLE_KEYS } from '../table-layout';

/**
 * Checks the hash chains of an export whose decisions come in any order, spread over any number of
 * files. Per decision it keeps only what the links need (two hashes, the time, the action), never the
 * item, so 100,000 decisions take a few tens of megabytes.
 */

/** A broken link, naming the item it is about. */
export interface ChainIssue {
  credentialId: string;
  seq: number;
  /** ISO time of the decision, when it is in the export. */
  at?: string;
  pk: string;
  sk?: string;
  /** Where it was read (file:line), when it was read. */
  where?: string;
  problem: string;
}

/**
 * A decision as the checker kept it: `hashes` is its number in the checker's store, `at` epoch ms,
 * where it was read a file number and line.
 */
export interface ChainLink {
  hashes: number;
  at: number;
  action: string;
  /** The status the decision left the credential in; undefined when it changed none. */
  status: CredentialStatus | undefined;
  /** `evidence.deadlineAt` as epoch ms, where the decision set one (a flag's request deadline). */
  deadline?: number;
  file: number;
  line: number;
}

/** The last known STATE of a credential, as far as the report needs it. */
export interface StateSummary {
  seq: number;
  lastHash: string;
  status: string;
  owner: string;
  deadlineAt?: string;
  updatedAt: string;
}

export interface ChainVerdict {
  credentials: number;
  decisions: number;
  /** The same decision seen again (several exports under one prefix): counted once. */
  duplicates: number;
  /** Scans' population records checked (one per account and run); their problems are among `issues`. */
  populationRecords?: number;
  /** Their checkpoint signatures: signed or not, and whether a public key checked them. */
  populationSignatures?: { checked: boolean; signed: number; unsigned: number };
  /** The decision chains' heads checked against the population records naming them. */
  decisionHeads?: { accounts: number; chains: number; unchecked: number };
  issues: ChainIssue[];
}

const HEX_HASH = /^[0-9a-f]{64}$/;
/** Links a page holds: 4096 of them in 400 KiB. */
const PAGE = 4096;

interface LinkPage {
  /** hash then prevHash, 32 bytes each. */
  hashes: Buffer;
  /** seq, at (epoch ms), deadline (epoch ms, NaN for none). */
  numbers: Float64Array;
  /** The action (its number in the checker's names), the file's number, the line. */
  ints: Uint32Array;
  /** 0 for none, else 1 + the index in CREDENTIAL_STATUSES. */
  status: Uint8Array;
}

/**
 * What the checker keeps of each decision, in pages of typed arrays rather than an object and a Map
 * entry each: 101 bytes a decision, its two hashes included (10 MB at 100,000, where objects took about
 * 250 bytes each); grown a page at a time, so never copied (a doubling buffer briefly holds both sizes).
 * A hash that is not 64 lowercase hex digits (an altered item) is kept as its text, so a comparison says
 * exactly what comparing the strings would.
 */
class LinkStore {
  private readonly pages: LinkPage[] = [];
  private count = 0;
  private readonly texts = new Map<number, string>();

  /** Stores a link; the number returned reads it back. */
  add(link: {
    seq: number;
    at: number;
    deadline: number;
    action: number;
    status: number;
    file: number;
    line: number;
    hash: string;
    prevHash: string;
  }): number {
    const n = this.count;
    if (n % PAGE === 0) {
      this.pages.push({
        hashes: Buffer.alloc(64 * PAGE),
        numbers: new Float64Array(3 * PAGE),
        ints: new Uint32Array(3 * PAGE),
        status: new Uint8Array(PAGE),
      });
    }
    const { page, i } = this.locate(n);
    page.numbers.set([link.seq, link.at, link.deadline], i * 3);
    page.ints.set([link.action, link.file, link.line], i * 3);
    page.status[i] = link.status;
    this.putHash(n * 2, link.hash);
    this.putHash(n * 2 + 1, link.prevHash);
    this.count += 1;
    return n;
  }

  seq(n: number): number {
    const { page, i } = this.locate(n);
    return page.numbers[i * 3] as number;
  }

  at(n: number): number {
    const { page, i } = this.locate(n);
    return page.numbers[i * 3 + 1] as number;
  }

  deadline(n: number): number {
    const { page, i } = this.locate(n);
    return page.numbers[i * 3 + 2] as number;
  }

  action(n: number): number {
    const { page, i } = this.locate(n);
    return page.ints[i * 3] as number;
  }

  file(n: number): number {
    const { page, i } = this.locate(n);
    return page.ints[i * 3 + 1] as number;
  }

  line(n: number): number {
    const { page, i } = this.locate(n);
    return page.ints[i * 3 + 2] as number;
  }

  status(n: number): number {
    const { page, i } = this.locate(n);
    return page.status[i] as number;
  }

  hash(n: number): string {
    return this.getHash(n * 2);
  }

  prevHash(n: number): string {
    return this.getHash(n * 2 + 1);
  }

  private locate(n: number): { page: LinkPage; i: number } {
    return { page: this.pages[Math.floor(n / PAGE)] as LinkPage, i: n % PAGE };
  }

  /** `index` is 2n for link n's hash, 2n + 1 for its prevHash. */
  private putHash(index: number, text: string): void {
    const { page, i } = this.locate(index >> 1);
    if (HEX_HASH.test(text)) page.hashes.write(text, i * 64 + (index & 1) * 32, 32, 'hex');
    else this.texts.set(index, text);
  }

  private getHash(index: number): string {
    const known = this.texts.get(index);
    if (known !== undefined) return known;
    const { page, i } = this.locate(index >> 1);
    const at = i * 64 + (index & 1) * 32;
    return page.hashes.toString('hex', at, at + 32);
  }
}

export class ChainChecker {
  private store = new LinkStore();
  /** Per credential, its links' numbers in seq order (one seq each: a second one is a duplicate or a fork). */
  private readonly links = new Map<string, number[]>();
  private readonly states = new Map<string, StateSummary>();
  private readonly issues: ChainIssue[] = [];
  private readonly files: string[] = [];
  private readonly fileIndex = new Map<string, number>();
  private readonly actions: string[] = [...DECISION_ACTIONS];
  private readonly actionIndex = new Map<string, number>(DECISION_ACTIONS.map((a, i) => [a, i]));
  private duplicates = 0;
  private decisionCount = 0;

  /** One decision item as exported (with `pk` and `sk`); false when it is not a new decision (a duplicate or unusable). */
  addDecision(item: Record<string, unknown>, file: string, line: number): boolean {
    const where = `${file}:${line}`;
    const { [TABLE_KEYS.partitionKey]: pk, [TABLE_KEYS.sortKey]: sk, ...rest } = item;
    const decision = rest as unknown as Decision;
    const credentialId =
      typeof decision.credentialId === 'string' ? decision.credentialId : String(pk).replace(/^CRED#/, '');
    const named = { credentialId, pk: String(pk), sk: String(sk), where };
    const missing = ['credentialId', 'at', 'action', 'hash', 'prevHash'].filter(
      (name) => typeof (rest as Record<string, unknown>)[name] !== 'string',
    );
    if (!Number.isInteger(decision.seq) || decision.seq < 1) missing.push('seq');
    if (missing.length > 0) {
      this.issues.push({
        ...named,
        seq: Number(decision.seq) || 0,
        problem: `not a decision: ${missing.join(', ')} missing or mistyped`,
      });
      return false;
    }
    const where2 = { ...named, seq: decision.seq, at: decision.at };
    if (`CRED#${decision.credentialId}` !== pk) {
      this.issues.push({ ...where2, problem: `credentialId does not match its key ${String(pk)}` });
    }
    if (hashDecision(decision) !== decision.hash) {
      this.issues.push({
        ...where2,
        problem: 'hash does not match the content (altered after it was written)',
      });
    }
    let chain = this.links.get(credentialId);
    if (!chain) {
      chain = [];
      this.links.set(credentialId, chain);
    }
    const position = this.position(chain, decision.seq);
    const seen = chain[position];
    if (seen !== undefined && this.store.seq(seen) === decision.seq) {
      if (this.store.hash(seen) === decision.hash) {
        this.duplicates += 1;
      } else {
        this.issues.push({
          ...where2,
          problem: `two different decisions with seq ${decision.seq} (the other at ${this.where(seen)})`,
        });
      }
      return false;
    }
    this.decisionCount += 1;
    const status = statusAfter(decision);
    const link = this.store.add({
      seq: decision.seq,
      at: Date.parse(decision.at),
      deadline: deadlineOf(decision.evidence),
      action: this.actionNumber(decision.action),
      status: status === undefined ? 0 : CREDENTIAL_STATUSES.indexOf(status) + 1,
      file: this.fileNumber(file),
      line,
      hash: decision.hash,
      prevHash: decision.prevHash,
    });
    if (position === chain.length) chain.push(link);
    else chain.splice(position, 0, link);
    return true;
  }

  /** Where `seq` is, or would go, in a chain's links (sorted by seq). */
  private position(chain: readonly number[], seq: number): number {
    let low = 0;
    let high = chain.length;
    // Exports are written in key order, so a new seq usually goes last: check that first.
    if (high > 0 && this.store.seq(chain[high - 1] as number) < seq) return high;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.store.seq(chain[middle] as number) < seq) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** One STATE item; the latest (by `updatedAt`) of a credential is kept. */
  addState(item: Record<string, unknown>): void {
    const credentialId = String(item.credentialId ?? String(item.pk).replace(/^CRED#/, ''));
    const state: StateSummary = {
      seq: Number(item.seq ?? 0),
      lastHash: String(item.lastHash ?? ''),
      status: String(item.status ?? ''),
      owner: String(item.owner ?? ''),
      ...(typeof item.deadlineAt === 'string' && { deadlineAt: item.deadlineAt }),
      updatedAt: String(item.updatedAt ?? ''),
    };
    const known = this.states.get(credentialId);
    if (
      !known ||
      known.updatedAt < state.updatedAt ||
      (known.updatedAt === state.updatedAt && known.seq < state.seq)
    ) {
      this.states.set(credentialId, state);
    }
  }

  private fileNumber(file: string): number {
    let n = this.fileIndex.get(file);
    if (n === undefined) {
      n = this.files.length;
      this.files.push(file);
      this.fileIndex.set(file, n);
    }
    return n;
  }

  private actionNumber(action: string): number {
    let n = this.actionIndex.get(action);
    if (n === undefined) {
      n = this.actions.length;
      this.actions.push(action);
      this.actionIndex.set(action, n);
    }
    return n;
  }

  private where(link: number): string {
    return `${this.files[this.store.file(link)]}:${this.store.line(link)}`;
  }

  /** The hash of a credential's decision `seq` as the export holds it; seq 0 is the genesis hash. */
  hashAt(credentialId: string, seq: number): string | undefined {
    if (seq === 0) return GENESIS_HASH;
    const chain = this.links.get(credentialId);
    if (!chain) return undefined;
    const link = chain[this.position(chain, seq)];
    return link !== undefined && this.store.seq(link) === seq ? this.store.hash(link) : undefined;
  }

  /** Drops the chains and states once the verdict and the aggregates are taken. */
  release(): void {
    this.links.clear();
    this.states.clear();
    this.store = new LinkStore();
  }

  /** The latest state of each credential seen. */
  stateSummaries(): ReadonlyMap<string, StateSummary> {
    return this.states;
  }

  /** Each credential's decisions, oldest first (only after every item was added). */
  *chains(): Generator<[string, ChainLink[]]> {
    for (const [credentialId, chain] of this.links) {
      yield [credentialId, chain.map((link) => this.link(link))];
    }
  }

  private link(n: number): ChainLink {
    const { store } = this;
    const status = store.status(n);
    const deadline = store.deadline(n);
    return {
      hashes: n,
      at: store.at(n),
      action: this.actions[store.action(n)] as string,
      status: status === 0 ? undefined : CREDENTIAL_STATUSES[status - 1],
      ...(!Number.isNaN(deadline) && { deadline }),
      file: store.file(n),
      line: store.line(n),
    };
  }

  /** Checks the links once every item was added: seq 1..n without a gap, each prevHash the hash before, the state's tip. */
  finish(): ChainVerdict {
    const issues = [...this.issues];
    const { store } = this;
    for (const [credentialId, chain] of this.links) {
      const pk = `CRED#${credentialId}`;
      const top = store.seq(chain[chain.length - 1] as number);
      /** The link with each seq, walking the chain in step with the seqs 1..top. */
      let next = 0;
      let before: number | undefined;
      for (let seq = 1; seq <= top; seq += 1) {
        const link = store.seq(chain[next] as number) === seq ? (chain[next] as number) : undefined;
        if (link === undefined) {
          const following = chain[next] as number;
          issues.push({
            credentialId,
            seq,
            pk,
            problem: `decision seq ${seq} is missing (removed from the record; seq ${store.seq(following)} at ${this.where(following)} follows)`,
          });
          before = undefined;
          continue;
        }
        next += 1;
        const at = new Date(store.at(link)).toISOString();
        const named = { credentialId, seq, at, pk, sk: decisionSk(at, seq), where: this.where(link) };
        const previousHash = seq === 1 ? GENESIS_HASH : before === undefined ? undefined : store.hash(before);
        if (previousHash !== undefined && store.prevHash(link) !== previousHash) {
          issues.push({
            ...named,
            problem:
              seq === 1
                ? 'prevHash of the first decision is not the genesis hash'
                : `prevHash does not match the hash of seq ${seq - 1}`,
          });
        }
        before = link;
      }
      const state = this.states.get(credentialId);
      if (state) {
        for (const anchored of checkStateAnchor(
          state,
          top,
          (seq) => {
            const link = chain[this.position(chain, seq)];
            return link !== undefined && store.seq(link) === seq ? store.hash(link) : undefined;
          },
          'the export',
        )) {
          issues.push({ credentialId, pk, sk: 'STATE', ...anchored });
        }
      }
    }
    for (const [credentialId, state] of this.states) {
      if (this.links.has(credentialId)) continue;
      for (const anchored of checkStateAnchor(state, 0, () => undefined, 'the export')) {
        issues.push({ credentialId, pk: `CRED#${credentialId}`, sk: 'STATE', ...anchored });
      }
    }
    issues.sort((a, b) =>
      a.credentialId === b.credentialId ? a.seq - b.seq : a.credentialId < b.credentialId ? -1 : 1,
    );
    return {
      credentials: new Set([...this.links.keys(), ...this.states.keys()]).size,
      decisions: this.decisionCount,
      duplicates: this.duplicates,
      issues,
    };
  }
}

/** What a STATE item says of its chain: how many decisions it has, and the hash of the last. */
export interface ChainAnchor {
  seq: number;
  lastHash: string;
}

/**
 * Anchors a chain on its STATE item. A chain checked only link by link stays intact when its last
 * decisions are deleted, or when the last one is rewritten with its hash recomputed; the STATE item,
 * written in the same transaction as every decision, still names the true tip (`seq`, `lastHash`).
 * So: decisions up to `state.seq` must be present, and the one at `state.seq` must hash to
 * `lastHash`. Decisions past `state.seq` are not a problem here: a live read takes the state first,
 * so a decision recorded meanwhile shows up past it.
 *
 * `top` is the highest seq present (0 for none), `hashAt` the hash of a present seq, and `source`
 * names what was read (`the export`, `the table`) in the messages. Used by `reauth verify` and
 * `reauth report` (over an export) and by `reauth decisions` (over the table).
 */
export function checkStateAnchor(
  state: ChainAnchor,
  top: number,
  hashAt: (seq: number) => string | undefined,
  source: string,
): { seq: number; problem: string }[] {
  if (state.seq > top) {
    return [
      top === 0
        ? { seq: 1, problem: `the state says ${state.seq} decisions but ${source} has none` }
        : {
            seq: top + 1,
            problem: `the state says ${state.seq} decisions but ${source} has up to seq ${top} (the latest are missing)`,
          },
    ];
  }
  const hash = state.seq > 0 ? hashAt(state.seq) : undefined;
  if (hash !== undefined && hash !== state.lastHash) {
    return [
      {
        seq: state.seq,
        problem: `the state's lastHash does not match the hash of seq ${state.seq} (the decision was rewritten, or replaced)`,
      },
    ];
  }
  return [];
}

/** A chain problem of a credential's history read from the table; `at` is absent for a decision that is missing. */
export type HistoryProblem = Omit<ChainProblem, 'at'> & { at?: string };

/**
 * A credential's whole history, read from the table: checked link by link (`verifyChain`) and
 * anchored on its STATE item as an export is. Unlike an export, which may be incremental or a subset
 * of files, the table holds every item, so decisions with no STATE item at all are a problem too:
 * each decision is written in one transaction with its STATE, and no function may delete items.
 */
export function verifyHistory(
  history: readonly Decision[],
  state: ChainAnchor | undefined,
): HistoryProblem[] {
  const problems: HistoryProblem[] = verifyChain(history);
  const bySeq = new Map(history.map((decision) => [decision.seq, decision]));
  const top = Math.max(0, ...bySeq.keys());
  if (!state) {
    const tip = bySeq.get(top);
    if (tip) {
      problems.push({
        seq: top,
        at: tip.at,
        problem: `no STATE item, but the table holds ${history.length} decisions up to seq ${top} (the STATE item was deleted)`,
      });
    }
    return problems;
  }
  for (const anchored of checkStateAnchor(state, top, (seq) => bySeq.get(seq)?.hash, 'the table')) {
    const at = bySeq.get(anchored.seq)?.at;
    problems.push({ ...anchored, ...(at && { at }) });
  }
  return problems;
}

/** `evidence.deadlineAt` as epoch ms, NaN where the decision set none. */
function deadlineOf(evidence: unknown): number {
  const at = (evidence as { deadlineAt?: unknown } | undefined)?.deadlineAt;
  return typeof at === 'string' ? Date.parse(at) : Number.NaN;
}

/** `credentialId#seq` of each decision an issue is about, for the report's chainOk column. */
export function brokenKeys(issues: readonly ChainIssue[]): Set<string> {
  return new Set(issues.map((issue) => decisionKey(issue.credentialId, issue.seq)));
}

export function decisionKey(credentialId: string, seq: number): string {
  return `${credentialId}#${seq}`;
}
