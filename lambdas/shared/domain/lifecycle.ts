import type { Credential } from './credential';
import {
  type CredentialState,
  type DecisionInput,
  inPriorityOrder,
  type StateInput,
  type StateUpdate,
  stateInputOf,
  type Transition,
  type Trigger,
} from './decision';
import { describeFinding, type Evaluation } from './evaluate';
import { ROTATABLE_TAG } from './reauth-marks';
import { sameUsage } from './usage';
import type { UsageSummary } from './usage-summary';

const DAY_MS = 86_400_000;

export interface DecisionContext {
  now: Date;
  mode: 'report' | 'enforce';
  policyId: string;
  /** `system:<job>` or `slack:<userId>`. */
  actor: string;
}

/**
 * What a scan records for one credential, given what it found and the state it read: a decision, or
 * the state alone when only where it is used was learned. Returns undefined when the record already
 * says it: an unchanged re-run writes nothing. `serviceUsage`: its user's or role's usage read by this
 * run (for a request opening, or the over-privileged check), kept on the state and shown with the request.
 */
export function planScanTransition(
  credentialId: string,
  credential: Credential,
  evaluation: Evaluation,
  current: CredentialState | undefined,
  context: DecisionContext,
  serviceUsage?: UsageSummary,
): Transition | StateUpdate | undefined {
  const usage =
    evaluation.outcome === 'ok' || evaluation.outcome === 'finding' ? evaluation.usage : current?.usage;
  const services = serviceUsage ?? current?.serviceUsage;
  const decided = planScanDecision(credentialId, credential, evaluation, current, context, usage, services);
  if (decided || (sameUsage(usage, current?.usage) && services === current?.serviceUsage)) return decided;
  const learned = current ? stateInputOf(current) : newState(credentialId, credential, evaluation);
  return {
    state: { ...learned, usage, ...(services && { serviceUsage: services }) },
    at: context.now.toISOString(),
  };
}

/** A credential's first state, before any decision. */
function newState(
  credentialId: string,
  credential: Credential,
  { owner, ownerSource }: Pick<Evaluation, 'owner' | 'ownerSource'>,
): StateInput {
  return {
    credentialId,
    accountId: credential.accountId,
    kind: credential.kind,
    principal: credential.principal,
    owner,
    ownerSource,
    status: 'active',
    triggers: [],
    ...(credential.kind === 'access-key' && { keyCreatedAt: credential.createdAt.toISOString() }),
  };
}

function planScanDecision(
  credentialId: string,
  credential: Credential,
  evaluation: Evaluation,
  current: CredentialState | undefined,
  context: DecisionContext,
  usage: CredentialState['usage'],
  serviceUsage: CredentialState['serviceUsage'],
): Transition | undefined {
  const base: StateInput = {
    ...newState(credentialId, credential, evaluation),
    status: current?.status ?? 'active',
    // An assignment outlives requests: it is the first owner source until another one.
    ...(current?.assignedOwner && { assignedOwner: current.assignedOwner }),
    // Kept across a re-flag so `review-due` stays a trigger and an unchanged re-run stays a no-op.
    ...(current?.reviewDueAt && { reviewDueAt: current.reviewDueAt }),
    ...(usage && { usage }),
    ...(serviceUsage && { serviceUsage }),
  };
  const decide = (
    state: StateInput,
    decision: Pick<DecisionInput, 'action' | 'reason' | 'evidence'>,
  ): Transition => ({
    state,
    decision: {
      credentialId,
      accountId: credential.accountId,
      kind: credential.kind,
      principal: credential.principal,
      owner: evaluation.owner,
      at: context.now.toISOString(),
      actor: context.actor,
      mode: context.mode,
      policyId: context.policyId,
      ...decision,
    },
  });

  switch (evaluation.outcome) {
    case 'ok':
      // A pending credential whose finding went away (used again, rotated, re-tagged) is resolved;
      // the evidence that resolved it is the record.
      if (current?.status !== 'pending') return undefined;
      // What an event or the enforce job raised, the scan cannot see go away: it waits for the owner.
      if (current.triggers.some(isAnsweredOnly)) return undefined;
      return decide(
        { ...base, status: 'active' },
        {
          action: 'reauthorize',
          reason: `resolved without an answer: ${current.triggers.join(', ')} no longer applies${
            credential.lastUsedAt ? ` (last used ${credential.lastUsedAt.toISOString().slice(0, 10)})` : ''
          }`,
          evidence: {
            resolvedTriggers: current.triggers,
            lastUsedAt: credential.lastUsedAt?.toISOString() ?? null,
            lastRotatedAt: credential.lastRotatedAt?.toISOString() ?? null,
          },
        },
      );
    case 'protected':
      if (current?.status === 'protected') return undefined;
      return decide(
        { ...base, status: 'protected' },
        {
          action: 'exempt',
          reason: `protected principal (matches "${evaluation.pattern}"): never touched`,
          evidence: { protectedBy: evaluation.pattern },
        },
      );
    case 'exempt':
      if (current?.status === 'exempt' && current.exemptUntil === evaluation.until) return undefined;
      return decide(
        { ...base, status: 'exempt', exemptUntil: evaluation.until },
        {
          action: 'exempt',
          reason: `exempt until ${evaluation.until}, approved by ${evaluation.approver}: ${evaluation.reason}`,
          evidence: { approver: evaluation.approver, until: evaluation.until },
        },
      );
    case 'finding': {
      // A disabled or deleted credential is past asking; the enforce job owns it from here.
      if (current?.status === 'disabled' || current?.status === 'deleted') return undefined;
      // An open request keeps the triggers only an answer ends, beside what this scan found.
      const triggers = inPriorityOrder([
        ...new Set([
          ...(current?.status === 'pending' ? current.triggers.filter(isAnsweredOnly) : []),
          ...evaluation.triggers,
        ]),
      ]);
      const sameTriggers =
        current?.status === 'pending' &&
        current.triggers.length === triggers.length &&
        triggers.every((t) => current.triggers.includes(t));
      if (sameTriggers) return undefined;
      // New triggers on an open request change its reasons, not the request: the owner keeps the
      // deadline, the message and the reminders already sent. But a backdoor is news, not one more
      // reason on an old message: it opens a new request, told to the owner and to security at once.
      const backdoorNews =
        triggers.includes(BACKDOOR) && current?.status === 'pending' && !current.triggers.includes(BACKDOOR);
      const request =
        current?.status === 'pending' && !backdoorNews
          ? openRequestOf(current)
          : newRequest(current, evaluation, context.now);
      const why = describeFinding(evaluation);
      return decide(
        {
          ...base,
          status: 'pending',
          triggers,
          ...request,
          why,
          lastUsedAt: evaluation.evidence.lastUsedAt,
          identification: evaluation.identification,
          ...(credential.kind === 'access-key' && {
            rotatable: credential.tags[ROTATABLE_TAG.key] === ROTATABLE_TAG.value,
          }),
        },
        {
          action: 'flag',
          reason: why,
          evidence: {
            ...evaluation.evidence,
            deadlineAt: request.deadlineAt,
            ...(serviceUsage && !evaluation.evidence.serviceUsage && { serviceUsage }),
          },
        },
      );
    }
  }
}

const BACKDOOR: Trigger = 'aws-service-account-trusted';

/**
 * An open request for a role that trusts an account AWS owns, whose fallback owner (the security
 * channel) has not been told yet: each such request is escalated once, as a likely backdoor, beside
 * the owner's own message. A request opened for it starts with no `escalatedAt` (see above).
 */
export function isUntoldBackdoor(state: CredentialState): boolean {
  return state.status === 'pending' && state.triggers.includes(BACKDOOR) && state.escalatedAt === undefined;
}

/**
 * Triggers a scan never raises, so it cannot see them go away: a trust-change event's (the owner left
 * or changed, the scope or purpose changed) and the enforce job's drift. A request opened for one stays
 * open until someone answers it; a scan that finds nothing does not close it.
 */
const ANSWERED_ONLY: readonly Trigger[] = [
  'scope-changed',
  'owner-changed',
  'owner-departed',
  'purpose-changed',
  'drift',
];
function isAnsweredOnly(trigger: Trigger): boolean {
  return ANSWERED_ONLY.includes(trigger);
}

/** The request fields of a state, carried over while the request stays open. */
export type RequestFields = Pick<
  CredentialState,
  | 'tier'
  | 'requestSeq'
  | 'requestedAt'
  | 'why'
  | 'lastUsedAt'
  | 'deadlineAt'
  | 'notifiedAt'
  | 'ownerSlackId'
  | 'message'
  | 'remindersSent'
  | 'escalatedAt'
  | 'proposal'
  | 'revokedSessions'
>;

export function openRequestOf(state: CredentialState): RequestFields {
  const { tier, requestSeq, requestedAt, why, lastUsedAt, deadlineAt, notifiedAt } = state;
  const { ownerSlackId, message, remindersSent, escalatedAt, proposal, revokedSessions } = state;
  return {
    ...{ tier, requestSeq, requestedAt, why, lastUsedAt, deadlineAt, notifiedAt },
    ...{ ownerSlackId, message, remindersSent, escalatedAt, proposal, revokedSessions },
  };
}

/** A request opened by the decision about to be written on top of `current`. */
export function newRequest(
  current: CredentialState | undefined,
  finding: { tierName: string; tier: { graceDays: number } },
  now: Date,
): RequestFields & { deadlineAt: string } {
  return {
    tier: finding.tierName,
    requestSeq: (current?.seq ?? 0) + 1,
    requestedAt: now.toISOString(),
    deadlineAt: new Date(now.getTime() + finding.tier.graceDays * DAY_MS).toISOString(),
    remindersSent: 0,
  };
}
