import type { ActionJob, ActionQueue } from './adapters/action-queue';
import type { DecisionStore } from './adapters/decision-store';
import type { Enforcer } from './adapters/enforcement';
import type { SlackClient } from './adapters/slack-client';
import { parseCredentialId } from './domain/credential';
import type { CredentialState, Decision } from './domain/decision';
import type { PolicyConfig } from './domain/policy';
import {
  type AnswerContext,
  checkAnswer,
  maxReauthorizeDays,
  type OwnerAction,
  planApproval,
  planDisable,
  planRefusal,
  planRestore,
  planRotation,
  planStillNeeded,
  type Refusal,
} from './domain/reauthorization';
import { notifyNewRequests, outcomeMessage, requestItemOf, requestMessageOf } from './notify-owners';
import { approvalRequestMessage, parseStillNeededSubmission, stillNeededModal } from './slack/messages';
import { type ReauthActionId, type SlackRequest, SlackRequestError } from './slack/request';

export interface InteractionDependencies {
  store: DecisionStore;
  slack: SlackClient;
  queue: ActionQueue;
  policy: PolicyConfig;
  policyId: string;
  now: () => Date;
}

/** What the endpoint answers Slack: a status and, for some requests, a JSON body. */
export interface InteractionReply {
  statusCode: number;
  body?: Record<string, unknown>;
}

const ACTIONS: Record<ReauthActionId, OwnerAction> = {
  'reauth:still-needed': 'still-needed',
  'reauth:rotate': 'rotate',
  'reauth:disable': 'disable',
  'reauth:restore': 'restore',
  'reauth:approve': 'approve',
};

/**
 * Answers one verified Slack request within Slack's 3 seconds: DynamoDB reads and conditional writes,
 * a modal, a queued job; never an IAM or Secrets Manager call.
 */
export async function handleInteraction(
  deps: InteractionDependencies,
  request: SlackRequest,
): Promise<InteractionReply> {
  switch (request.type) {
    case 'url_verification':
      return { statusCode: 200, body: { challenge: request.challenge } };
    case 'ssl_check':
      return { statusCode: 200 };
    case 'block_actions':
      return handleClick(deps, request);
    case 'view_submission':
      return handleStillNeeded(deps, request);
  }
}

async function handleClick(
  deps: InteractionDependencies,
  request: Extract<SlackRequest, { type: 'block_actions' }>,
): Promise<InteractionReply> {
  const { credentialId, requestSeq } = request.action;
  const action = ACTIONS[request.action.actionId];
  const context = answerContext(deps, request.userId);
  const state = await deps.store.getState(credentialId);
  const refusal = checkAnswer(state, action, requestSeq, context);
  if (refusal) {
    await recordRefusal(deps, credentialId, action, refusal, context);
    await tell(deps.slack, request.responseUrl, refusal.reply);
    return { statusCode: 200 };
  }
  const current = state as CredentialState;
  if (action === 'approve') {
    // A DynamoDB write only: done here, the message refreshed by the worker.
    let late: Refusal | undefined;
    const written = await deps.store.transition(credentialId, (latest) => {
      late = checkAnswer(latest, 'approve', requestSeq, context);
      return late ? undefined : planApproval(latest as CredentialState, context);
    });
    if (written) await deps.queue.send({ action: 'refresh-message', credentialId });
    await tell(
      deps.slack,
      request.responseUrl,
      late?.reply ??
        `Confirmed: ${current.principal} is reauthorized until ${String(written?.evidence.until).slice(0, 10)}.`,
    );
    return { statusCode: 200 };
  }
  if (action === 'still-needed') {
    await deps.slack.openView(
      request.triggerId,
      stillNeededModal({
        credentialId,
        requestSeq,
        principal: current.principal,
        maxDays: maxReauthorizeDays(current, deps.policy),
        ...(request.responseUrl && { responseUrl: request.responseUrl }),
        ...(request.channelId && { channelId: request.channelId }),
        ...(request.messageTs && { messageTs: request.messageTs }),
      }),
    );
    return { statusCode: 200 };
  }
  await deps.queue.send({
    action,
    credentialId,
    requestSeq,
    slackUserId: request.userId,
    ...(request.responseUrl && { responseUrl: request.responseUrl }),
  });
  await tell(deps.slack, request.responseUrl, `Working on it: ${verbing(action)} ${current.principal}…`);
  return { statusCode: 200 };
}

/** The *Still needed* dialog submitted: recorded here (one conditional write), the message refreshed by the worker. */
async function handleStillNeeded(
  deps: InteractionDependencies,
  request: Extract<SlackRequest, { type: 'view_submission' }>,
): Promise<InteractionReply> {
  let answer: ReturnType<typeof parseStillNeededSubmission>;
  try {
    answer = parseStillNeededSubmission(request);
  } catch (error) {
    if (!(error instanceof SlackRequestError)) throw error;
    return modalError('reason', 'Give a reason of at least 10 characters and choose a duration.');
  }
  const context = answerContext(deps, request.userId);
  let refusal: Refusal | undefined;
  const written = await deps.store.transition(answer.credentialId, (current) => {
    refusal = checkAnswer(current, 'still-needed', answer.requestSeq, context);
    if (!refusal) return planStillNeeded(current as CredentialState, answer, context);
    return refusal.why === 'not-authorized' && current
      ? planRefusal(current, 'still-needed', refusal, context)
      : undefined;
  });
  if (refusal) return modalError('reason', refusal.reply);
  if (written?.action === 'notify') {
    // The tier needs a second approver: the owner's answer is a proposal until one confirms it.
    await deps.queue.send({ action: 'request-approval', credentialId: answer.credentialId });
  } else if (written) {
    await deps.queue.send({
      action: 'refresh-message',
      credentialId: answer.credentialId,
      ...(answer.responseUrl && { responseUrl: answer.responseUrl }),
    });
  }
  return { statusCode: 200, body: { response_action: 'clear' } };
}

export interface WorkerDependencies {
  store: DecisionStore;
  slack: SlackClient;
  enforcer: Enforcer;
  policy: PolicyConfig;
  policyId: string;
  now: () => Date;
}

/** What a job did, for the log; `recorded` names the change when one was made and recorded. */
export interface ActionJobOutcome {
  summary: string;
  recorded?: 'rotate' | 'disable' | 'restore';
}

/**
 * Does what a click asked for (the IAM or Secrets Manager change), records it, and updates the
 * message. Safe to run twice for one job (a redelivery): the state decides whether anything is left to do.
 */
export async function runActionJob(deps: WorkerDependencies, job: ActionJob): Promise<ActionJobOutcome> {
  if (job.action === 'refresh-message') {
    await refreshMessage(deps, job.credentialId, job.responseUrl);
    return { summary: 'message refreshed' };
  }
  if (job.action === 'request-approval') return { summary: await requestApproval(deps, job.credentialId) };
  const context = answerContext(deps, job.slackUserId);
  const state = await deps.store.getState(job.credentialId);
  const refusal = checkAnswer(state, job.action, job.requestSeq, context);
  if (refusal || !state) {
    await tell(deps.slack, job.responseUrl, refusal?.reply ?? 'Nothing to do.');
    return { summary: `refused: ${refusal?.why ?? 'no state'}` };
  }
  const target = {
    kind: state.kind,
    id: parseCredentialId(state.credentialId).id,
    principal: state.principal,
  };
  const stillOpen = (current: CredentialState | undefined): current is CredentialState =>
    !checkAnswer(current, job.action, job.requestSeq, context);
  let written: Decision | undefined;

  switch (job.action) {
    case 'disable': {
      const receipt = await deps.enforcer.disable(target);
      written = await deps.store.transition(job.credentialId, (current) =>
        stillOpen(current)
          ? planDisable(current, receipt, {
              now: context.now,
              policyId: deps.policyId,
              mode: deps.policy.mode,
              actor: `slack:${job.slackUserId}`,
              reason: `disabled now at the request of ${job.slackUserId}`,
            })
          : undefined,
      );
      // Answered otherwise while the disable ran (e.g. Still needed): put it back as it was.
      if (!written) await deps.enforcer.restore(target, receipt);
      break;
    }
    case 'restore': {
      if (!state.disableReceipt)
        throw new Error(`${state.credentialId} is disabled but has no receipt to restore from`);
      await deps.enforcer.restore(target, state.disableReceipt);
      written = await deps.store.transition(job.credentialId, (current) =>
        stillOpen(current) ? planRestore(current, context) : undefined,
      );
      const restored = await deps.store.getState(job.credentialId);
      if (written && restored) {
        await notifyNewRequests(deps, [restored], { ...deps, now: context.now, job: 'slack' });
      }
      break;
    }
    case 'rotate': {
      const result = await deps.enforcer.rotate(target, { owner: state.owner, now: context.now });
      if (result.kind !== 'access-key' && !result.rotated) {
        await tell(deps.slack, job.responseUrl, `${state.principal} was not rotated: ${result.why}`);
        return { summary: `not rotated: ${result.why}` };
      }
      written = await deps.store.transition(job.credentialId, (current) =>
        stillOpen(current)
          ? planRotation(
              current,
              result.kind === 'access-key'
                ? { newKeyId: result.newKeyId, storedIn: result.storedIn }
                : { ...(result.rotated && result.versionId && { versionId: result.versionId }) },
              context,
            )
          : undefined,
      );
      break;
    }
  }
  if (!written) {
    await tell(deps.slack, job.responseUrl, 'Someone answered this request first; nothing else was changed.');
    return { summary: 'superseded' };
  }
  await refreshMessage(deps, job.credentialId, job.responseUrl);
  return { summary: `${job.action} recorded (seq ${written.seq})`, recorded: job.action };
}

/** Asks each member of the tier's approvers group, in Slack, to confirm an owner's *Still needed*. */
async function requestApproval(deps: WorkerDependencies, credentialId: string): Promise<string> {
  const state = await deps.store.getState(credentialId);
  const proposal = state?.proposal;
  if (!state || state.status !== 'pending' || !proposal) return 'nothing to approve';
  const approvers = (deps.policy.tiers[state.tier ?? deps.policy.defaultTier]?.approvers ?? []).filter(
    (id) => `slack:${id}` !== proposal.by && id !== state.ownerSlackId,
  );
  const message = approvalRequestMessage({
    item: requestItemOf(state),
    proposedBy: proposal.by.replace(/^slack:/, ''),
    reason: proposal.reason,
    days: proposal.days,
  });
  for (const approver of approvers) await deps.slack.postMessage(approver, message);
  return `asked ${approvers.length} approvers`;
}

/** Rewrites the request message a credential was posted in to show who decided what. */
export async function refreshMessage(
  deps: { store: DecisionStore; slack: SlackClient },
  credentialId: string,
  responseUrl: string | undefined,
): Promise<void> {
  const state = await deps.store.getState(credentialId);
  if (!state) return;
  const where = state.message;
  const siblings = where
    ? [...(await deps.store.loadStates(state.accountId)).values()].filter(
        (s) => s.message?.channel === where.channel && s.message.ts === where.ts,
      )
    : [state];
  const message =
    siblings.length > 1
      ? requestMessageOf(state.ownerSlackId ?? state.owner, siblings)
      : outcomeMessage(state);
  if (responseUrl) await deps.slack.respond(responseUrl, { replace_original: true, ...message });
  else if (where) await deps.slack.updateMessage(where.channel, where.ts, message);
}

async function recordRefusal(
  deps: InteractionDependencies,
  credentialId: string,
  action: OwnerAction,
  refusal: Refusal,
  context: AnswerContext,
): Promise<void> {
  if (refusal.why !== 'not-authorized') return; // an honest reply is enough: nobody overstepped
  await deps.store.transition(credentialId, (current) =>
    current ? planRefusal(current, action, refusal, context) : undefined,
  );
}

async function tell(slack: SlackClient, responseUrl: string | undefined, text: string): Promise<void> {
  if (responseUrl)
    await slack.respond(responseUrl, { response_type: 'ephemeral', replace_original: false, text });
}

function modalError(block: string, message: string): InteractionReply {
  return { statusCode: 200, body: { response_action: 'errors', errors: { [block]: message } } };
}

function answerContext(
  deps: { policy: PolicyConfig; policyId: string; now: () => Date },
  slackUserId: string,
) {
  return { now: deps.now(), policy: deps.policy, policyId: deps.policyId, slackUserId };
}

function verbing(action: OwnerAction): string {
  const verbs: Record<OwnerAction, string> = {
    'still-needed': 'keeping',
    rotate: 'rotating',
    disable: 'disabling',
    restore: 'restoring',
    approve: 'approving',
  };
  return verbs[action];
}
