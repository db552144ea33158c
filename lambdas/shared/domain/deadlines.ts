import type { CredentialState } from './decision';
import { matchesPattern, REAUTH_OWN_PRINCIPALS } from './evaluate';
import type { PolicyConfig } from './policy';
import { isUntoldDrift } from './reauthorization';

/**
 * What the hourly enforce job owes each credential as time passes: reminders, the deadline's
 * escalation or disable, the deactivation of a key replaced by a rotation; and the rails that hold
 * destructive steps back. Pure: `now` is an argument.
 */

const DAY_MS = 86_400_000;

export type DeadlineStep =
  | { step: 'remind'; reminder: number }
  | { step: 'escalate'; why: string }
  | { step: 'disable' }
  | { step: 'deactivate-replaced' };

/**
 * What the hourly job owes one credential now: a reminder, an escalation, a disable at the deadline
 * (enforce mode), or deactivating a key replaced by a rotation. Undefined: nothing is due.
 */
export function planDeadline(
  state: CredentialState,
  policy: PolicyConfig,
  now: Date,
): DeadlineStep | undefined {
  if (
    state.status === 'active' &&
    state.rotation &&
    Date.parse(state.rotation.deactivateAfter) <= now.getTime()
  ) {
    return { step: 'deactivate-replaced' };
  }
  if (state.status !== 'pending' || !state.deadlineAt || !state.notifiedAt) return undefined;
  if (Date.parse(state.deadlineAt) <= now.getTime()) {
    if (policy.mode === 'enforce') return { step: 'disable' };
    // An escalation at notice time (an orphan) is not the deadline's: that one is still owed.
    return state.escalatedAt && state.escalatedAt >= state.deadlineAt
      ? undefined
      : {
          step: 'escalate',
          why: `no answer by the deadline ${state.deadlineAt.slice(0, 10)} (report mode: nothing disabled)`,
        };
  }
  const due = reminderTimes(state, policy).filter((t) => t <= now.getTime()).length;
  return due > (state.remindersSent ?? 0) ? { step: 'remind', reminder: due } : undefined;
}

/** When the owner is reminded: fractions of the grace period gone, and a day before the deadline. */
export function reminderTimes(state: CredentialState, policy: PolicyConfig): number[] {
  const from = Date.parse(state.requestedAt ?? state.notifiedAt ?? '');
  const to = Date.parse(state.deadlineAt ?? '');
  if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) return [];
  const times = policy.slack.reminderFractions.map((f) => from + f * (to - from));
  if (policy.slack.remindDayBefore && to - DAY_MS > from) times.push(to - DAY_MS);
  return [...new Set(times)].sort((a, b) => a - b);
}

export interface EnforcementPlan {
  /** Reminders due (which one is due is read again when it is sent: `planDeadline`). */
  reminders: CredentialState[];
  /** Deadlines passed in report mode: the fallback owner is told. */
  escalations: CredentialState[];
  /** Drift the fallback owner has not been told of yet. */
  drift: CredentialState[];
  /** What will be disabled or deactivated this run, past every rail. */
  actions: { state: CredentialState; step: 'disable' | 'deactivate-replaced' }[];
  /** Actions a rail held back, and which rail. */
  heldBack: {
    reason: 'protected' | 'stale-inventory' | 'budget-exceeded' | 'org-budget-exceeded';
    states: CredentialState[];
  }[];
  budget: { limit: number; planned: number; exceeded: boolean };
}

/**
 * What one run of the enforce job owes the account now, with the safety rails applied: protected
 * principals are never acted on; nothing is acted on when the inventory is older than the freshness
 * limit or when more is due than the action budget allows (count and fraction of the inventory).
 */
export function planEnforcement(
  states: Iterable<CredentialState>,
  policy: PolicyConfig,
  now: Date,
  inventory: { size: number; generatedAt: Date },
): EnforcementPlan {
  const plan: EnforcementPlan = {
    reminders: [],
    escalations: [],
    drift: [],
    actions: [],
    heldBack: [],
    budget: { limit: 0, planned: 0, exceeded: false },
  };
  const shielded: CredentialState[] = [];
  for (const state of states) {
    if (isUntoldDrift(state)) plan.drift.push(state);
    const step = planDeadline(state, policy, now);
    if (!step) continue;
    if (step.step === 'remind') plan.reminders.push(state);
    else if (step.step === 'escalate') plan.escalations.push(state);
    else if (policy.mode !== 'enforce') continue;
    else if (
      [...REAUTH_OWN_PRINCIPALS, ...policy.protectedPrincipals].some((pattern) =>
        matchesPattern(pattern, state.principal),
      )
    )
      shielded.push(state);
    else plan.actions.push({ state, step: step.step });
  }
  if (shielded.length > 0) plan.heldBack.push({ reason: 'protected', states: shielded });

  const limit = Math.min(
    policy.actionBudget.maxActions,
    Math.floor(policy.actionBudget.maxFraction * inventory.size),
  );
  plan.budget = { limit, planned: plan.actions.length, exceeded: plan.actions.length > limit };
  if (plan.actions.length === 0) return plan;
  const ageHours = (now.getTime() - inventory.generatedAt.getTime()) / 3_600_000;
  const held = !(ageHours <= policy.enforcement.freshnessMaxAgeHours)
    ? 'stale-inventory'
    : plan.budget.exceeded
      ? 'budget-exceeded'
      : undefined;
  if (held) {
    plan.heldBack.push({ reason: held, states: plan.actions.map((a) => a.state) });
    plan.actions = [];
  }
  return plan;
}
