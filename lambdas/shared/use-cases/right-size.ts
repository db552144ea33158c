import type { ActionJob } from '../adapters/action-queue';
import type { DecisionStore } from '../adapters/decision-store';
import { type Enforcer, RightSizeRefused } from '../adapters/enforcement';
import type { SlackClient } from '../adapters/slack-client';
import type { CredentialState } from '../domain/decision';
import { credentialName } from '../domain/identification';
import type { PolicyConfig } from '../domain/policy';
import { type AnswerContext, planRightSize, planRightSizeDrift, planWiden } from '../domain/reauthorization';
import {
  fittedKept,
  keptActions,
  type RightSizeReceipt,
  rightSizeLine,
  rightSizePolicy,
  rightSizeRefusal,
  rightSizeUsageOf,
  rightSizeUsageOfSummary,
} from '../domain/right-size';
import type { ServiceUsage } from '../domain/service-usage';
import { rightSizeSuggestionMessage } from '../slack/messages';
import { answerClaim, type ClaimedOutcome, changeUnderClaim, targetOf } from './claimed-change';
import { tell } from './slack-interactions';

/**
 * *Still needed, only what it uses* and *Widen* (issue #25), as the Slack worker runs them. A
 * right-size is a *Still needed* that also narrows: the credential is vouched for, and in enforce mode
 * reauth's right-size deny (see domain/right-size.ts for why a deny and not a boundary) is attached
 * to its user or role under the credential's claim (claim, act, confirm), so a disable or another
 * answer at the same moment never interleaves with it. In report mode the answer is recorded and the
 * change is suggested to the security channel; nothing in IAM changes.
 */
export interface RightSizeDependencies {
  store: DecisionStore;
  slack: SlackClient;
  enforcer: Enforcer;
  policy: PolicyConfig;
  policyId: string;
  leaseMs?: number;
  /**
   * What the credential's user or role used (IAM's service last-accessed data), read afresh: with
   * action-level data where IAM gives it. @default the state's `serviceUsage` summary, read for the
   * request (each used service kept whole); none: nothing is narrowed, and the owner is told why
   */
  serviceUsage?: (state: CredentialState) => Promise<ServiceUsage | undefined>;
}

type RightSizeJob = ActionJob & { action: 'right-size' | 'widen' };

/** What the job did, for the log, and whether the answered message is to be rebuilt. */
export interface RightSizeOutcome {
  summary: string;
  answered: boolean;
}

export async function runRightSize(
  deps: RightSizeDependencies,
  job: RightSizeJob,
  state: CredentialState,
  context: AnswerContext,
  holder: string,
): Promise<RightSizeOutcome | ClaimedOutcome<unknown>> {
  const answer = answerClaim(job, state, context, holder, deps.leaseMs);
  const { stillOpen } = answer;
  const claim = { ...answer.claim, changesUsability: () => false };

  if (job.action === 'widen') {
    return changeUnderClaim(deps, {
      ...claim,
      action: 'widen',
      act: () => deps.enforcer.widen(claim.target),
      confirm: (current) => (stillOpen(current) ? planWiden(current, context) : undefined),
    });
  }

  // A fresher read when one is given, else what was read for the request the owner answered.
  const fresh = await deps.serviceUsage?.(state);
  const usage = fresh ? rightSizeUsageOf(fresh) : rightSizeUsageOfSummary(state.serviceUsage);
  const why = rightSizeRefusal(state, usage, {
    now: context.now,
    protectedPrincipals: deps.policy.protectedPrincipals,
  });
  if (why || !usage) {
    await tell(
      deps.slack,
      job.responseUrl,
      `${credentialName(state)} was not narrowed: ${why}. The request stays open: answer *Still needed* or *Disable*.`,
    );
    return { summary: `not narrowed: ${why}`, answered: false };
  }
  const kept = fittedKept(keptActions(usage, context.now));

  if (deps.policy.mode === 'report') {
    const written = await deps.store.transition(job.credentialId, (current) =>
      stillOpen(current) ? planRightSize(current, { usage, kept }, context) : undefined,
    );
    if (!written) {
      await tell(
        deps.slack,
        job.responseUrl,
        'Someone answered this request first; nothing else was changed.',
      );
      return { summary: 'superseded', answered: false };
    }
    await deps.slack.postMessage(
      deps.policy.fallbackOwner,
      rightSizeSuggestionMessage({
        item: state,
        ownerUserId: job.slackUserId,
        principalArn: usage.principalArn,
        usage: rightSizeLine(usage),
        document: rightSizePolicy(kept),
      }),
    );
    return { summary: `right-size suggested (seq ${written.seq})`, answered: true };
  }

  const outcome = await changeUnderClaim(deps, {
    ...claim,
    action: 'right-size',
    act: () => refusedOr(deps.enforcer.rightSize(claim.target, { principalArn: usage.principalArn, kept })),
    confirm: (current, receipt) =>
      stillOpen(current) && !('refused' in receipt)
        ? planRightSize(current, { usage, kept, receipt }, context)
        : undefined,
  });
  if ('result' in outcome && 'refused' in outcome.result) {
    await tell(
      deps.slack,
      job.responseUrl,
      `${credentialName(state)} was not narrowed: ${outcome.result.refused}`,
    );
    return { summary: `not narrowed: ${outcome.result.refused}`, answered: false };
  }
  // Someone else's answer came first: the deny this attempt attached is taken off again, unless the
  // record holds a right-size of its own (then IAM already says what it says).
  if (
    ('superseded' in outcome || 'lostClaim' in outcome) &&
    !(await deps.store.getState(job.credentialId))?.rightSize
  )
    await deps.enforcer.widen(claim.target);
  return outcome;
}

async function refusedOr(change: Promise<RightSizeReceipt>): Promise<RightSizeReceipt | { refused: string }> {
  try {
    return await change;
  } catch (error) {
    if (error instanceof RightSizeRefused) return { refused: error.message };
    throw error;
  }
}

/**
 * Drift: the states whose right-size the record holds, re-checked against IAM (one list of the
 * principal's attached policies under `/reauth/right-size/` each). One whose deny is gone was widened
 * outside reauth: recorded as drift and asked again, never narrowed again silently. A state under a
 * claim is skipped (a *Widen* may be under way); the write is conditional on the state checked.
 */
export async function recordRightSizeDrift(
  deps: { store: DecisionStore; enforcer: Enforcer },
  states: readonly CredentialState[],
  options: {
    policy: PolicyConfig;
    context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string };
  },
): Promise<string[]> {
  const drifted: string[] = [];
  for (const state of states) {
    const recorded = state.rightSize;
    if (!recorded || state.claim || state.status === 'deleted') continue;
    const attached = await deps.enforcer.rightSizedBy(targetOf(state));
    if (attached.includes(recorded.policyArn)) continue;
    const written = await deps.store.transition(state.credentialId, (current) =>
      current &&
      !current.claim &&
      current.seq === state.seq &&
      current.rightSize?.policyArn === recorded.policyArn
        ? planRightSizeDrift(current, options.policy, options.context)
        : undefined,
    );
    if (written) drifted.push(state.credentialId);
  }
  return drifted;
}
