import { createHash } from 'node:crypto';
import type { DecisionAction } from './actions';
import { controlsOf } from './controls';
import type { CredentialKind, StatusCredentialKind } from './credential';
import type { Identification } from './identification';
import type { OwnerOrigin } from './owners';
import { canonicalJson } from './policy';
import type { RevokedSessions } from './reauth-marks';
import type { RightSizeReceipt } from './right-size';
import type { Usage } from './usage';
import type { UsageSummary } from './usage-summary';

export { DECISION_ACTIONS, type DecisionAction } from './actions';

/**
 * Version of the decision and state item layout; bump on any change an export reader would notice.
 * 2: decisions made by a Slack user carry the user's display name and email (`evidence.actorName`,
 * `evidence.actorEmail`, from `users.info`). 3: a flag's evidence says where the credential was last
 * used (`lastUsedService`, `lastUsedRegion`) and names a role's vendors (`vendors`); the state holds the
 * same as `identification`. 4: a role's evidence and identification name the OIDC and SAML providers it
 * trusts (`federated`), and the `trust-too-broad` trigger exists. 5: the `usage-changed` trigger
 * (`evidence.usageChange` on its flag, `evidence.usageVouchedFor` on the answer, NIST CSF DE.CM-03),
 * `usage` on the state, and a state may exist with seq 0 (usage learned before any decision). 6: the
 * `aws-service-account-trusted` trigger and a role's `awsServiceAccounts` (its evidence and
 * identification no longer name such an account in `vendors`); `trust-too-broad` judges each
 * provider's subject by its parts (a flag's `evidence.openTrust` says which part is open and why), an
 * OIDC provider's `federated` entry holds its `audiences`, and a `StringEquals` subject keeps an exact
 * `*` as `${*}`. 7: a role's disable receipt names reauth's managed policy (`policyArn`, and
 * `asBoundary` when it became the role's boundary at IAM's quota) instead of an inline `policyName`;
 * `revokedSessions` names its `/reauth/sessions/` policy by `policyArn`; a request's state may say
 * whether its key's user is `rotatable`; a refused disable is an `escalate` with `evidence.refused`.
 * 8: the `assign-owner` action (a security approver names the owner of an orphaned credential:
 * `evidence.assignedOwner`, `previousOwner`, `by`), and `assignedOwner` on the state; a flag's
 * `evidence.ownerSource` and the state's `ownerSource` say where the owner came from (`source`, `via`:
 * see `domain/owners.ts`), where flags before it had `evidence.ownerTag`; a flag's `evidence.limits`
 * (the tier's idle and rotation limits it was judged by), and `evidence.controls` mapped by credential
 * kind, trigger and threshold (`CONTROL_RULES`).
 * 8 also: the `password` kind (an IAM user's console password, id the user name): its flag's evidence has
 * no `rotationAgeDays` (its `limits.idleDays` is the tier's `passwordIdleDays`), its disable receipt says whether a login profile was deleted
 * and its last sign-in, a restore's evidence may name the secret holding a new password
 * (`passwordStoredIn`), and its decisions' controls leave out access keys' and secrets' own.
 * 9: the status credentials, `signing-certificate`, `ssh-key` and `service-credential` (an IAM user's,
 * id the certificate's, key's or credential's id, principal the user): judged by age alone (IAM records
 * no last use of them), their flag's `limits` has `maxAgeDays` (the tier's `userCredentialMaxAgeDays`)
 * and no `idleDays`; a disable receipt names the user and the id set `Inactive`.
 * 10: the `right-size` action (an owner's *Still needed, only what it uses*: `evidence.rightSize` names
 * the deny attached (`policyArn`, null in report mode where it is only `suggested`), the `kept`
 * actions, the principal's `boundary` before and after (reauth never changes it), and the usage data's
 * `readAt`, `trackedSince`, `windowDays` and `granted` count) and the `widen` action (it taken off,
 * `evidence.rightSize` what was taken off); `rightSize` on the state; a `drift` may carry
 * `evidence.rightSizeRemoved` (reauth's deny detached outside reauth).
 * 11: the scan writes `serviceUsage` on the state when a request opens (and, on tiers with
 * `maxUnusedServiceShare`, at most every SERVICE_USAGE_RECHECK_DAYS), and on the flag's evidence; the
 * owner's `reauthorize` and `rotate` record it as `evidence.serviceUsage` (the access they were shown);
 * the `over-privileged` trigger (its flag's `evidence.serviceUsage` adds `maxUnusedServiceShare`).
 * 12: a user's right-size is the user's (IAM holds one deny per principal): when an answer on one of
 * its credentials narrows or widens the user, each other credential's record follows, an `observe`
 * with `evidence.rightSize` (the state's new `rightSize`) or a `widen`, each with `evidence.via` (the
 * credential answered); the actor is the answering Slack user.
 * Older decisions still verify: the hash covers what each decision holds.
 */
export const SCHEMA_VERSION = 12;

export const TRIGGERS = [
  // A role trusted by an account AWS owns for one of its services (log delivery, ELB, CloudTrail…):
  // AWS never assumes a customer's role from one, so it is a likely backdoor. Listed first everywhere.
  'aws-service-account-trusted',
  'idle',
  'max-age',
  'review-due',
  'scope-changed',
  'owner-changed',
  'owner-departed',
  'purpose-changed',
  'orphaned',
  // Turned back on outside reauth while recorded as disabled.
  'drift',
  // A role a federated provider's tokens can assume from more than one repository, project or
  // workspace: a wildcard (or no condition) where the subject names the owner or what is inside it.
  'trust-too-broad',
  // Used from a service or region outside what it was learned to use, or outside its tier's regions.
  'usage-changed',
  // Its user or role left more of its granted services unused than its tier allows (`maxUnusedServiceShare`).
  'over-privileged',
] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** Listed before the others wherever a credential's triggers are: a likely backdoor is read first. */
const FIRST_TRIGGERS: readonly Trigger[] = ['aws-service-account-trusted'];

/** `triggers` with those that come first in front, the rest in their order. */
export function inPriorityOrder(triggers: readonly Trigger[]): Trigger[] {
  const first = (trigger: Trigger) => FIRST_TRIGGERS.includes(trigger);
  return [...triggers.filter(first), ...triggers.filter((trigger) => !first(trigger))];
}

export const CREDENTIAL_STATUSES = [
  'active',
  'pending',
  'disabled',
  'deleted',
  'exempt',
  'protected',
] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];

/**
 * What a disable changed in IAM or Secrets Manager, kept in the state so a restore undoes exactly that.
 * `revokedSessions`: the sessions it ended too (a user's or a role's; a secret has no sessions).
 */
export type DisableReceipt =
  | { kind: 'access-key'; keyId: string; revokedSessions?: RevokedSessions }
  | { kind: 'secret'; previousPolicy: string | null }
  /** `reauth-disabled` attached to the role, or (at IAM's quota of attached policies) made its boundary. */
  | { kind: 'role'; policyArn: string; asBoundary?: true; revokedSessions?: RevokedSessions }
  /**
   * The user's login profile deleted (false: there was none to delete, as on a retry after the delete),
   * with what there was: when it was made and the last sign-in (null: never). MFA devices stay.
   */
  | {
      kind: 'password';
      userName: string;
      loginProfileDeleted: boolean;
      loginProfileCreatedAt?: string;
      passwordLastUsed: string | null;
      /** The user's console sessions (and any others it holds) issued before the disable, ended. */
      revokedSessions?: RevokedSessions;
    }
  /** A user's signing certificate, SSH public key or service-specific credential set `Inactive`. */
  | { kind: StatusCredentialKind; userName: string; id: string };

/** The first decision of a credential chains to this. */
export const GENESIS_HASH = '0'.repeat(64);

/** What the caller decides; the store adds the chain fields (`seq`, `prevHash`, `hash`, `schemaVersion`). */
export interface DecisionInput {
  credentialId: string;
  accountId: string;
  kind: CredentialKind;
  principal: string;
  owner: string;
  action: DecisionAction;
  reason: string;
  /** `system:<job>` or `slack:<userId>`. */
  actor: string;
  /** ISO-8601. */
  at: string;
  mode: 'report' | 'enforce';
  policyId: string;
  /** Last used, idle days, triggers and the like: whatever made the decision. */
  evidence: Record<string, unknown>;
}

/** One append-only decision item, as stored and exported. */
export interface Decision extends DecisionInput {
  /** 1, 2, 3… per credential. */
  seq: number;
  schemaVersion: number;
  prevHash: string;
  hash: string;
}

/**
 * The status a decision leaves its credential in, read from the decision alone (the evidence report
 * rebuilds each credential's history from an export with it); undefined for `refuse` and `observe`,
 * which change no status.
 */
export function statusAfter(
  decision: Pick<DecisionInput, 'action' | 'evidence'>,
): CredentialStatus | undefined {
  switch (decision.action) {
    case 'flag':
    case 'notify':
    case 'remind':
    case 'escalate':
    case 'restore':
    case 'drift':
    case 'assign-owner':
      return 'pending';
    case 'reauthorize':
    case 'rotate':
      return 'active';
    case 'disable':
      return 'disabled';
    case 'delete':
      return 'deleted';
    case 'exempt':
      return decision.evidence?.protectedBy ? 'protected' : 'exempt';
    case 'right-size':
      return 'active';
    case 'refuse':
    case 'observe':
    case 'widen':
      return undefined;
  }
}

/** The one current-state item per credential. */
export interface CredentialState {
  credentialId: string;
  accountId: string;
  kind: CredentialKind;
  principal: string;
  owner: string;
  status: CredentialStatus;
  /** Why it is pending (empty otherwise). */
  triggers: Trigger[];
  /** ISO: when the owner must have answered by (pending). */
  deadlineAt?: string;
  /** ISO: until when the last reauthorization vouches (active). */
  reviewDueAt?: string;
  /** ISO: until when an approved exemption holds (exempt). */
  exemptUntil?: string;
  /** Access keys: the key's creation time, ISO; with the principal it finds the key in a credential report slot. */
  keyCreatedAt?: string;
  /** The tier it was judged under when the current request opened. */
  tier?: string;
  /**
   * seq of the decision that opened the current request (the flag, or the disable a restore would
   * undo). Slack buttons carry it, so a click on an older message is recognized as such.
   */
  requestSeq?: number;
  /** ISO: when the current request opened. */
  requestedAt?: string;
  /** Why it needs reauthorization, in words, and its last use (ISO, null: never), as the owner is told. */
  why?: string;
  lastUsedAt?: string | null;
  /**
   * What the owner needs to recognise it (created, where last used, whom a role trusts), as the flag
   * that opened the request saw it. Kept once the request closes: a drift escalation shows it too.
   */
  identification?: Identification;
  /**
   * Access keys: whether the user carried `reauth:rotatable=true` when the current request opened, so
   * the owner is offered *Rotate* only where it can work (the worker checks the tag again).
   */
  rotatable?: boolean;
  /** ISO: when the owner was told of the current request. */
  notifiedAt?: string;
  /** Where `owner` came from when the scan last judged it (see `resolveOwner`). */
  ownerSource?: OwnerOrigin;
  /**
   * Chosen by a security approver in Slack (*Assign owner*): the first owner source, kept across
   * requests until another assignment.
   */
  assignedOwner?: { owner: string; by: string; at: string };
  /** The Slack user the owner resolved to when told (the owner tag holds a user id or an email). */
  ownerSlackId?: string;
  /** Where the request was posted, so it can be updated when it is decided. */
  message?: { channel: string; ts: string };
  /** An owner's *Still needed* waiting for a second approver (tiers with approvers). */
  proposal?: { by: string; reason: string; days: number; at: string };
  /** Reminders sent for the current request. */
  remindersSent?: number;
  /** ISO: when the current request was escalated to the fallback owner. */
  escalatedAt?: string;
  /** Who made the last answer (`slack:<userId>` or `system:<job>`) and what it was, for the message. */
  decidedBy?: string;
  /**
   * The sessions reauth ended when the current request opened on a trust change (`revokeSessionsOn`
   * `owner-departed`, `scope-changed`): the user's or role's `reauth-revoke-sessions` policy is from this
   * moment or later. A request field: kept while the request is open, gone once it is answered (the
   * policy itself stays; see the README's *Sessions end with the credential*).
   */
  revokedSessions?: RevokedSessions;
  /** ISO: when it was disabled. */
  disabledAt?: string;
  /** What the disable changed, so a restore undoes exactly that. */
  disableReceipt?: DisableReceipt;
  /** An access key being rotated: its replacement, and when this (the replaced) key is deactivated. */
  rotation?: { newKeyId: string; storedIn: string; deactivateAfter: string };
  /**
   * The trust-change events recorded for it (CloudTrail eventID or custom event id → ISO time it was
   * recorded), written in the same transaction as the event's decision: one decision per event, in any
   * order of delivery. Entries older than ~15 days are pruned on write (SQS keeps a message 14 days at most).
   */
  eventIds?: Record<string, string>;
  /** Items written before `eventIds` hold their last event id here; it is read as one entry of it. */
  lastEventId?: string;
  /**
   * Who was refused on `day` (UTC, YYYY-MM-DD): a refused attempt is recorded once per Slack user,
   * credential and day, since anyone in the workspace can click and each decision stays in the chain.
   * Only the latest day is kept.
   */
  refusedOn?: { day: string; users: string[] };
  /**
   * A lease on the credential's IAM or Secrets Manager side, taken before reauth changes it (claim,
   * act, confirm): while it holds, no other job or worker acts on this credential. It does not move
   * `seq`, and every write keeps it unless its holder releases it. A holder that crashed loses it at `until`.
   */
  claim?: Claim;
  /**
   * Where it has been seen in use (services and regions, each capped), learned by the scan: written
   * with the state alone when only it changes, so learning adds no decision.
   */
  usage?: Usage;
  /**
   * Its user's or role's services granted against used (IAM's service last-accessed data), capped: read
   * by the scan when a request opens (the owner's line) and, on tiers with `maxUnusedServiceShare`, every
   * SERVICE_USAGE_RECHECK_DAYS; kept with the state alone when only it changes. What *Still needed, only
   * what it uses* narrows to when no fresher read is given (issue #25).
   */
  serviceUsage?: UsageSummary;
  /**
   * The owner's *Still needed, only what it uses*, as IAM holds it: reauth's deny attached to the user
   * or role, kept across requests until *Widen* (whose button carries `seq`, the right-size decision's)
   * or drift. Absent in report mode, where nothing is attached.
   */
  rightSize?: RightSizeRecord;
  /** ISO: last change. */
  updatedAt: string;
  /** The item layout's version (as on decisions). */
  schemaVersion?: number;
  /** seq of the last decision (0 before any). Every write is conditional on it. */
  seq: number;
  /** hash of the last decision. */
  lastHash: string;
}

/** A right-size as the state keeps it: what was attached, when, by which decision, on what data. */
export interface RightSizeRecord extends RightSizeReceipt {
  seq: number;
  at: string;
  usage: { readAt: string; trackedSince: string; windowDays: number; granted: number };
}

/** Who holds a credential's lease, for what, and until when (ISO). */
export interface Claim {
  /** Unique per job run or queued job: a redelivered job holds the same one. */
  holder: string;
  action:
    | 'disable'
    | 'restore'
    | 'rotate'
    | 'deactivate-replaced'
    | 'revoke-sessions'
    | 'converge'
    | 'right-size'
    | 'widen';
  until: string;
}

/** The state fields a caller sets; the store maintains `seq`, `lastHash` and `updatedAt`. */
export type StateInput = Omit<CredentialState, 'seq' | 'lastHash' | 'updatedAt' | 'claim'>;

/** The state without the store's fields: what a transition that keeps it as it is writes. */
export function stateInputOf(state: CredentialState): StateInput {
  const { seq: _seq, lastHash: _hash, updatedAt: _at, claim: _claim, ...rest } = state;
  return rest;
}

/** A change to record: the next state and the decision that explains it. */
export interface Transition {
  state: StateInput;
  decision: DecisionInput;
}

/**
 * A change to the state alone, with no decision: what a scan learns of where a credential is used. It
 * keeps the chain (`seq`, `lastHash`) as it is.
 */
export interface StateUpdate {
  state: StateInput;
  decision?: undefined;
  /** ISO: when, for a state written for the first time. */
  at: string;
}

/** The hash of a decision: SHA-256 over its canonical JSON, without `hash` itself. */
export function hashDecision(decision: Omit<Decision, 'hash'>): string {
  const { hash: _ignored, ...rest } = decision as Decision;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** Appends `input` to a chain whose last decision has `seq` and `lastHash`. */
export function chainDecision(input: DecisionInput, previous: { seq: number; lastHash: string }): Decision {
  const unhashed = {
    ...input,
    evidence: { ...input.evidence, controls: controlsOf(input) },
    seq: previous.seq + 1,
    schemaVersion: SCHEMA_VERSION,
    prevHash: previous.lastHash,
  };
  return { ...unhashed, hash: hashDecision(unhashed) };
}

export interface ChainProblem {
  seq: number;
  at: string;
  problem: string;
}

/** Checks a credential's decisions, oldest first: each hash is right and links to the one before. */
export function verifyChain(decisions: readonly Decision[]): ChainProblem[] {
  const problems: ChainProblem[] = [];
  let expectedPrev = GENESIS_HASH;
  decisions.forEach((decision, index) => {
    const where = { seq: decision.seq, at: decision.at };
    if (decision.seq !== index + 1) {
      problems.push({
        ...where,
        problem: `seq ${decision.seq} where ${index + 1} was expected (a decision is missing)`,
      });
    }
    if (decision.prevHash !== expectedPrev) {
      problems.push({ ...where, problem: 'prevHash does not match the previous decision' });
    }
    if (hashDecision(decision) !== decision.hash) {
      problems.push({ ...where, problem: 'hash does not match the content (altered after it was written)' });
    }
    expectedPrev = decision.hash;
  });
  return problems;
}
