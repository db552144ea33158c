import { randomUUID } from 'node:crypto';
import type { ActionJob } from '../adapters/action-queue';
import type { DecisionStore } from '../adapters/decision-store';
import type { Enforcer } from '../adapters/enforcement';
import type { SlackClient } from '../adapters/slack-client';
import { mapWithConcurrency } from '../concurrency';
import { parseCredentialId } from '../domain/credential';
import type { CredentialState } from '../domain/decision';
import { credentialName } from '../domain/identification';
import type { PolicyConfig } from '../domain/policy';
import { checkAnswer, mayDecide, planDisable, planRestore, planRotation } from '../domain/reauthorization';
import { approvalRequestMessage, MAX_ITEMS_PER_MESSAGE, openRequestsMessage } from '../slack/messages';
import { type AnswerPolicySource, answerPolicyFor, modesOf } from './account-policy';
import {
  answerClaim,
  type ClaimedOutcome,
  changeUnderClaim,
  isAbandoned,
  refusedOr,
  repairAbandonedClaim,
  sessionsEndingAt,
} from './claimed-change';
import { notifyNewRequests, outcomeMessage, requestItemOf, requestMessageOf } from './notify-owners';
import { runRightSize } from './right-size';
import { type AnswerOutcome, recordAnswer, refuseUncovered } from './slack-answers';
import { answerContext, named, tell } from './slack-interactions';

export interface WorkerDependencies extends AnswerPolicySource {
  store: DecisionStore;
  slack: SlackClient;
  enforcer: Enforcer;
  now: () => Date;
  /** How long a claim outlives this invocation if it stops: the time its Lambda has left. @default CLAIM_LEASE_MS */
  leaseMs?: number;
  /**
   * Org mode: the enforcer of a credential's account, under the policy `answerPolicyFor` found for it
   * (see `memberEnforcers`).
   * @default none: every credential is changed by `enforcer`
   */
  enforcerIn?: (accountId: string, policy: PolicyConfig, now: Date) => Enforcer;
}

/** What a job did, for the log; `recorded` names the change when one was made and recorded. */
export interface ActionJobOutcome {
  summary: string;
  recorded?: 'rotate' | 'disable' | 'restore' | 'right-size' | 'widen';
}

/**
 * Another attempt holds the credential's claim, or took it from this one while it ran past its lease:
 * the job is to be delivered again later.
 */
export class ClaimBusyError extends Error {
  override readonly name = 'ClaimBusyError';
}

/**
 * Does what a click asked for (the IAM or Secrets Manager change) under the credential's claim,
 * records it, and updates the message. Safe to run twice, and two at once: each attempt claims as
 * itself; one that finds the claim taken, or loses it while it acts, throws `ClaimBusyError` (SQS
 * delivers it again), one that finds the request answered changes nothing.
 */
export async function runActionJob(
  deps: WorkerDependencies,
  job: ActionJob,
  holder: string = `job:${randomUUID()}`,
): Promise<ActionJobOutcome> {
  if (job.action === 'refresh-message') {
    await refreshAfterAnswer(deps, job);
    return { summary: 'message refreshed' };
  }
  if (job.action === 'list-requests') {
    const listed = await listRequests(deps, job);
    // The user may list again now; if this job fails instead, the lease lapses (LIST_LEASE_MS).
    if (job.lease) await deps.store.unlease(job.lease.name, job.lease.holder);
    return { summary: `listed ${listed} open requests` };
  }
  if (
    job.action === 'still-needed' ||
    job.action === 'still-needed-all' ||
    job.action === 'approve' ||
    job.action === 'assign-owner' ||
    job.action === 'refusal'
  ) {
    // Each judged under its credential's own account's policy, looked up where it is recorded.
    return followUp(deps, await recordAnswer(deps, job), holder);
  }
  const now = deps.now();
  const answering = await answerPolicyFor(deps, job.credentialId, now);
  if ('refusal' in answering) {
    if (job.action === 'request-approval') return { summary: `refused: ${answering.refusal.reply}` };
    const { credentialId, requestSeq, slackUserId } = job;
    const attempt = { attempted: job.action, credentialId, requestSeq, slackUserId };
    return { summary: (await refuseUncovered(deps, answering, attempt, job.responseUrl)).summary };
  }
  const accountId = parseCredentialId(job.credentialId).accountId;
  const enforcer = deps.enforcerIn?.(accountId, answering.policy, now) ?? deps.enforcer;
  return runInAccount({ ...deps, ...answering, enforcer }, job, holder);
}

/**
 * Runs the jobs that follow a recorded answer (the message refreshed, approvers asked) in this one: a
 * failure fails the job, for SQS to deliver again and the alarm to show.
 */
async function followUp(
  deps: WorkerDependencies,
  answered: AnswerOutcome,
  holder: string,
): Promise<ActionJobOutcome> {
  for (const next of answered.next) await runActionJob(deps, next, holder);
  return { summary: answered.summary };
}

async function runInAccount(
  deps: WorkerDependencies,
  job: ActionJob & { action: 'rotate' | 'disable' | 'restore' | 'right-size' | 'widen' | 'request-approval' },
  holder: string,
): Promise<ActionJobOutcome> {
  if (job.action === 'request-approval') return { summary: await requestApproval(deps, job.credentialId) };
  const context = await named(deps.slack, answerContext(deps, job.slackUserId));
  let state = await deps.store.getState(job.credentialId);
  if (isAbandoned(state, context.now)) {
    // An earlier attempt stopped mid-change: IAM made to match the record before anything else.
    await repairAbandonedClaim(deps, job.credentialId, { holder, now: context.now });
    state = await deps.store.getState(job.credentialId);
  }
  const refusal = checkAnswer(state, job.action, job.requestSeq, context);
  if (refusal || !state) {
    await tell(deps.slack, job.responseUrl, refusal?.reply ?? 'Nothing to do.');
    return { summary: `refused: ${refusal?.why ?? 'no state'}` };
  }
  const { stillOpen, claim } = answerClaim(job, state, context, holder, deps.leaseMs);
  const owner = `slack:${job.slackUserId}`;

  let outcome: ClaimedOutcome<unknown>;
  switch (job.action) {
    case 'disable': {
      const disabled = await changeUnderClaim(deps, {
        ...claim,
        action: 'disable',
        act: () =>
          refusedOr(
            deps.enforcer.disable(claim.target, sessionsEndingAt(deps.policy, 'disable', context.now)),
          ),
        confirm: (current, receipt) =>
          stillOpen(current) && !('refused' in receipt)
            ? planDisable(current, receipt, {
                now: context.now,
                policyId: deps.policyId,
                mode: deps.policy.mode,
                actor: owner,
                reason: `disabled now at the request of ${job.slackUserId}`,
                slackUser: context.slackUser,
              })
            : undefined,
        changesUsability: (receipt) => !('refused' in receipt),
      });
      if ('result' in disabled && 'refused' in disabled.result) {
        await tell(
          deps.slack,
          job.responseUrl,
          `${credentialName(state)} was not disabled: ${disabled.result.refused}`,
        );
        return { summary: `not disabled: ${disabled.result.refused}` };
      }
      outcome = disabled;
      break;
    }
    case 'restore': {
      // A password comes back as a new one (IAM keeps no deleted password), stored for the owner.
      const restored = await changeUnderClaim(deps, {
        ...claim,
        action: 'restore',
        act: () =>
          deps.enforcer.restore(claim.target, { passwordFor: { owner: state.owner, now: context.now } }),
        confirm: (current, result) =>
          stillOpen(current) && !result.refused
            ? planRestore(current, context, result.passwordStoredIn)
            : undefined,
        changesUsability: (result) => !result.refused,
      });
      if ('result' in restored && restored.result.refused) {
        await tell(
          deps.slack,
          job.responseUrl,
          `${credentialName(state)} was not restored: ${restored.result.refused}`,
        );
        return { summary: `not restored: ${restored.result.refused}` };
      }
      if ('recorded' in restored) {
        const { passwordStoredIn } = restored.result;
        if (passwordStoredIn)
          await tell(deps.slack, job.responseUrl, passwordDelivery(state, passwordStoredIn));
        const current = await deps.store.getState(job.credentialId);
        if (current) await notifyNewRequests(deps, [current], { ...deps, now: context.now, job: 'slack' });
      }
      outcome = restored;
      break;
    }
    case 'right-size':
    case 'widen': {
      const done = await runRightSize(deps, { ...job, action: job.action }, state, context, holder);
      if (!('answered' in done)) {
        outcome = done;
        break;
      }
      if (done.answered) await refreshAfterAnswer(deps, job);
      return { summary: done.summary, ...(done.answered && { recorded: job.action }) };
    }
    case 'rotate': {
      const rotation = await changeUnderClaim(deps, {
        ...claim,
        action: 'rotate',
        act: () => deps.enforcer.rotate(claim.target, { owner: state.owner, now: context.now }),
        confirm: (current, result) =>
          stillOpen(current) && result.rotated
            ? planRotation(
                current,
                result.kind === 'access-key'
                  ? { newKeyId: result.newKeyId, storedIn: result.storedIn }
                  : { ...(result.kind === 'secret' && result.versionId && { versionId: result.versionId }) },
                context,
              )
            : undefined,
        changesUsability: () => false,
      });
      if ('result' in rotation && !rotation.result.rotated) {
        await tell(
          deps.slack,
          job.responseUrl,
          `${credentialName(state)} was not rotated: ${rotation.result.why}`,
        );
        return { summary: `not rotated: ${rotation.result.why}` };
      }
      outcome = rotation;
      break;
    }
  }
  if ('busy' in outcome) {
    // Another attempt is changing it now: SQS delivers this job again later, when that one is done
    // (or, if it stopped, once its claim has expired: this job then repairs it first).
    throw new ClaimBusyError(
      `${job.credentialId}: a ${outcome.busy.action} by another job holds it until ${outcome.busy.until}; retried later`,
    );
  }
  if ('lostClaim' in outcome) {
    // This attempt ran past its lease and another job took the claim: what it did in IAM is undone and
    // nothing recorded, so the owner's answer still stands: SQS delivers it again, to be done anew.
    throw new ClaimBusyError(
      `${job.credentialId}: this ${job.action} outlived its claim, which another job took; retried later`,
    );
  }
  if (!('recorded' in outcome)) {
    await tell(deps.slack, job.responseUrl, 'Someone answered this request first; nothing else was changed.');
    return { summary: 'superseded' };
  }
  await refreshAfterAnswer(deps, job);
  return { summary: `${job.action} recorded (seq ${outcome.recorded.seq})`, recorded: job.action };
}

/**
 * Where a restored console password is and how to read it: the secret's ARN and the command, never
 * the password. It is read as a rotated key's secret is: by whoever the account lets read
 * `reauth/rotated/` (the secret carries no resource policy of its own yet).
 */
export function passwordDelivery(
  state: Pick<CredentialState, 'principal' | 'accountId'>,
  storedIn: string,
): string {
  return [
    `The console password of IAM user ${state.principal} in account ${state.accountId} is restored as a new password, which must be changed at the first sign-in.`,
    `It is in the secret ${storedIn}: read it with \`aws secretsmanager get-secret-value --secret-id ${storedIn} --query SecretString --output text\`, then delete the secret.`,
  ].join('\n');
}

/** Asks each member of the tier's approvers group, in Slack, to confirm an owner's *Still needed*. */
async function requestApproval(deps: WorkerDependencies, credentialId: string): Promise<string> {
  const state = await deps.store.getState(credentialId);
  const proposal = state?.proposal;
  if (!state || state.status !== 'pending' || !proposal) return 'nothing to approve';
  const approvers = (deps.policy.tiers[state.tier ?? deps.policy.defaultTier]?.approvers ?? []).filter(
    (id) => `slack:${id}` !== proposal.by && id !== state.ownerSlackId,
  );
  const modeOf = await modesOf(deps, [state.accountId], deps.now());
  const message = approvalRequestMessage({
    item: requestItemOf(state, modeOf(state.accountId)),
    proposedBy: proposal.by.replace(/^slack:/, ''),
    reason: proposal.reason,
    days: proposal.days,
  });
  for (const approver of approvers) await deps.slack.postMessage(approver, message);
  return `asked ${approvers.length} approvers`;
}

/** Accounts `/reauth`'s list looks up at once. */
const ACCOUNT_LOOKUPS = 4;

type ClickedIn = Pick<
  ActionJob & { action: 'refresh-message' },
  'responseUrl' | 'channel' | 'ts' | 'listing' | 'recipient'
>;

/**
 * Once an answer is recorded: the message it was given in is rebuilt, and the credential's own request
 * message too when that is another one. An answer given in the `/reauth` list rebuilds the list (its
 * first page, listed again) instead.
 */
async function refreshAfterAnswer(
  deps: WorkerDependencies,
  job: ClickedIn & { credentialId: string; slackUserId?: string },
): Promise<void> {
  if (!job.listing) return refreshMessage(deps, job.credentialId, job);
  await refreshMessage(deps, job.credentialId);
  if (job.responseUrl && job.slackUserId) {
    await listRequests(deps, {
      slackUserId: job.slackUserId,
      responseUrl: job.responseUrl,
      page: 1,
      replace: true,
    });
  }
}

/**
 * Rebuilds a request message from the current states of the credentials it shows: the one the answer
 * was clicked in (through its response_url when there is one), and the credential's own request message
 * (`chat.update`) when that is another, e.g. after a reminder moved it. Only the credentials the message
 * was noted to show are read (at most MAX_ITEMS_PER_MESSAGE), so it costs the same for an owner of 2,000
 * as of 2, and stays within Slack's limits.
 */
export async function refreshMessage(
  deps: { store: DecisionStore; slack: SlackClient; now?: () => Date } & AnswerPolicySource,
  credentialId: string,
  clicked: ClickedIn = {},
): Promise<void> {
  const state = await deps.store.getState(credentialId);
  if (!state) return;
  const own = state.message;
  const where = clicked.channel && clicked.ts ? { channel: clicked.channel, ts: clicked.ts } : own;
  const rebuilt = async (
    at: { channel: string; ts: string },
    recipient: string = state.ownerSlackId ?? state.owner,
  ) => {
    const requests = await deps.store.messageRequests(at);
    const shown = requests
      ? [...(await deps.store.getStates(requests.map((r) => r.credentialId))).values()]
      : // A message posted before reauth noted what each shows: the credentials recorded in it.
        [...(await deps.store.loadStates(state.accountId)).values()].filter(
          (s) => s.message?.channel === at.channel && s.message.ts === at.ts,
        );
    if (shown.length === 0) return undefined;
    const modeOf = await modesOf(
      deps,
      shown.map((s) => s.accountId),
      deps.now?.() ?? new Date(),
    );
    const shownSeq = new Map(requests?.map((r) => [r.credentialId, r.requestSeq]));
    return requestMessageOf(recipient, shown, (s) => modeOf(s.accountId), shownSeq);
  };
  const message = (where && (await rebuilt(where, clicked.recipient))) ?? outcomeMessage(state);
  if (clicked.responseUrl)
    await deps.slack.respond(clicked.responseUrl, { replace_original: true, ...message });
  else if (where) await deps.slack.updateMessage(where.channel, where.ts, message);
  if (own && where && (own.channel !== where.channel || own.ts !== where.ts)) {
    const ownMessage = await rebuilt(own);
    if (ownMessage) await deps.slack.updateMessage(own.channel, own.ts, ownMessage);
  }
}

/**
 * `/reauth`: one page of the requests the caller may answer now, by the rule the buttons use
 * (`mayDecide` under the credential's own account's policy: the owner, or a delegate of theirs; none
 * of an account reauth does not cover), soonest deadline first, sent ephemerally to the command's (or
 * the list's) response_url. How many are waiting, for the log.
 */
async function listRequests(
  deps: WorkerDependencies,
  job: { slackUserId: string; responseUrl: string; page: number; replace: boolean },
): Promise<number> {
  const now = deps.now();
  const open = (await deps.store.openRequests()).filter((s) => s.requestSeq !== undefined && !s.proposal);
  // A few accounts looked up at once: each is looked up once and kept (the organization's API throttles).
  const answerable = await mapWithConcurrency(open, ACCOUNT_LOOKUPS, async (s) => {
    const answering = await answerPolicyFor(deps, s.credentialId, now);
    return !('refusal' in answering) && mayDecide(s, job.slackUserId, answering.policy);
  });
  const waiting = open
    .filter((_, index) => answerable[index])
    .sort(
      (a, b) =>
        (a.deadlineAt ?? '').localeCompare(b.deadlineAt ?? '') ||
        a.credentialId.localeCompare(b.credentialId),
    );
  const pages = Math.max(1, Math.ceil(waiting.length / MAX_ITEMS_PER_MESSAGE));
  const page = Math.min(job.page, pages);
  const shown = waiting.slice((page - 1) * MAX_ITEMS_PER_MESSAGE, page * MAX_ITEMS_PER_MESSAGE);
  const modeOf = await modesOf(
    deps,
    shown.map((s) => s.accountId),
    now,
  );
  const message = openRequestsMessage({
    userId: job.slackUserId,
    items: shown.map((s) => requestItemOf(s, modeOf(s.accountId))),
    page,
    pages,
    total: waiting.length,
  });
  await deps.slack.respond(job.responseUrl, {
    response_type: 'ephemeral',
    replace_original: job.replace,
    ...message,
  });
  return waiting.length;
}
