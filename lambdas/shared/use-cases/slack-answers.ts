import type { ActionJob } from '../adapters/action-queue';
import type { DecisionStore } from '../adapters/decision-store';
import type { SlackClient } from '../adapters/slack-client';
import type { CredentialState } from '../domain/decision';
import { credentialName } from '../domain/identification';
import {
  type AnswerContext,
  checkAnswer,
  planApproval,
  planAssignment,
  planRefusal,
  planStillNeeded,
  type Refusal,
} from '../domain/reauthorization';
import { type AnswerPolicy, type AnswerPolicySource, answerPolicyFor } from './account-policy';
import { notifyNewRequests } from './notify-owners';
import { answerContext, named, openInMessage, tell } from './slack-interactions';

/**
 * The answers given in Slack that change only the record: *Still needed* (one, or all open in a
 * message), *Approve*, *Assign owner* (a security approver names an orphaned credential's owner), and an attempt refused because the user may not answer or the credential's
 * account is not one reauth covers.
 *
 * Why the worker records them and not the endpoint that received them: the endpoint is reachable from
 * the internet, and DynamoDB's IAM can tell items apart only by partition key (`dynamodb:LeadingKeys`),
 * not STATE from DECISION. A role that may write one answer may overwrite any credential's state and
 * rewrite its history. So the endpoint may write leases only, checks each answer against what it reads
 * (to answer Slack within 3 seconds, dialog errors included) and queues it; the worker judges it again
 * against the state it writes on, as the endpoint did before, and records it in the credential's
 * chain. Whoever held the endpoint's role could then ask what a Slack user can ask, and no more.
 *
 * Both judge an answer under its credential's own account's policy (`answerPolicyFor`): its tier's cap
 * and second approver, its delegates, and whether reauth covers the account at all.
 */
export type AnswerJob = Extract<
  ActionJob,
  { action: 'still-needed' | 'still-needed-all' | 'approve' | 'assign-owner' | 'refusal' }
>;

/** An attempt refused, as the endpoint queues it and the worker records it. */
export type RefusedAttempt = Omit<Extract<ActionJob, { action: 'refusal' }>, 'action'>;

export interface AnswerDependencies extends AnswerPolicySource {
  store: DecisionStore;
  slack: SlackClient;
  now: () => Date;
}

/** What recording an answer did, and the jobs that follow it (the message refreshed, approvers asked). */
export interface AnswerOutcome {
  summary: string;
  next: ActionJob[];
}

/**
 * Records an answer under the policy of its credential's account, looked up here (`answerPolicyFor`)
 * once per credential: for *Still needed: all*, once for each credential the message shows.
 */
export async function recordAnswer(deps: AnswerDependencies, job: AnswerJob): Promise<AnswerOutcome> {
  if (job.action === 'still-needed-all') return recordStillNeededAll(deps, job);
  const answering = await answerPolicyFor(deps, job.credentialId, deps.now());
  if (job.action === 'refusal') return recordRefusal(deps, answering, job);
  const { credentialId, requestSeq, slackUserId } = job;
  if ('refusal' in answering) {
    const attempt = { attempted: job.action, credentialId, requestSeq, slackUserId };
    return refuseUncovered(deps, answering, attempt, job.responseUrl);
  }
  const judged = { ...deps, ...answering };
  if (job.action === 'assign-owner') return recordAssignment(judged, job);
  return job.action === 'still-needed' ? recordStillNeeded(judged, job) : recordApproval(judged, job);
}

/**
 * *Assign owner*: recorded under the credential's state transition (so a copy of the selection, or a
 * redelivered job, finds the request moved on and records nothing), then the new owner is asked at
 * once. Should Slack fail them here, the request stays untold and the next scan or enforce run asks
 * them (its notify pass tells every untold request).
 */
async function recordAssignment(
  deps: AnswerDependencies & Pick<AnswerContext, 'policy' | 'policyId'>,
  job: AnswerJob & { action: 'assign-owner' },
): Promise<AnswerOutcome> {
  const context = await named(deps.slack, answerContext(deps, job.slackUserId));
  let refusal: Refusal | undefined;
  const written = await deps.store.transition(job.credentialId, (current) => {
    refusal = checkAnswer(current, 'assign-owner', job.requestSeq, context);
    if (!refusal) return planAssignment(current as CredentialState, job.assignee, context);
    return refusal.why === 'not-authorized' && current
      ? planRefusal(current, 'assign-owner', refusal, context)
      : undefined;
  });
  if (refusal || !written) {
    await tell(deps.slack, job.responseUrl, refusal?.reply ?? 'reauth has no record of this credential.');
    return { summary: `refused: ${refusal?.why ?? 'no state'}`, next: [] };
  }
  const assigned = await deps.store.getState(job.credentialId);
  const told = assigned
    ? await notifyNewRequests(deps, [assigned], {
        policy: deps.policy,
        policyId: deps.policyId,
        now: context.now,
        job: 'slack',
      })
    : undefined;
  await tell(
    deps.slack,
    job.responseUrl,
    `Assigned: <@${job.assignee}> owns ${credentialName(written)} now${told?.recorded ? ' and has been asked about it' : '; they are asked on the next run'}.`,
  );
  const { credentialId, slackUserId, responseUrl, channel, ts, listing } = job;
  return {
    summary: `assignment recorded (seq ${written.seq}); new owner told: ${told?.recorded ? 'yes' : 'no'}`,
    next: [
      {
        action: 'refresh-message',
        credentialId,
        slackUserId,
        // The clicked message is the fallback owner's, not the new owner's.
        recipient: deps.policy.fallbackOwner,
        ...(responseUrl && { responseUrl }),
        ...(channel && { channel }),
        ...(ts && { ts }),
        ...(listing && { listing }),
      },
    ],
  };
}

/**
 * An answer or a change asked for a credential of an account reauth does not cover. The endpoint
 * refused it already (and queued its refusal), unless the account left reauth's coverage since the
 * answer was queued: the user is told, and the attempt recorded as refused (once a user and day).
 */
export async function refuseUncovered(
  deps: AnswerDependencies,
  answering: Extract<AnswerPolicy, { refusal: unknown }>,
  attempt: RefusedAttempt,
  responseUrl: string | undefined,
): Promise<AnswerOutcome> {
  await tell(deps.slack, responseUrl, answering.refusal.reply);
  return recordRefusal(deps, answering, attempt);
}

async function recordStillNeeded(
  deps: AnswerDependencies,
  job: AnswerJob & { action: 'still-needed' },
): Promise<AnswerOutcome> {
  const context = await named(deps.slack, answerContext(deps, job.slackUserId));
  let refusal: Refusal | undefined;
  const written = await deps.store.transition(job.credentialId, (current) => {
    refusal = checkAnswer(current, 'still-needed', job.requestSeq, context);
    if (!refusal) return planStillNeeded(current as CredentialState, job, context);
    return refusal.why === 'not-authorized' && current
      ? planRefusal(current, 'still-needed', refusal, context)
      : undefined;
  });
  if (refusal) {
    // The endpoint found it open; since then someone answered, or the request moved on.
    await tell(deps.slack, job.responseUrl, refusal.reply);
    return { summary: `refused: ${refusal.why}`, next: [] };
  }
  if (written?.action === 'notify') {
    // The tier needs a second approver: the owner's answer is a proposal until one confirms it.
    return {
      summary: `proposal recorded (seq ${written.seq})`,
      next: [{ action: 'request-approval', credentialId: job.credentialId }],
    };
  }
  const { credentialId, slackUserId, responseUrl, channel, ts, listing } = job;
  return {
    summary: `still needed recorded (seq ${written?.seq})`,
    next: [
      {
        action: 'refresh-message',
        credentialId,
        slackUserId,
        ...(responseUrl && { responseUrl }),
        ...(channel && { channel }),
        ...(ts && { ts }),
        ...(listing && { listing }),
      },
    ],
  };
}

/**
 * One conditional write per request still open for the submitter among those the message shows, each
 * its own decision in its credential's hash chain, judged under its own account's policy as if each
 * had been answered alone: capped by its tier, a proposal where its tier wants a second approver, and
 * refused (recorded) where its account is not covered.
 */
async function recordStillNeededAll(
  deps: AnswerDependencies,
  job: AnswerJob & { action: 'still-needed-all' },
): Promise<AnswerOutcome> {
  const asHub = await named(deps.slack, answerContext(deps, job.slackUserId));
  const open = await openInMessage(deps, job, job.slackUserId);
  const next: ActionJob[] = [];
  let answered: string | undefined;
  let recorded = 0;
  for (const { state, requestSeq, answering } of open) {
    const { credentialId } = state;
    if ('refusal' in answering) {
      // The endpoint queued this refusal too, unless the account left coverage since: recorded once.
      await recordRefusal(deps, answering, {
        attempted: 'still-needed',
        credentialId,
        requestSeq,
        slackUserId: job.slackUserId,
      });
      continue;
    }
    const context: AnswerContext = { ...asHub, ...answering };
    const written = await deps.store.transition(credentialId, (current) =>
      current && !checkAnswer(current, 'still-needed', requestSeq, context)
        ? planStillNeeded(current, job, context)
        : undefined,
    );
    if (written?.action === 'notify') next.push({ action: 'request-approval', credentialId });
    if (written) {
      answered = credentialId;
      recorded += 1;
    }
  }
  if (answered) {
    next.push({
      action: 'refresh-message',
      credentialId: answered,
      channel: job.channel,
      ts: job.ts,
      ...(job.responseUrl && { responseUrl: job.responseUrl }),
    });
  }
  return { summary: `still needed recorded for ${recorded} of ${open.length} open requests`, next };
}

async function recordApproval(
  deps: AnswerDependencies,
  job: AnswerJob & { action: 'approve' },
): Promise<AnswerOutcome> {
  const approver = await named(deps.slack, answerContext(deps, job.slackUserId));
  let late: Refusal | undefined;
  const written = await deps.store.transition(job.credentialId, (latest) => {
    late = checkAnswer(latest, 'approve', job.requestSeq, approver);
    return late ? undefined : planApproval(latest as CredentialState, approver);
  });
  await tell(
    deps.slack,
    job.responseUrl,
    late?.reply ??
      `Confirmed: ${written ? credentialName(written) : 'it'} is reauthorized until ${String(written?.evidence.until).slice(0, 10)}.`,
  );
  return written
    ? {
        summary: `approval recorded (seq ${written.seq})`,
        next: [{ action: 'refresh-message', credentialId: job.credentialId }],
      }
    : { summary: `refused: ${late?.why}`, next: [] };
}

/**
 * Records a refused attempt, once per user, credential and UTC day: for a credential of an account
 * reauth does not cover, or by a user who may not answer. Judged again here under `answering`, so a
 * queued refusal records nothing for a user who may answer in a covered account, or for a credential
 * with no state.
 */
async function recordRefusal(
  deps: AnswerDependencies,
  answering: AnswerPolicy,
  attempt: RefusedAttempt,
): Promise<AnswerOutcome> {
  const judge = 'refusal' in answering ? deps : { ...deps, ...answering };
  const context = await named(deps.slack, answerContext(judge, attempt.slackUserId));
  const written = await deps.store.transition(attempt.credentialId, (current) => {
    const refusal =
      'refusal' in answering
        ? answering.refusal
        : checkAnswer(current, attempt.attempted, attempt.requestSeq, context);
    return current && (refusal?.why === 'not-authorized' || refusal?.why === 'not-covered')
      ? planRefusal(current, attempt.attempted, refusal, context)
      : undefined;
  });
  return { summary: written ? `refusal recorded (seq ${written.seq})` : 'refusal not recorded', next: [] };
}
