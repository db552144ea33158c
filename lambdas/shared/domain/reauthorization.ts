import {
  type CredentialState,
  type DecisionAction,
  type DecisionInput,
  type DisableReceipt,
  inPriorityOrder,
  type StateInput,
  stateInputOf,
  type Transition,
} from './decision';
import { credentialName } from './identification';
import { newRequest, openRequestOf } from './lifecycle';
import { type PolicyConfig, recordedTierOf } from './policy';
import { type RevokedSessions, SESSION_LIFETIME_MAX_MS } from './reauth-marks';
import type { RightSizeReceipt, RightSizeUsage } from './right-size';
import { vouchForUsage } from './usage';

const DAY_MS = 86_400_000;

/**
 * What an owner can answer to a request, from Slack; and `assign-owner`, what a security approver
 * answers to a request no owner was found for.
 */
export type OwnerAction =
  | 'still-needed'
  | 'rotate'
  | 'disable'
  | 'restore'
  | 'approve'
  | 'assign-owner'
  | 'right-size'
  | 'widen';

export interface AnswerContext {
  now: Date;
  policy: PolicyConfig;
  policyId: string;
  /** The Slack user who clicked. */
  slackUserId: string;
  /**
   * Who that user was when they answered (Slack's `users.info`): recorded in the decision's evidence
   * as `actorName` and `actorEmail`, inside the hash, so the record names a person without a Slack
   * admin later. Absent when Slack did not say: the decision then holds the id alone.
   */
  slackUser?: { name?: string; email?: string };
}

/** Why a click does not count; `reply` is what the clicker is told. */
export type Refusal =
  | { why: 'not-authorized'; reply: string }
  | { why: 'not-open'; reply: string }
  | { why: 'report-mode'; reply: string }
  /** The credential's account is not one reauth covers (excluded, or outside the organization). */
  | { why: 'not-covered'; reply: string };

/**
 * Whether `slackUserId` may take `action` on the request `requestSeq` of this credential now.
 * Only the owner (as resolved when they were told, or as the owner tag names them) or a delegate
 * named in the policy for that owner may decide.
 */
export function checkAnswer(
  state: CredentialState | undefined,
  action: OwnerAction,
  requestSeq: number,
  context: AnswerContext,
): Refusal | undefined {
  if (!state) return { why: 'not-open', reply: 'reauth has no record of this credential.' };
  if (action === 'approve') return checkApproval(state, requestSeq, context);
  if (action === 'assign-owner') return checkAssignment(state, requestSeq, context);
  if (!mayDecide(state, context.slackUserId, context.policy)) {
    return {
      why: 'not-authorized',
      reply: `Only ${ownerMention(state)} or their delegates can answer for ${credentialName(state)}. Your attempt was recorded.`,
    };
  }
  if (action === 'widen') {
    // A *Widen* answers the right-size that put its button there, whatever request is open since.
    return state.rightSize?.seq === requestSeq && state.status !== 'deleted'
      ? undefined
      : {
          why: 'not-open',
          reply: `${credentialName(state)} is not narrowed by reauth${state.rightSize ? ' under that answer; use the newest message' : ''}: there is nothing to widen.`,
        };
  }
  const expected = action === 'restore' ? 'disabled' : 'pending';
  if (state.status !== expected || state.requestSeq !== requestSeq) {
    return { why: 'not-open', reply: describeClosed(state, action) };
  }
  if (action === 'restore' && !withinRestoreWindow(state, context)) {
    return {
      why: 'not-open',
      reply: `${credentialName(state)} was disabled on ${day(state.disabledAt)}; the ${context.policy.enforcement.restoreWindowDays}-day restore window has passed. Ask the security team.`,
    };
  }
  if ((action === 'still-needed' || action === 'right-size') && state.proposal) {
    return {
      why: 'not-open',
      reply: `${mention(state.proposal.by)} already answered *Still needed* for ${credentialName(state)}; it is waiting for a second approver.`,
    };
  }
  // A right-size in report mode is recorded and suggested to the security channel, changing nothing.
  if (action !== 'still-needed' && action !== 'right-size' && context.policy.mode === 'report') {
    return {
      why: 'report-mode',
      reply: `reauth runs in report mode: it changes nothing in IAM or Secrets Manager. The request for ${credentialName(state)} stays open: answer *Still needed*, or ${action} it yourself.`,
    };
  }
  return undefined;
}

export function mayDecide(state: CredentialState, slackUserId: string, policy: PolicyConfig): boolean {
  return (
    slackUserId === state.ownerSlackId ||
    slackUserId === state.owner ||
    (policy.slack.delegates[state.owner] ?? []).includes(slackUserId) ||
    // Once escalated, the fallback owner's delegates (the security team) may answer too.
    (state.escalatedAt !== undefined &&
      (policy.slack.delegates[policy.fallbackOwner] ?? []).includes(slackUserId))
  );
}

/** The durations an owner may choose: at most the tier's `reauthorizeForDays`. */
export function maxReauthorizeDays(state: CredentialState, policy: PolicyConfig): number {
  return recordedTierOf(state, policy).reauthorizeForDays;
}

/**
 * A refused attempt, kept in the record once per user and UTC day: undefined when today's refusal of
 * this user is already recorded. Part of the same conditional write as the decision, so two refusals at
 * once still record one. The request does not change; the state notes who was refused today.
 */
export function planRefusal(
  state: CredentialState,
  action: OwnerAction,
  refusal: Refusal,
  context: AnswerContext,
): Transition | undefined {
  const day = context.now.toISOString().slice(0, 10);
  const refusedToday = state.refusedOn?.day === day ? state.refusedOn.users : [];
  if (refusedToday.includes(context.slackUserId)) return undefined;
  const next = { ...stateInputOf(state), refusedOn: { day, users: [...refusedToday, context.slackUserId] } };
  return answer(state, next, context, {
    action: 'refuse',
    reason: `${context.slackUserId} tried "${action}": ${refusal.why}`,
    evidence: { attempted: action, refusedBecause: refusal.why, requestSeq: state.requestSeq ?? null },
  });
}

/**
 * *Still needed*: active again, vouched for `days` (capped by the tier), with the owner's reason. When
 * the tier has approvers, the owner's answer is a proposal that waits for one of them.
 */
export function planStillNeeded(
  state: CredentialState,
  input: { days: number; reason: string },
  context: AnswerContext,
): Transition {
  const days = Math.min(Math.max(1, Math.floor(input.days)), maxReauthorizeDays(state, context.policy));
  const approvers = recordedTierOf(state, context.policy).approvers;
  if (approvers) {
    const by = `slack:${context.slackUserId}`;
    return answer(
      state,
      { ...stateInputOf(state), proposal: { by, reason: input.reason, days, at: context.now.toISOString() } },
      context,
      {
        action: 'notify',
        reason: `${context.slackUserId} answered Still needed for ${days} days ("${input.reason}"); waiting for a second approver`,
        evidence: { proposedBy: by, days, approvers, requestSeq: state.requestSeq ?? null },
      },
    );
  }
  return reauthorized(
    state,
    { days, reason: input.reason, approver: `slack:${context.slackUserId}` },
    context,
  );
}

/** A member of the approvers group, not the owner, confirms the owner's *Still needed*. */
export function planApproval(state: CredentialState, context: AnswerContext): Transition {
  const proposal = state.proposal;
  if (!proposal) throw new Error(`${state.credentialId} has no proposal to approve`);
  return reauthorized(
    state,
    {
      days: proposal.days,
      reason: proposal.reason,
      approver: `slack:${context.slackUserId}`,
      proposedBy: proposal.by,
    },
    context,
  );
}

function reauthorized(
  state: CredentialState,
  input: { days: number; reason: string; approver: string; proposedBy?: string },
  context: AnswerContext,
): Transition {
  const until = new Date(context.now.getTime() + input.days * DAY_MS).toISOString();
  return answer(state, { ...vouched(state), status: 'active', reviewDueAt: until }, context, {
    action: 'reauthorize',
    reason: input.reason,
    evidence: {
      approver: input.approver,
      ...(input.proposedBy && { proposedBy: input.proposedBy }),
      until,
      days: input.days,
      requestSeq: state.requestSeq ?? null,
      ...usageVouchedFor(state),
    },
  });
}

function checkApproval(
  state: CredentialState,
  requestSeq: number,
  context: AnswerContext,
): Refusal | undefined {
  const approvers = recordedTierOf(state, context.policy).approvers ?? [];
  const user = context.slackUserId;
  const isOwner =
    user === state.ownerSlackId || user === state.owner || `slack:${user}` === state.proposal?.by;
  if (!approvers.includes(user) || isOwner) {
    return {
      why: 'not-authorized',
      reply: `Only a member of the approvers group other than the owner can confirm ${credentialName(state)}. Your attempt was recorded.`,
    };
  }
  if (state.status !== 'pending' || state.requestSeq !== requestSeq || !state.proposal) {
    return { why: 'not-open', reply: describeClosed(state, 'approve') };
  }
  return undefined;
}

/**
 * The security approvers, who may name the owner of a credential none was found for: the fallback
 * owner's delegates (`slack.delegates[fallbackOwner]`), the people who answer for the security channel.
 */
export function isSecurityApprover(slackUserId: string, policy: PolicyConfig): boolean {
  return (policy.slack.delegates[policy.fallbackOwner] ?? []).includes(slackUserId);
}

function checkAssignment(
  state: CredentialState,
  requestSeq: number,
  context: AnswerContext,
): Refusal | undefined {
  if (!isSecurityApprover(context.slackUserId, context.policy)) {
    return {
      why: 'not-authorized',
      reply: `Only the security approvers (the delegates of ${context.policy.fallbackOwner}) can assign an owner to ${credentialName(state)}. Your attempt was recorded.`,
    };
  }
  if (state.status === 'pending' && state.requestSeq === requestSeq && state.triggers.includes('orphaned')) {
    return undefined;
  }
  const assigned = state.assignedOwner;
  return {
    why: 'not-open',
    reply: assigned
      ? `${credentialName(state)} is already assigned to ${mention(`slack:${assigned.owner}`)} by ${mention(assigned.by)}.`
      : describeClosed(state, 'assign-owner'),
  };
}

/**
 * *Assign owner*: a security approver names the owner of a credential none was found for. The
 * assignment becomes its first owner source (kept on the state across requests), and a new request
 * opens for the new owner with a fresh deadline (the tier's grace days), not yet told: the next notify
 * pass asks them. `orphaned` gives way to `owner-changed`, a reason only an answer ends, so the request
 * stays open until the new owner answers it. Nothing changes in IAM.
 */
export function planAssignment(state: CredentialState, assignee: string, context: AnswerContext): Transition {
  const by = `slack:${context.slackUserId}`;
  const tierName = state.tier ?? context.policy.defaultTier;
  const request = newRequest(state, { tierName, tier: recordedTierOf(state, context.policy) }, context.now);
  const triggers = inPriorityOrder([
    ...new Set([...state.triggers.filter((t) => t !== 'orphaned'), 'owner-changed' as const]),
  ]);
  // The previous request's telling goes: the new owner is told afresh, in a message of their own.
  const {
    ownerSlackId: _told,
    message: _message,
    notifiedAt: _notified,
    escalatedAt: _escalated,
    proposal: _proposal,
    ...kept
  } = stateInputOf(state);
  const approver = context.slackUser?.name ?? context.slackUserId;
  const transition = answer(
    state,
    {
      ...kept,
      status: 'pending',
      owner: assignee,
      ownerSource: { source: 'assigned', via: by },
      assignedOwner: { owner: assignee, by, at: context.now.toISOString() },
      triggers,
      ...request,
      why: `owner assigned by ${approver} (security); before: ${state.why ?? state.triggers.join(', ')}`,
    },
    context,
    {
      action: 'assign-owner',
      reason: `${context.slackUserId} assigned ${assignee} as the owner (was ${state.owner}); a new request is open until ${day(request.deadlineAt)}`,
      evidence: {
        assignedOwner: assignee,
        previousOwner: state.owner,
        by,
        requestSeq: state.requestSeq ?? null,
        triggers,
        deadlineAt: request.deadlineAt,
      },
    },
  );
  // The decision names the owner it made: the one the new request asks.
  return { ...transition, decision: { ...transition.decision, owner: assignee } };
}

/** Disabled (by the owner, or by the deadline): reversible within the restore window. */
export function planDisable(
  state: CredentialState,
  receipt: DisableReceipt,
  context: {
    now: Date;
    policyId: string;
    mode: 'report' | 'enforce';
    actor: string;
    reason: string;
    /** When a Slack user asked for it: who they were (see `AnswerContext.slackUser`). */
    slackUser?: AnswerContext['slackUser'];
  },
): Transition {
  const at = context.now.toISOString();
  return {
    state: {
      ...closed(state),
      status: 'disabled',
      decidedBy: context.actor,
      // Kept: a restore reopens the request for the same reasons.
      triggers: state.triggers,
      disabledAt: at,
      disableReceipt: receipt,
      // The disable is what a *Restore* click answers.
      requestSeq: state.seq + 1,
    },
    decision: decisionOf(state, context, {
      action: 'disable',
      reason: context.reason,
      evidence: {
        receipt,
        ...revokedSessionsOf(receipt),
        triggers: state.triggers,
        deadlineAt: state.deadlineAt ?? null,
        ...namedBy(context.slackUser),
      },
    }),
  };
}

/**
 * The sessions a disable ended, as decision evidence under the one key the report and the exports
 * read (`revokedSessions`): inside the decision's hash. Nothing when it ended none.
 */
export function revokedSessionsOf(receipt: DisableReceipt): { revokedSessions?: RevokedSessions } {
  return (receipt.kind === 'access-key' || receipt.kind === 'role' || receipt.kind === 'password') &&
    receipt.revokedSessions
    ? { revokedSessions: receipt.revokedSessions }
    : {};
}

/**
 * The sessions the record says reauth ended and IAM must still end: the later of what the disable
 * revoked (while disabled) and what the open request's trust change revoked. reauth's session policy
 * on the user or role must be from this moment or later (the drift check puts it back when not, and a
 * converge puts it back). None once the moment is older than the longest session (36 hours): every
 * session issued before it has expired, so nothing is left to end, and the writer deletes its policy.
 */
export function recordedRevocationOf(state: CredentialState, now: Date): RevokedSessions | undefined {
  const receipt = state.status === 'disabled' ? state.disableReceipt : undefined;
  const live = (revoked: RevokedSessions | undefined) =>
    revoked && Date.parse(revoked.issuedBefore) > now.getTime() - SESSION_LIFETIME_MAX_MS
      ? revoked
      : undefined;
  const byDisable = live(receipt ? revokedSessionsOf(receipt).revokedSessions : undefined);
  const byRequest = live(state.revokedSessions);
  if (!byDisable || !byRequest) return byDisable ?? byRequest;
  return Date.parse(byRequest.issuedBefore) > Date.parse(byDisable.issuedBefore) ? byRequest : byDisable;
}

/** *Restore*: enabled again, and a new request opens (the owner still has to vouch for it). */
/** `passwordStoredIn`: a password restored as a new one, in this secret (an ARN, never the value). */
export function planRestore(
  state: CredentialState,
  context: AnswerContext,
  passwordStoredIn?: string,
): Transition {
  const tierName = state.tier ?? context.policy.defaultTier;
  const request = newRequest(state, { tierName, tier: recordedTierOf(state, context.policy) }, context.now);
  return answer(
    state,
    { ...closed(state), status: 'pending', triggers: state.triggers, ...request },
    context,
    {
      action: 'restore',
      reason: `restored by ${context.slackUserId}; a new request is open until ${request.deadlineAt}`,
      evidence: {
        disabledAt: state.disabledAt ?? null,
        receipt: state.disableReceipt ?? null,
        ...(passwordStoredIn && { passwordStoredIn }),
      },
    },
  );
}

/**
 * *Still needed, only what it uses*: vouched for as *Still needed* for the tier's longest, and narrowed
 * to what it used (`receipt`: reauth's deny attached; absent in report mode, where the change is only
 * suggested). The decision keeps the before and after (the principal's boundary, untouched, and
 * reauth's deny), what is kept and how fresh the data was. A tier with approvers is vouched for by the
 * owner alone here, as the narrowing takes access away and gives none.
 */
export function planRightSize(
  state: CredentialState,
  input: { usage: RightSizeUsage; kept: readonly string[]; receipt?: RightSizeReceipt },
  context: AnswerContext,
): Transition {
  const days = maxReauthorizeDays(state, context.policy);
  const until = new Date(context.now.getTime() + days * DAY_MS).toISOString();
  const { usage, receipt } = input;
  const data = {
    readAt: usage.readAt,
    trackedSince: usage.trackedSince,
    windowDays: usage.windowDays,
    granted: usage.grantedCount,
  };
  const rightSize = receipt && { ...receipt, seq: state.seq + 1, at: context.now.toISOString(), usage: data };
  const base = vouched(state);
  delete base.rightSize;
  return answer(
    state,
    { ...base, status: 'active', reviewDueAt: until, ...(rightSize && { rightSize }) },
    context,
    {
      action: 'right-size',
      reason: receipt
        ? `still needed, only what it uses: narrowed to ${input.kept.length} actions of the ${usage.used.length} services it used in ${usage.windowDays} days`
        : `still needed, only what it uses: report mode, so the narrowing to ${input.kept.length} actions was suggested to the security channel and nothing changed`,
      evidence: {
        approver: `slack:${context.slackUserId}`,
        until,
        days,
        requestSeq: state.requestSeq ?? null,
        rightSize: {
          ...(receipt ? {} : { suggested: true }),
          principalArn: usage.principalArn,
          kept: [...input.kept],
          usedServices: usage.used.map((u) => u.service),
          before: {
            boundary: receipt?.boundary ?? null,
            rightSizePolicy: state.rightSize?.policyArn ?? null,
          },
          after: { boundary: receipt?.boundary ?? null, rightSizePolicy: receipt?.policyArn ?? null },
          ...data,
        },
        ...usageVouchedFor(state),
      },
    },
  );
}

/** *Widen*: reauth's right-size deny taken off the user or role; the credential's status stays. */
export function planWiden(state: CredentialState, context: AnswerContext): Transition {
  const next = stateInputOf(state);
  delete next.rightSize;
  return answer(state, next, context, {
    action: 'widen',
    reason: `widened by ${context.slackUserId}: reauth's right-size of ${state.rightSize?.at.slice(0, 10) ?? 'an unknown date'} taken off`,
    evidence: { rightSize: state.rightSize ?? null },
  });
}

/**
 * A user's right-size is its user's, whichever of its credentials (its keys, its password) was
 * answered: when an answer on `by` narrows the user again or widens it, this credential's record
 * follows (IAM holds one right-size deny per principal; the answered credential's replaced this one's).
 * Its request and status stay as they are: the follow records what IAM now holds, and asks nothing.
 * Undefined when it already says so, or it is deleted.
 */
export function planRightSizeFollow(
  state: CredentialState,
  by: Pick<CredentialState, 'credentialId' | 'kind' | 'principal' | 'rightSize'>,
  context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string },
): Transition | undefined {
  if (state.status === 'deleted' || state.rightSize?.policyArn === by.rightSize?.policyArn) return undefined;
  const next = stateInputOf(state);
  delete next.rightSize;
  const through = `through ${credentialName(by)}`;
  if (!by.rightSize)
    return {
      state: next,
      decision: decisionOf(state, context, {
        action: 'widen',
        reason: `${state.principal} was widened ${through}: reauth's right-size of ${state.rightSize?.at.slice(0, 10) ?? 'an unknown date'} is off it`,
        evidence: { rightSize: state.rightSize ?? null, via: by.credentialId },
      }),
    };
  const rightSize = { ...by.rightSize, seq: state.seq + 1, at: context.now.toISOString() };
  return {
    state: { ...next, rightSize },
    decision: decisionOf(state, context, {
      // It only takes access away, as the answer on `by` vouched for: nothing is asked of anyone.
      action: 'observe',
      reason: `${state.principal} was narrowed ${through} to ${rightSize.kept.length} actions; reauth's right-size of this credential follows it`,
      evidence: {
        rightSize,
        via: by.credentialId,
        before: { rightSizePolicy: state.rightSize?.policyArn ?? null },
      },
    }),
  };
}

/**
 * reauth's right-size deny is no longer attached, taken off outside reauth: recorded as drift, and a
 * new request asks the owner again (the fallback owner is told by the next escalation), as for a
 * disable turned back on. reauth does not narrow it again by itself.
 */
export function planRightSizeDrift(
  state: CredentialState,
  policy: PolicyConfig,
  context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string },
): Transition {
  const tierName = state.tier ?? policy.defaultTier;
  const request = newRequest(state, { tierName, tier: recordedTierOf(state, policy) }, context.now);
  const triggers = [...new Set([...state.triggers, 'drift' as const])];
  const what = `reauth's right-size deny (${state.rightSize?.policyArn}) was detached from ${state.principal}`;
  const next = {
    ...closed(state),
    status: 'pending' as const,
    triggers,
    ...request,
    why: `${what}, outside reauth`,
  };
  delete next.rightSize;
  return {
    state: next,
    decision: decisionOf(state, context, {
      action: 'drift',
      reason: `${what} outside reauth: not narrowed again; a new request is open until ${day(request.deadlineAt)}`,
      evidence: { rightSizeRemoved: state.rightSize ?? null, seenBy: 'recheck', triggers },
    }),
  };
}

/** An owner's *Rotate* on an access key: the replacement exists; this key is deactivated after the grace period. */
export function planRotation(
  state: CredentialState,
  result: { newKeyId?: string; storedIn?: string; versionId?: string },
  context: AnswerContext,
): Transition {
  const tier = recordedTierOf(state, context.policy);
  const deactivateAfter = new Date(context.now.getTime() + tier.graceDays * DAY_MS).toISOString();
  const rotation =
    result.newKeyId && result.storedIn
      ? { newKeyId: result.newKeyId, storedIn: result.storedIn, deactivateAfter }
      : undefined;
  return answer(
    state,
    {
      ...vouched(state),
      status: 'active',
      reviewDueAt: new Date(context.now.getTime() + tier.reauthorizeForDays * DAY_MS).toISOString(),
      ...(rotation && { rotation }),
    },
    context,
    {
      action: 'rotate',
      reason: rotation
        ? `rotated by ${context.slackUserId}: new key ${rotation.newKeyId} stored in ${rotation.storedIn}; this key is deactivated on ${day(deactivateAfter)}`
        : `rotated by ${context.slackUserId}`,
      evidence: { ...result, ...usageVouchedFor(state) },
    },
  );
}

/** How a credential recorded as disabled was found usable again, outside reauth. */
export interface Drift {
  /** What was found, in words. */
  what: string;
  /** Who did it (CloudTrail's caller ARN), or null when only its effect was seen (the enforce job's re-check). */
  by: string | null;
  /** `recheck` (the enforce job) or the CloudTrail event id. */
  seenBy: string;
}

/**
 * Someone turned a credential reauth disabled back on outside reauth. reauth does not silently disable
 * it again: the change is recorded, a new request opens (the owner is asked again), and the fallback
 * owner is told by the next escalation (the `drift` trigger without `escalatedAt`).
 */
export function planDrift(
  state: CredentialState,
  drift: Drift,
  policy: PolicyConfig,
  context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string },
): Transition {
  const tierName = state.tier ?? policy.defaultTier;
  const request = newRequest(state, { tierName, tier: recordedTierOf(state, policy) }, context.now);
  const triggers = [...new Set([...state.triggers, 'drift' as const])];
  const by = drift.by ?? 'someone outside reauth (seen by its re-check)';
  return {
    state: { ...closed(state), status: 'pending', triggers, ...request, why: `${drift.what}, by ${by}` },
    decision: decisionOf(state, context, {
      action: 'drift',
      reason: `${drift.what}, by ${by}, while recorded as disabled: not disabled again; a new request is open until ${day(request.deadlineAt)}`,
      evidence: {
        by: drift.by,
        seenBy: drift.seenBy,
        disabledAt: state.disabledAt ?? null,
        receipt: state.disableReceipt ?? null,
        triggers,
      },
    }),
  };
}

/** A drift not yet told to the fallback owner (the next escalation tells them). */
export function isUntoldDrift(state: CredentialState): boolean {
  return state.status === 'pending' && state.triggers.includes('drift') && state.escalatedAt === undefined;
}

/** A system step that changes nothing but the bookkeeping of the request (remind, escalate, notify). */
export function planRequestStep(
  state: CredentialState,
  change: Partial<StateInput>,
  decision: { action: DecisionAction; reason: string; evidence: Record<string, unknown> },
  context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string },
): Transition {
  return { state: { ...stateInputOf(state), ...change }, decision: decisionOf(state, context, decision) };
}

/** The deadline passed but the re-check shows use after the request opened: no disable, and why. */
export function planInUseAtDeadline(
  state: CredentialState,
  lastUsedAt: Date,
  policy: PolicyConfig,
  context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string },
): Transition {
  const usedAt = lastUsedAt.toISOString();
  // Use answers `idle` only: an unowned or unrotated credential still needs a person's word.
  if (state.triggers.every((t) => t === 'idle')) {
    return {
      state: { ...closed(state), status: 'active' },
      decision: decisionOf(state, context, {
        action: 'reauthorize',
        reason: `disable cancelled: used on ${usedAt} after the request opened, so it is not idle`,
        evidence: { lastUsedAt: usedAt, requestedAt: state.requestedAt ?? null },
      }),
    };
  }
  return escalatedWithNewDeadline(
    state,
    `disable cancelled: used on ${usedAt} after the request opened, but ${state.triggers.join(', ')} still needs an owner's word`,
    { lastUsedAt: usedAt, triggers: state.triggers },
    policy,
    context,
  );
}

/**
 * The deadline passed and nothing was disabled: the request escalated, saying why, with a fresh
 * deadline (the tier's grace days), so the next run does not re-check and give up again every hour.
 */
function escalatedWithNewDeadline(
  state: CredentialState,
  why: string,
  evidence: Record<string, unknown>,
  policy: PolicyConfig,
  context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string },
): Transition {
  const tier = recordedTierOf(state, policy);
  return planRequestStep(
    state,
    {
      escalatedAt: context.now.toISOString(),
      deadlineAt: new Date(context.now.getTime() + tier.graceDays * DAY_MS).toISOString(),
    },
    { action: 'escalate', reason: `${why}; escalated, new deadline in ${tier.graceDays} days`, evidence },
    context,
  );
}

/**
 * The deadline passed and reauth could not disable the credential without a grant it will not hold (a
 * role at IAM's quota of attached policies that has a boundary of its own): nothing changed in IAM.
 * The request is escalated, saying why, with a fresh deadline.
 */
export function planRefusedDisable(
  state: CredentialState,
  why: string,
  policy: PolicyConfig,
  context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string },
): Transition {
  return escalatedWithNewDeadline(state, `not disabled: ${why}`, { refused: why }, policy, context);
}

function answer(
  state: CredentialState,
  next: StateInput,
  context: AnswerContext,
  decision: Pick<DecisionInput, 'action' | 'reason' | 'evidence'>,
): Transition {
  const actor = `slack:${context.slackUserId}`;
  const evidence = { ...decision.evidence, ...namedBy(context.slackUser) };
  return {
    state: decision.action === 'refuse' ? next : { ...next, decidedBy: actor },
    decision: decisionOf(state, { ...context, mode: context.policy.mode, actor }, { ...decision, evidence }),
  };
}

/** The answering Slack user's name and email, as evidence; nothing when Slack did not say. */
function namedBy(slackUser: AnswerContext['slackUser']): Record<string, string> {
  const { name, email } = slackUser ?? {};
  return { ...(name && { actorName: name }), ...(email && { actorEmail: email }) };
}

function decisionOf(
  state: CredentialState,
  context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string },
  decision: Pick<DecisionInput, 'action' | 'reason' | 'evidence'>,
): DecisionInput {
  return {
    credentialId: state.credentialId,
    accountId: state.accountId,
    kind: state.kind,
    principal: state.principal,
    owner: state.owner,
    at: context.now.toISOString(),
    actor: context.actor,
    mode: context.mode,
    policyId: context.policyId,
    ...decision,
  };
}

/** The state once its request is answered: the request's bookkeeping goes, the message stays to be updated. */
function closed(state: CredentialState): StateInput {
  const rest = stateInputOf(state);
  for (const key of Object.keys(openRequestOf(state)) as (keyof typeof rest)[]) {
    if (key !== 'message' && key !== 'ownerSlackId' && key !== 'tier') delete rest[key];
  }
  delete rest.disabledAt;
  delete rest.disableReceipt;
  delete rest.rotation;
  return { ...rest, triggers: [] };
}

/**
 * Closed by the owner's word (*Still needed*, *Rotate*): the uses the request asked about join the
 * known set, so the same use is not asked about again.
 */
function vouched(state: CredentialState): StateInput {
  const usage = vouchForUsage(state.usage);
  return { ...closed(state), ...(usage && { usage }) };
}

/** The uses an answer vouches for, as evidence: what the owner said yes to, and the access it was shown. */
function usageVouchedFor(state: CredentialState): Record<string, unknown> {
  const asked = state.usage?.asked;
  return {
    ...(asked && { usageVouchedFor: { services: asked.services, regions: asked.regions } }),
    ...(state.serviceUsage && { serviceUsage: state.serviceUsage }),
  };
}

function withinRestoreWindow(state: CredentialState, context: AnswerContext): boolean {
  const disabledAt = Date.parse(state.disabledAt ?? '');
  return (
    Number.isFinite(disabledAt) &&
    context.now.getTime() - disabledAt <= context.policy.enforcement.restoreWindowDays * DAY_MS
  );
}

function describeClosed(state: CredentialState, action: OwnerAction): string {
  const since = day(state.updatedAt);
  const by = state.decidedBy ? ` by ${mention(state.decidedBy)}` : '';
  switch (state.status) {
    case 'active':
      return `This request is already answered${by}: ${credentialName(state)} is active${state.reviewDueAt ? ` and vouched for until ${day(state.reviewDueAt)}` : ''} (since ${since}).`;
    case 'disabled':
      return action === 'restore'
        ? `This is not the latest disable of ${credentialName(state)}; use the newest message.`
        : `Too late: ${credentialName(state)} was disabled${by} on ${day(state.disabledAt)}. Use *Restore* on that message to bring it back.`;
    case 'pending':
      return action === 'restore'
        ? `${credentialName(state)} is not disabled: it is waiting for its owner's answer.`
        : `This message is out of date: a newer request for ${credentialName(state)} is open (answer that one).`;
    default:
      return `${credentialName(state)} is ${state.status}; there is nothing to answer.`;
  }
}

function ownerMention(state: CredentialState): string {
  const id = state.ownerSlackId ?? state.owner;
  return /^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : id;
}

function mention(actor: string): string {
  return actor.startsWith('slack:') ? `<@${actor.slice('slack:'.length)}>` : actor;
}

function day(iso: string | undefined): string {
  return iso ? iso.slice(0, 10) : 'an unknown date';
}
