import type { ActionJob } from '../adapters/action-queue';
import type { DecisionStore } from '../adapters/decision-store';
import { type Enforcer, RightSizeRefused } from '../adapters/enforcement';
import type { SlackClient } from '../adapters/slack-client';
import type { CredentialState } from '../domain/decision';
import { credentialName } from '../domain/identification';
import { type PolicyConfig, recordedTierOf } from '../domain/policy';
import { type AnswerContext, planRightSize, planRightSizeDrift, planWiden } from '../domain/reauthorization';
import {
  fittedKept,
  keptActions,
  principalRefusal,
  type RightSizeReceipt,
  type RightSizeUsage,
  rightSizeLine,
  rightSizePolicy,
  rightSizeRefusal,
  rightSizeUsageOf,
  rightSizeUsageOfSummary,
} from '../domain/right-size';
import { SERVICE_USAGE_MAX_WAIT_MS } from '../domain/service-usage';
import { usageWindowDaysOf } from '../domain/usage-summary';
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
  /**
   * The time the invocation has left (the claim's lease): a click's wait for IAM's usage job ends in
   * time for the change. @default the claim's default lease, and a wait of SERVICE_USAGE_MAX_WAIT_MS
   */
  leaseMs?: number;
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

  const read = await usageToNarrowFrom(deps, state, context.now);
  const usage = 'usage' in read ? read.usage : undefined;
  const why =
    'unavailable' in read
      ? read.unavailable
      : rightSizeRefusal(state, usage, {
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
        // The request's data, not a read now: whoever applies it sees how old it is.
        usage: `${rightSizeLine(usage)}; read ${usage.readAt.slice(0, 10)}`,
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

/** What a click leaves the worker for the change itself after waiting for IAM's job. */
const CHANGE_RESERVE_MS = 20_000;

/**
 * What the principal is narrowed from. Enforce mode: read at the click, through the enforcer that will
 * narrow it (its account's IAM), over its tier's `usageWindowDays`, with the actions IAM tracks; never
 * the request's summary, which may be weeks old and miss a service first used since (narrowing from
 * it could cut what was used in the last 7 days), and is absent or capped for some principals. One
 * Get{User,Role}, one job, its reads. Report mode: the request's summary, each used service whole:
 * nothing changes in IAM, the suggestion names when the data was read, and a report-mode account
 * gives reauth no role to read it through. A principal refused on what the request knows is not read.
 */
async function usageToNarrowFrom(
  deps: RightSizeDependencies,
  state: CredentialState,
  now: Date,
): Promise<{ usage: RightSizeUsage | undefined } | { unavailable: string }> {
  if (deps.policy.mode === 'report') return { usage: rightSizeUsageOfSummary(state.serviceUsage) };
  if (principalRefusal(state, deps.policy)) return { usage: undefined };
  const read = await deps.enforcer.serviceUsage(targetOf(state), {
    windowDays: usageWindowDaysOf(recordedTierOf(state, deps.policy)),
    now,
    maxWaitMs: Math.max(
      0,
      Math.min(SERVICE_USAGE_MAX_WAIT_MS, (deps.leaseMs ?? Number.POSITIVE_INFINITY) - CHANGE_RESERVE_MS),
    ),
  });
  if ('unavailable' in read)
    return { unavailable: `reauth could not read what it uses now: ${read.unavailable}` };
  return { usage: rightSizeUsageOf(read) };
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
