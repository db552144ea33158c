import type { ActionJob } from '../adapters/action-queue';
import type { DecisionStore } from '../adapters/decision-store';
import { type Enforcer } from '../adapters/enforcement';
import type { SlackClient } from '../adapters/slack-client';
import type { CredentialState } from '../domain/decision';
import { credentialName } from '../domain/identification';
import { type PolicyConfig, recordedTierOf } from '../domain/policy';
import {
  type AnswerContext,
  planRightSize,
  planRightSizeDrift,
  planRightSizeFollow,
  planWiden,
} from '../domain/reauthorization';
import {
  fittedKept,
  keptActions,
  principalLeaseOf,
  principalRefusal,
  RIGHT_SIZE_KINDS,
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
import {
  answerClaim,
  CLAIM_LEASE_MS,
  type ClaimedOutcome,
  changeUnderClaim,
  refusedOr,
  targetOf,
} from './claimed-change';
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
    return underPrincipalLease(deps, state, holder, context.now, () =>
      changeUnderClaim(deps, {
        ...claim,
        action: 'widen',
        act: () => deps.enforcer.rightSizeAs(claim.target, null),
        confirm: (current) => (stillOpen(current) ? planWiden(current, context) : undefined),
      }),
    );
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

  const outcome = await underPrincipalLease(deps, state, holder, context.now, async () => {
    const narrowed = await changeUnderClaim(deps, {
      ...claim,
      action: 'right-size',
      act: () => refusedOr(deps.enforcer.rightSize(claim.target, { principalArn: usage.principalArn, kept })),
      confirm: (current, receipt) =>
        stillOpen(current) && !('refused' in receipt)
          ? planRightSize(current, { usage, kept, receipt }, context)
          : undefined,
    });
    // Someone else's answer came first: IAM is put back to the right-size the record holds (the
    // principal's, which its other credentials' records follow), undoing only this attempt's deny.
    if ('superseded' in narrowed || 'lostClaim' in narrowed) {
      const current = await deps.store.getState(job.credentialId);
      await deps.enforcer.rightSizeAs(claim.target, current?.rightSize?.policyArn ?? null);
    }
    return narrowed;
  });
  if ('result' in outcome && 'refused' in outcome.result) {
    await tell(
      deps.slack,
      job.responseUrl,
      `${credentialName(state)} was not narrowed: ${outcome.result.refused}`,
    );
    return { summary: `not narrowed: ${outcome.result.refused}`, answered: false };
  }
  return outcome;
}

/**
 * A principal holds one right-size deny of reauth's, whichever of its credentials was answered (a
 * user's two keys and password): so a right-size or a widen holds the principal's lease, one at a
 * time per user or role, and once recorded the principal's other credentials' records follow it
 * (`followPrincipal`). Busy: another answer on the same principal is under way, and SQS delivers
 * this job again.
 */
async function underPrincipalLease<T>(
  deps: Pick<RightSizeDependencies, 'store' | 'leaseMs' | 'policyId' | 'policy'>,
  state: CredentialState,
  holder: string,
  now: Date,
  change: () => Promise<ClaimedOutcome<T>>,
): Promise<ClaimedOutcome<T>> {
  const name = principalLeaseOf(state);
  const until = new Date(now.getTime() + (deps.leaseMs ?? CLAIM_LEASE_MS));
  if (!(await deps.store.lease(name, holder, until, now)))
    return {
      busy: {
        holder: `another answer on ${state.principal}`,
        action: 'right-size',
        until: until.toISOString(),
      },
    };
  try {
    const outcome = await change();
    if ('recorded' in outcome) {
      const current = await deps.store.getState(state.credentialId);
      if (current)
        await followPrincipal(deps.store, current, {
          now,
          policyId: deps.policyId,
          mode: deps.policy.mode,
          actor: outcome.recorded.actor,
        });
    }
    return outcome;
  } finally {
    await deps.store.unlease(name, holder);
  }
}

/** The credentials that share `state`'s user or role and may hold its right-size (not `state` itself). */
function isSibling(state: CredentialState, other: CredentialState): boolean {
  return (
    other.credentialId !== state.credentialId &&
    other.accountId === state.accountId &&
    other.principal === state.principal &&
    (other.kind === 'role') === (state.kind === 'role') &&
    RIGHT_SIZE_KINDS.includes(other.kind)
  );
}

/**
 * The records of the principal's other credentials made to say what `by`'s says of the principal's
 * right-size (IAM holds one deny per principal): each a conditional write, recorded as following `by`.
 * A role has no other credential; a user's keys and password are found by one filtered Query.
 */
export async function followPrincipal(
  store: DecisionStore,
  by: CredentialState,
  context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string },
): Promise<string[]> {
  if (by.kind === 'role' || !RIGHT_SIZE_KINDS.includes(by.kind)) return [];
  const followed: string[] = [];
  for (const sibling of await store.principalStates(by.accountId, by.principal)) {
    if (!isSibling(by, sibling)) continue;
    const written = await store.transition(sibling.credentialId, (current) =>
      current ? planRightSizeFollow(current, by, context) : undefined,
    );
    if (written) followed.push(sibling.credentialId);
  }
  return followed;
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

/**
 * Drift: the states whose right-size the record holds, re-checked against IAM (one list of the
 * principal's attached policies under `/reauth/right-size/`, once per user or role). One whose deny is
 * gone was widened outside reauth: recorded as drift and asked again, never narrowed again silently,
 * unless another credential of the same user holds the deny attached now (it was narrowed again
 * through that one, and a crash cut the follow short): then it follows that one. A state under a
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
  const attachedTo = new Map<string, Promise<string[]>>();
  for (const state of states) {
    const recorded = state.rightSize;
    if (!recorded || state.claim || state.status === 'deleted') continue;
    const principal = principalLeaseOf(state);
    if (!attachedTo.has(principal)) attachedTo.set(principal, deps.enforcer.rightSizedBy(targetOf(state)));
    const attached = (await attachedTo.get(principal)) ?? [];
    if (attached.includes(recorded.policyArn)) continue;
    const unchanged = (current: CredentialState | undefined): current is CredentialState =>
      current !== undefined &&
      !current.claim &&
      current.seq === state.seq &&
      current.rightSize?.policyArn === recorded.policyArn;
    const by = states.find(
      (other) => isSibling(state, other) && other.rightSize && attached.includes(other.rightSize.policyArn),
    );
    if (by) {
      await deps.store.transition(state.credentialId, (current) =>
        unchanged(current) ? planRightSizeFollow(current, by, options.context) : undefined,
      );
      continue;
    }
    const written = await deps.store.transition(state.credentialId, (current) =>
      unchanged(current) ? planRightSizeDrift(current, options.policy, options.context) : undefined,
    );
    if (written) drifted.push(state.credentialId);
  }
  return drifted;
}
