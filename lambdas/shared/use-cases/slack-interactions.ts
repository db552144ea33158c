import type { ActionJob, ActionQueue } from '../adapters/action-queue';
import type { DecisionStore } from '../adapters/decision-store';
import type { Enforcer } from '../adapters/enforcement';
import type { SlackClient } from '../adapters/slack-client';
import { parseCredentialId } from '../domain/credential';
import type { CredentialState, Decision } from '../domain/decision';
import type { PolicyConfig } from '../domain/policy';
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
} from '../domain/reauthorization';
import { approvalRequestMessage, parseStillNeededSubmission, stillNeededModal } from '../slack/messages';
import { type ReauthActionId, type SlackRequest, SlackRequestError } from '../slack/request';
import { notifyNewRequests, outcomeMessage, requestItemOf, requestMessageOf } from './notify-owners';

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

export async function tell(slack: SlackClient, responseUrl: string | undefined, text: string): Promise<void> {
  if (responseUrl)
    await slack.respond(responseUrl, { response_type: 'ephemeral', replace_original: false, text });
}

function modalError(block: string, message: string): InteractionReply {
  return { statusCode: 200, body: { response_action: 'errors', errors: { [block]: message } } };
}

export function answerContext(
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
