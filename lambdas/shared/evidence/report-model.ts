import { judgeControls } from '../domain/controls';
import type { CredentialKind } from '../domain/credential';
import type { CredentialStatus, DecisionAction } from '../domain/decision';
import { summaryLine, type UsageSummary } from '../domain/usage-summary';
import type { ChainChecker } from './chain-check';

/**
 * What the evidence report says beyond the chain verdict, gathered in the one streaming pass that
 * checks the chains: counts, the rows of each table (kept as their rendered cells, compact), the
 * policies seen; then, once the chains are complete, each credential's state as of the report's time.
 * Everything is judged as of `asOf`: decisions after it are checked but neither counted nor listed.
 */

const DAY_MS = 86_400_000;

/** The tables of decisions, in page order. */
export const SECTIONS = [
  'approvals',
  'disables',
  'escalations',
  'exemptions',
  'protected',
  'drift',
  'refusals',
] as const;
export type Section = (typeof SECTIONS)[number];

const SECTION_OF: Partial<Record<string, Section>> = {
  reauthorize: 'approvals',
  disable: 'disables',
  rotate: 'disables',
  restore: 'disables',
  delete: 'disables',
  escalate: 'escalations',
  drift: 'drift',
  refuse: 'refusals',
};

/** The decisions that open a request, each with its own deadline (an assignment: the new owner's). */
const OPENS_A_REQUEST: readonly string[] = ['flag', 'restore', 'drift', 'assign-owner'];

/** A person as recorded: the id, and the name and email kept with the decision (none before schema 2). */
export interface Person {
  id: string;
  name?: string;
  email?: string;
}

/** One row of a decisions table: the common columns, then the section's own. */
export interface Row {
  at: string;
  credentialId: string;
  kind: string;
  principal: string;
  account: string;
  owner: string;
  action: string;
  actor: Person;
  reason: string;
  /** The section's own columns, by name. */
  extra: Record<string, string | Person>;
}

export interface PolicySeen {
  policyId: string;
  modes: string[];
  tiers: string[];
  decisions: number;
  first: string;
  last: string;
}

export interface OverdueRow {
  credentialId: string;
  kind: string;
  principal: string;
  account: string;
  owner: string;
  deadlineAt: string;
  daysOverdue: number;
}

export interface Summary {
  /** Credentials seen, by account then kind. */
  inScope: { account: string; kind: string; credentials: number }[];
  /** Requests due (deadline passed) or answered by `asOf`, and those answered by the owner in time. */
  requestsDue: number;
  answeredInTime: number;
  overdue: number;
  /** Decisions in the period by action. */
  byAction: Record<string, number>;
  /** Decisions in the period that ended sessions a credential had handed out (`evidence.revokedSessions`). */
  sessionsRevoked: number;
  exemptActive: number;
  /** Active exemptions ending within `EXPIRING_DAYS` of `asOf`. */
  exemptExpiring: number;
  /** Hours from flag to reauthorization. */
  medianHours: number | undefined;
  p90Hours: number | undefined;
  answered: number;
  /** Flags that cite a use in a new way (the `usage-changed` trigger). */
  usageChanged: number;
}

export const EXPIRING_DAYS = 30;

/** Where a flag's owner came from, as its evidence records it. */
function ownerSourceOf(evidence: Record<string, unknown>): string {
  const origin = evidence.ownerSource;
  if (origin && typeof origin === 'object' && typeof (origin as { source?: unknown }).source === 'string')
    return (origin as { source: string }).source;
  return 'tag or fallback (before owner sources)';
}

/** Everything a report page needs from the decisions; the charts' data is built beside it. */
export interface DecisionModel {
  firstAt: string | undefined;
  lastAt: string | undefined;
  /** Decisions past `asOf` (checked, not counted). */
  afterAsOf: number;
  policies: PolicySeen[];
  counts: {
    byAction: [string, number][];
    byKind: [string, number][];
    byAccount: [string, number][];
    byOwner: [string, number][];
    /**
     * Requests opened (flags) by where their owner came from (`evidence.ownerSource`); a flag recorded
     * before owners had sources counts under `tag or fallback (before owner sources)`.
     */
    requestsByOwnerSource: [string, number][];
  };
  /** control → action → decisions. */
  controls: [string, [string, number][]][];
  /** control → flags that would evidence it under a tier as strict as the control (laxer, or limits unrecorded). */
  laxerFlags: [string, number][];
  /** Decisions whose recorded `evidence.controls` (hashed as written) differ from this version's table. */
  controlsRemapped: number;
  /** Each section's rows, rendered, oldest first. */
  tables: Record<Section, TableRows>;
  overdue: OverdueRow[];
  summary: Summary;
}

/** A section's rendered rows: how many, and each in the page's order, read from where they were kept. */
export interface TableRows {
  length: number;
  rows(): Iterable<string>;
}

/** Where rendered rows wait for the page: a row kept is read back by the number `keep` returns. */
export interface RowStore {
  keep(row: string): number;
  /** The rows numbered `numbers`, in that order. */
  read(numbers: readonly number[]): Iterable<string>;
}

interface CredentialSeen {
  /** The credential's id: the one copy of it the collector keeps, which its table rows point to. */
  id: string;
  principal: string;
  owner: string;
  /** seq of the decision `principal` and `owner` were taken from (the latest up to `asOf`). */
  seq: number;
  /** The latest exemption's end, by seq. */
  exemptUntil?: string;
  exemptSeq?: number;
}

/** A section's rows as they were read, one array per field (an object per row would cost more than the row's fields). */
interface SectionRows {
  at: string[];
  credential: CredentialSeen[];
  action: string[];
  row: number[];
}

function emptyRows(): SectionRows {
  return { at: [], credential: [], action: [], row: [] };
}

export class DecisionCollector {
  private firstAt: string | undefined;
  private lastAt: string | undefined;
  private afterAsOf = 0;
  private sessionsRevoked = 0;
  private readonly policies = new Map<
    string,
    { modes: Set<string>; tiers: Set<string>; decisions: number; first: string; last: string }
  >();
  private readonly byAction = new Map<string, number>();
  private readonly byKind = new Map<string, number>();
  private readonly byAccount = new Map<string, number>();
  private readonly byOwner = new Map<string, number>();
  private readonly requestsByOwnerSource = new Map<string, number>();
  private readonly controls = new Map<string, Map<string, number>>();
  private readonly laxerFlags = new Map<string, number>();
  private controlsRemapped = 0;
  private usageChanged = 0;
  /** Per section, what orders its rows, and each rendered row's number in `store`, where the row waits. */
  private readonly rows = Object.fromEntries(SECTIONS.map((s) => [s, emptyRows()])) as Record<
    Section,
    SectionRows
  >;
  /** The actions' names, one copy each. */
  private readonly actions = new Map<string, string>();
  private readonly credentials = new Map<string, CredentialSeen>();

  /** `asOf` in ms; undefined until known (then every decision counts: the report's time is the latest). */
  constructor(
    private readonly asOf: number | undefined,
    private readonly render: (section: Section, row: Row) => string,
    private readonly store: RowStore,
  ) {}

  /** The latest decision's time (ISO), up to `asOf`. */
  latestDecision(): string | undefined {
    return this.lastAt;
  }

  /** One new (not duplicate) decision item, as exported. */
  add(item: Record<string, unknown>): void {
    const at = str(item.at);
    if (this.asOf !== undefined && Date.parse(at) > this.asOf) {
      this.afterAsOf += 1;
      return;
    }
    if (this.firstAt === undefined || at < this.firstAt) this.firstAt = at;
    if (this.lastAt === undefined || at > this.lastAt) this.lastAt = at;
    const action = str(item.action);
    const credentialId = str(item.credentialId);
    const [account = '', kind = ''] = credentialId.split(':');
    const evidence = (item.evidence && typeof item.evidence === 'object' ? item.evidence : {}) as Record<
      string,
      unknown
    >;
    const owner = str(item.owner);
    const principal = str(item.principal);
    const seq = Number(item.seq);
    bump(this.byAction, action);
    if (evidence.revokedSessions && typeof evidence.revokedSessions === 'object') this.sessionsRevoked += 1;
    bump(this.byKind, str(item.kind) || kind);
    bump(this.byAccount, str(item.accountId) || account);
    bump(this.byOwner, owner);
    if (action === 'flag') bump(this.requestsByOwnerSource, ownerSourceOf(evidence));
    const policyId = str(item.policyId);
    let policy = this.policies.get(policyId);
    if (!policy) {
      policy = { modes: new Set(), tiers: new Set(), decisions: 0, first: at, last: at };
      this.policies.set(policyId, policy);
    }
    policy.decisions += 1;
    policy.modes.add(str(item.mode));
    if (typeof evidence.tier === 'string') policy.tiers.add(evidence.tier);
    if (at < policy.first) policy.first = at;
    if (at > policy.last) policy.last = at;
    if (action === 'flag' && Array.isArray(evidence.triggers) && evidence.triggers.includes('usage-changed'))
      this.usageChanged += 1;
    // Mapped by this version's table (kind, trigger, threshold), not by what each decision recorded.
    const judged = judgeControls({
      action: action as DecisionAction,
      kind: (str(item.kind) || kind) as CredentialKind,
      evidence,
    });
    const recorded = Array.isArray(evidence.controls) ? evidence.controls.map(String) : [];
    if (recorded.length !== judged.evidences.length || judged.evidences.some((c) => !recorded.includes(c)))
      this.controlsRemapped += 1;
    for (const control of judged.laxer) bump(this.laxerFlags, control);
    for (const control of judged.evidences) {
      let actions = this.controls.get(control);
      if (!actions) {
        actions = new Map();
        this.controls.set(control, actions);
      }
      bump(actions, action);
    }

    let seen = this.credentials.get(credentialId);
    if (!seen) {
      seen = { id: credentialId, principal, owner, seq };
      this.credentials.set(credentialId, seen);
    } else if (seq > seen.seq) {
      Object.assign(seen, { principal, owner, seq });
    }

    const section =
      action === 'exempt' ? (evidence.protectedBy ? 'protected' : 'exemptions') : SECTION_OF[action];
    if (section === 'exemptions' && (seen.exemptSeq === undefined || seq > seen.exemptSeq)) {
      seen.exemptSeq = seq;
      seen.exemptUntil = str(evidence.until);
    }
    if (!section) return;
    const row: Row = {
      at,
      credentialId,
      kind: str(item.kind) || kind,
      principal,
      account: str(item.accountId) || account,
      owner,
      action,
      actor: personOf(str(item.actor), evidence),
      reason: withAccess(str(item.reason), evidence),
      extra: extraColumns(section, evidence, str(item.actor)),
    };
    const rows = this.rows[section];
    let name = this.actions.get(action);
    if (name === undefined) {
      name = action;
      this.actions.set(action, action);
    }
    rows.at.push(at);
    rows.credential.push(seen);
    rows.action.push(name);
    rows.row.push(this.store.keep(this.render(section, row)));
  }

  /**
   * The model, once every item was read: the tables sorted by time, and each credential's state as of
   * `asOf` rebuilt from its chain (with the STATE item's deadline when the state is not newer than `asOf`).
   */
  finish(checker: ChainChecker, asOf: Date): DecisionModel {
    const asOfMs = asOf.getTime();
    const states = checker.stateSummaries();
    const overdue: OverdueRow[] = [];
    const durations: number[] = [];
    let requestsDue = 0;
    let answeredInTime = 0;
    let exemptActive = 0;
    let exemptExpiring = 0;
    for (const [credentialId, chain] of checker.chains()) {
      let status: CredentialStatus | undefined;
      let deadline: number | undefined;
      let flaggedAt: number | undefined;
      let lastSeq = 0;
      for (const [index, link] of chain.entries()) {
        if (link.at > asOfMs) break;
        lastSeq = index + 1;
        if (OPENS_A_REQUEST.includes(link.action)) {
          if (flaggedAt === undefined && link.action === 'flag') flaggedAt = link.at;
          deadline = link.deadline ?? deadline;
        } else if (link.deadline !== undefined && link.action === 'escalate') {
          deadline = link.deadline;
        }
        if (link.action === 'reauthorize' || link.action === 'rotate') {
          if (deadline !== undefined) {
            requestsDue += 1;
            if (link.at <= deadline) answeredInTime += 1;
          }
          if (flaggedAt !== undefined && link.action === 'reauthorize') durations.push(link.at - flaggedAt);
          deadline = undefined;
          flaggedAt = undefined;
        } else if (['disable', 'delete', 'exempt'].includes(link.action)) {
          if (deadline !== undefined && link.action !== 'exempt') requestsDue += 1;
          deadline = undefined;
          flaggedAt = undefined;
        }
        status = link.status ?? status;
      }
      const state = states.get(credentialId);
      if (state?.deadlineAt && state.seq === lastSeq && status === 'pending') {
        deadline = Date.parse(state.deadlineAt);
      }
      const seen = this.credentials.get(credentialId);
      if (status === 'pending' && deadline !== undefined && deadline < asOfMs) {
        requestsDue += 1;
        const [account = '', kind = ''] = credentialId.split(':');
        overdue.push({
          credentialId,
          kind,
          account,
          principal: seen?.principal ?? '',
          owner: seen?.owner ?? state?.owner ?? '',
          deadlineAt: new Date(deadline).toISOString(),
          daysOverdue: Math.floor((asOfMs - deadline) / DAY_MS),
        });
      }
      if (status === 'exempt' && seen?.exemptUntil) {
        const until = Date.parse(seen.exemptUntil);
        if (Number.isNaN(until) || until > asOfMs) {
          exemptActive += 1;
          if (until <= asOfMs + EXPIRING_DAYS * DAY_MS) exemptExpiring += 1;
        }
      }
    }
    // A STATE with no decision in the export (an incremental export read alone): its own word, when
    // it is not newer than `asOf`.
    for (const [credentialId, state] of states) {
      if (this.credentials.has(credentialId) || Date.parse(state.updatedAt) > asOfMs) continue;
      const deadline = state.deadlineAt ? Date.parse(state.deadlineAt) : Number.NaN;
      if (state.status !== 'pending' || !(deadline < asOfMs)) continue;
      const [account = '', kind = ''] = credentialId.split(':');
      requestsDue += 1;
      overdue.push({
        credentialId,
        kind,
        account,
        principal: '',
        owner: state.owner,
        deadlineAt: new Date(deadline).toISOString(),
        daysOverdue: Math.floor((asOfMs - deadline) / DAY_MS),
      });
    }
    overdue.sort((a, b) => b.daysOverdue - a.daysOverdue || compare(a.credentialId, b.credentialId));
    durations.sort((a, b) => a - b);
    const inScope = new Map<string, number>();
    for (const credentialId of this.credentials.keys()) {
      const [account = '', kind = ''] = credentialId.split(':');
      bump(inScope, `${account}\u0000${kind}`);
    }
    const tables = {} as Record<Section, TableRows>;
    for (const section of SECTIONS) {
      const { at, credential, action, row } = this.rows[section];
      // Oldest first; at the same time, by credential then action.
      const order = row.map((_, i) => i);
      order.sort(
        (a, b) =>
          compare(at[a] as string, at[b] as string) ||
          compare((credential[a] as CredentialSeen).id, (credential[b] as CredentialSeen).id) ||
          compare(action[a] as string, action[b] as string),
      );
      const numbers = order.map((i) => row[i] as number);
      const { store } = this;
      tables[section] = { length: numbers.length, rows: () => store.read(numbers) };
      this.rows[section] = emptyRows();
    }
    const model: DecisionModel = {
      firstAt: this.firstAt,
      lastAt: this.lastAt,
      afterAsOf: this.afterAsOf,
      policies: [...this.policies]
        .sort(([a], [b]) => compare(a, b))
        .map(([policyId, p]) => ({
          policyId,
          modes: [...p.modes].sort(),
          tiers: [...p.tiers].sort(),
          decisions: p.decisions,
          first: p.first,
          last: p.last,
        })),
      counts: {
        byAction: sorted(this.byAction),
        byKind: sorted(this.byKind),
        byAccount: sorted(this.byAccount),
        byOwner: sorted(this.byOwner),
        requestsByOwnerSource: sorted(this.requestsByOwnerSource),
      },
      laxerFlags: sorted(this.laxerFlags),
      controlsRemapped: this.controlsRemapped,
      controls: [...this.controls]
        .sort(([a], [b]) => compare(a, b))
        .map(([control, actions]) => [control, sorted(actions)]),
      tables,
      overdue,
      summary: {
        inScope: [...inScope]
          .map(([key, credentials]) => {
            const [account = '', kind = ''] = key.split('\u0000');
            return { account, kind, credentials };
          })
          .sort((a, b) => compare(a.account, b.account) || compare(a.kind, b.kind)),
        requestsDue,
        answeredInTime,
        overdue: overdue.length,
        byAction: Object.fromEntries(this.byAction),
        sessionsRevoked: this.sessionsRevoked,
        exemptActive,
        exemptExpiring,
        medianHours: quantile(durations, 0.5),
        p90Hours: quantile(durations, 0.9),
        answered: durations.length,
        usageChanged: this.usageChanged,
      },
    };
    // The page is written from the model alone: the credentials seen (20,000 at 100,000 decisions) go now.
    this.credentials.clear();
    return model;
  }
}

/** The columns each section adds to kind, principal, account, owner, actor and reason. */
function extraColumns(
  section: Section,
  evidence: Record<string, unknown>,
  actor: string,
): Record<string, string | Person> {
  switch (section) {
    case 'approvals':
      return {
        approver: evidence.approver ? personOf(str(evidence.approver), evidence, actor) : '',
        until: str(evidence.until),
        ...(evidence.proposedBy ? { proposedBy: str(evidence.proposedBy) } : {}),
      };
    case 'exemptions':
      return { approver: personOf(str(evidence.approver), evidence, actor), until: str(evidence.until) };
    case 'protected':
      return { pattern: str(evidence.protectedBy) };
    case 'drift':
      return { by: str(evidence.by) || 'unknown (seen by the re-check)', seenBy: str(evidence.seenBy) };
    case 'refusals':
      return { attempted: str(evidence.attempted), refusedBecause: str(evidence.refusedBecause) };
    default:
      return {};
  }
}

/**
 * A person with the name and email recorded beside the decision's actor (schema 2). An approver who
 * is not the actor (an exemption from the policy file) has no recorded name: it is shown as written.
 */
function personOf(id: string, evidence: Record<string, unknown>, actor?: string): Person {
  if (actor !== undefined && id !== actor) return { id };
  return {
    id,
    ...(typeof evidence.actorName === 'string' && { name: evidence.actorName }),
    ...(typeof evidence.actorEmail === 'string' && { email: evidence.actorEmail }),
  };
}

/** An answer's reason, with the access its owner was shown ("uses 3 of 41 services…") where recorded (schema 9). */
function withAccess(reason: string, evidence: Record<string, unknown>): string {
  const usage = evidence.serviceUsage as Partial<UsageSummary> | undefined;
  const valid =
    usage &&
    typeof usage.grantedCount === 'number' &&
    typeof usage.usedCount === 'number' &&
    typeof usage.windowDays === 'number' &&
    Array.isArray(usage.used);
  return valid ? `${reason} (access: ${summaryLine(usage as UsageSummary)})` : reason;
}

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Most first, then by name: a stable order whatever order the export was read in. */
function sorted(map: ReadonlyMap<string, number>): [string, number][] {
  return [...map].sort(([a, x], [b, y]) => y - x || compare(a, b));
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Nearest-rank quantile of sorted durations, in hours. */
function quantile(sortedMs: readonly number[], q: number): number | undefined {
  if (sortedMs.length === 0) return undefined;
  const index = Math.min(sortedMs.length - 1, Math.ceil(q * sortedMs.length) - 1);
  return (sortedMs[Math.max(0, index)] as number) / 3_600_000;
}
