import type { ActionJob } from '../adapters/action-queue';
import type { DecisionStore } from '../adapters/decision-store';
import type { SlackClient } from '../adapters/slack-client';
import type { CredentialState } from '../domain/decision';
import type { PolicyConfig } from '../domain/policy';
import {
  checkAnswer,
  planApproval,
  planRefusal,
  planStillNeeded,
  type Refusal,
} from '../domain/reauthorization';
import { answerContext, named, openInMessage, tell } from './slack-interactions';

/**
 * The answers given in Slack that change only the record: *Still needed* (one, or all open in a
 * message), *Approve*, and an attempt refused because the user may not answer.
 *
 * Why the worker records them and not the endpoint that received them: the endpoint is reachable from
 * the internet, and DynamoDB's IAM can tell items apart only by partition key (`dynamodb:LeadingKeys`),
 * not STATE from DECISION. A role that may write one answer may overwrite any credential's state and
 * rewrite its history. So the endpoint may write leases only, checks each answer against what it reads
 * (to answer Slack within 3 seconds, dialog errors included) and queues it; the worker judges it again
 * against the state it writes on, as the endpoint did before, and records it in the credential's
 * chain. Whoever held the endpoint's role could then ask what a Slack user can ask, and no more.
 */
export type AnswerJob = Extract<
  ActionJob,
  { action: 'still-needed' | 'still-needed-all' | 'approve' | 'refusal' }
>;

export interface AnswerDependencies {
  store: DecisionStore;
  slack: SlackClient;
  policy: PolicyConfig;
  policyId: string;
  now: () => Date;
}

/** What recording an answer did, and the jobs that follow it (the message refreshed, approvers asked). */
export interface AnswerOutcome {
  summary: string;
  next: ActionJob[];
}

export function recordAnswer(deps: AnswerDependencies, job: AnswerJob): Promise<AnswerOutcome> {
  switch (job.action) {
    case 'still-needed':
      return recordStillNeeded(deps, job);
    case 'still-needed-all':
      return recordStillNeededAll(deps, job);
    case 'approve':
      return recordApproval(deps, job);
    case 'refusal':
      return recordRefusal(deps, job);
  }
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
 * its own decision in its credential's hash chain, as if each had been answered alone.
 */
async function recordStillNeededAll(
  deps: AnswerDependencies,
  job: AnswerJob & { action: 'still-needed-all' },
): Promise<AnswerOutcome> {
  const context = await named(deps.slack, answerContext(deps, job.slackUserId));
  const open = await openInMessage(deps, job, context);
  const next: ActionJob[] = [];
  let answered: string | undefined;
  for (const state of open) {
    const written = await deps.store.transition(state.credentialId, (current) =>
      current && !checkAnswer(current, 'still-needed', state.requestSeq ?? -1, context)
        ? planStillNeeded(current, job, context)
        : undefined,
    );
    if (written?.action === 'notify')
      next.push({ action: 'request-approval', credentialId: state.credentialId });
    if (written) answered = state.credentialId;
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
  return { summary: `still needed recorded for ${open.length} open requests`, next };
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
      `Confirmed: ${written?.principal} is reauthorized until ${String(written?.evidence.until).slice(0, 10)}.`,
  );
  return written
    ? {
        summary: `approval recorded (seq ${written.seq})`,
        next: [{ action: 'refresh-message', credentialId: job.credentialId }],
      }
    : { summary: `refused: ${late?.why}`, next: [] };
}

/**
 * Records a refused attempt, once per user, credential and UTC day; judged again here, so a queued
 * refusal records nothing for a user who may answer, or for a credential with no state.
 */
async function recordRefusal(
  deps: AnswerDependencies,
  job: AnswerJob & { action: 'refusal' },
): Promise<AnswerOutcome> {
  const context = await named(deps.slack, answerContext(deps, job.slackUserId));
  const written = await deps.store.transition(job.credentialId, (current) => {
    const refusal = checkAnswer(current, job.attempted, job.requestSeq, context);
    return current && refusal?.why === 'not-authorized'
      ? planRefusal(current, job.attempted, refusal, context)
      : undefined;
  });
  return { summary: written ? `refusal recorded (seq ${written.seq})` : 'refusal not recorded', next: [] };
}
