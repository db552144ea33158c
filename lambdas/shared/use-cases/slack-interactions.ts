import { createHash, randomUUID } from 'node:crypto';
import type { ActionJob, ActionQueue } from '../adapters/action-queue';
import type { DecisionStore } from '../adapters/decision-store';
import type { SlackClient } from '../adapters/slack-client';
import { parseCredentialId } from '../domain/credential';
import type { CredentialState } from '../domain/decision';
import { type PolicyConfig, policyIdOf } from '../domain/policy';
import {
  type AnswerContext,
  checkAnswer,
  maxReauthorizeDays,
  type OwnerAction,
  type Refusal,
} from '../domain/reauthorization';
import {
  parseStillNeededAllSubmission,
  STILL_NEEDED_ALL_CALLBACK_ID,
  stillNeededAllModal,
} from '../slack/answer-all';
import { parseStillNeededSubmission, stillNeededModal } from '../slack/messages';
import { REAUTH_COMMAND, type ReauthActionId, type SlackRequest, SlackRequestError } from '../slack/request';
import type { AccountPolicy } from './account-policy';

export interface InteractionDependencies {
  store: DecisionStore;
  slack: SlackClient;
  queue: ActionQueue;
  policy: PolicyConfig;
  policyId: string;
  now: () => Date;
  /**
   * Org mode: the policy of a credential's account (see `accountPolicy`): its mode, tiers and approvers.
   * @default none: every credential is under `policy`
   */
  policyOf?: (accountId: string, now: Date) => Promise<AccountPolicy>;
}

/** The dependencies under the credential's account's policy (org mode), or as they are. */
async function inAccountOf(
  deps: InteractionDependencies,
  credentialId: string,
): Promise<InteractionDependencies | { outside: string }> {
  if (!deps.policyOf) return deps;
  const account = await deps.policyOf(parseCredentialId(credentialId).accountId, deps.now());
  return 'outside' in account
    ? account
    : { ...deps, policy: account.policy, policyId: policyIdOf(account.policy) };
}

/** What the endpoint answers Slack: a status and, for some requests, a JSON body. */
export interface InteractionReply {
  statusCode: number;
  body?: Record<string, unknown>;
  /**
   * Someone who may not answer for the credential tried to (counted every time). The worker records it,
   * once per user, credential and UTC day.
   */
  refused?: true;
  /** A copy of a click already received (the same trigger_id or the same action payload): nothing queued. */
  replayed?: boolean;
}

/**
 * How long a received click's leases hold. Slack's signature check takes a timestamp up to 5 minutes
 * either side of now, so a copy of a request can still pass it up to 10 minutes after the first arrived.
 */
const REPLAY_WINDOW_MS = 10 * 60_000;

const ACTIONS: Record<ReauthActionId, OwnerAction> = {
  'reauth:still-needed': 'still-needed',
  'reauth:rotate': 'rotate',
  'reauth:disable': 'disable',
  'reauth:restore': 'restore',
  'reauth:approve': 'approve',
};

/**
 * Answers one verified Slack request within Slack's 3 seconds: DynamoDB reads, leases, a modal, a
 * queued job; never an IAM or Secrets Manager call, and never a write to a credential's items (the
 * worker records every answer: see use-cases/slack-answers.ts for why).
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
      return request.callbackId === STILL_NEEDED_ALL_CALLBACK_ID
        ? handleStillNeededAll(deps, request)
        : handleStillNeeded(deps, request);
    case 'answer_all':
      return openStillNeededAll(deps, request);
    case 'slash_command':
      return handleCommand(deps, request);
    case 'list_page':
      if (request.responseUrl) {
        const listing = await queueListing(deps, request.userId, request.responseUrl, request.page, true);
        if (listing === 'busy') await tell(deps.slack, request.responseUrl, LISTING_BUSY);
      }
      return { statusCode: 200 };
  }
}

/**
 * How long a user's listing lease holds when the worker never gives it back (it failed or timed out):
 * the worker's timeout. Each listing (`/reauth`, or a page of it turned) scans every open request of
 * every account, so each user has one listing at a time: from the command until the worker has posted
 * the list, and at most this long. Another asked meanwhile is answered {@link LISTING_BUSY} and scans
 * nothing.
 */
export const LIST_LEASE_MS = 60_000;

export const LISTING_BUSY =
  'reauth is already preparing your list of requests: it appears here in a moment. Try again once it has.';

/**
 * Queues a listing for `userId` under their listing lease (see {@link LIST_LEASE_MS}); `busy` when one
 * of theirs is still being prepared. Slack's user ids are unique across an Enterprise Grid, so the
 * lease is per user id.
 */
async function queueListing(
  deps: InteractionDependencies,
  userId: string,
  responseUrl: string,
  page: number,
  replace: boolean,
): Promise<'queued' | 'busy'> {
  const lease = { name: `list:${sha256(userId)}`, holder: randomUUID() };
  const now = deps.now();
  if (!(await deps.store.lease(lease.name, lease.holder, new Date(now.getTime() + LIST_LEASE_MS), now))) {
    return 'busy';
  }
  try {
    await deps.queue.send({
      action: 'list-requests',
      slackUserId: userId,
      responseUrl,
      page,
      replace,
      lease,
    });
  } catch (error) {
    await deps.store.unlease(lease.name, lease.holder); // nothing queued: the user may ask again at once
    throw error;
  }
  return 'queued';
}

/**
 * `/reauth [page]`: the worker lists the requests waiting for the caller through the command's
 * response_url (finding them can take longer than Slack's 3 seconds). The empty 200 acknowledges it;
 * while the caller's previous listing is still being prepared, a polite ephemeral "already" instead.
 */
async function handleCommand(
  deps: InteractionDependencies,
  request: Extract<SlackRequest, { type: 'slash_command' }>,
): Promise<InteractionReply> {
  if (request.command !== REAUTH_COMMAND) {
    return {
      statusCode: 200,
      body: { response_type: 'ephemeral', text: `reauth answers ${REAUTH_COMMAND} only.` },
    };
  }
  const page = /^\s*([1-9][0-9]{0,4})\s*$/.exec(request.text)?.[1];
  const listing = await queueListing(
    deps,
    request.userId,
    request.responseUrl,
    page ? Number(page) : 1,
    false,
  );
  return listing === 'busy'
    ? { statusCode: 200, body: { response_type: 'ephemeral', text: LISTING_BUSY } }
    : { statusCode: 200 };
}

/** Where a click came from, for the job: the message to rebuild once it is answered. */
function clickedIn(request: Extract<SlackRequest, { type: 'block_actions' }>) {
  return {
    ...(request.responseUrl && { responseUrl: request.responseUrl }),
    ...(request.channelId && { channel: request.channelId }),
    ...(request.messageTs && { ts: request.messageTs }),
    ...(request.ephemeral && { listing: true as const }),
  };
}

async function handleClick(
  hub: InteractionDependencies,
  request: Extract<SlackRequest, { type: 'block_actions' }>,
): Promise<InteractionReply> {
  const { credentialId, requestSeq } = request.action;
  const deps = await inAccountOf(hub, credentialId);
  if ('outside' in deps) {
    await tell(hub.slack, request.responseUrl, deps.outside);
    return { statusCode: 200 };
  }
  const action = ACTIONS[request.action.actionId];
  const context = answerContext(deps, request.userId);
  const state = await deps.store.getState(credentialId);
  const refusal = checkAnswer(state, action, requestSeq, context);
  if (refusal) {
    const overstepped = await queueRefusal(deps, refusal, {
      attempted: action,
      credentialId,
      requestSeq,
      slackUserId: request.userId,
    });
    await tell(deps.slack, request.responseUrl, refusal.reply);
    return { statusCode: 200, ...(overstepped && { refused: true }) };
  }
  const current = state as CredentialState;
  if (action === 'approve') {
    // Recorded by the worker, which tells the approver and refreshes the message.
    const queued = await queueAnswerOnce(
      deps,
      [request.teamId ?? null, request.userId, action, credentialId, requestSeq],
      {
        action: 'approve',
        credentialId,
        requestSeq,
        slackUserId: request.userId,
        ...(request.responseUrl && { responseUrl: request.responseUrl }),
      },
    );
    if (!queued) await tell(deps.slack, request.responseUrl, ANSWER_RECEIVED);
    return { statusCode: 200, ...(!queued && { replayed: true }) };
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
        ...(request.ephemeral && { listing: true }),
      }),
    );
    return { statusCode: 200 };
  }
  const received = await receiveOnce(deps, request);
  if (!received) {
    await tell(
      deps.slack,
      request.responseUrl,
      `Already received: reauth is working on it (${verbing(action)} ${current.principal}).`,
    );
    return { statusCode: 200, replayed: true };
  }
  try {
    await deps.queue.send({
      action,
      credentialId,
      requestSeq,
      slackUserId: request.userId,
      ...clickedIn(request),
    });
  } catch (error) {
    await received.release(); // nothing was queued: the same click, sent again, may try again
    throw error;
  }
  await tell(deps.slack, request.responseUrl, `Working on it: ${verbing(action)} ${current.principal}…`);
  return { statusCode: 200 };
}

/**
 * Takes the two leases of a click that queues a job (a disable, restore or rotation), so a copy of
 * the request, byte-identical or re-signed, queues none: one on its `trigger_id` (Slack's, one per
 * click) and one on its action payload (who asked what of which request of which credential). Two
 * different clicks differ in the latter: another user, another action (*Disable*, then *Restore* of
 * that disable), or another request (`requestSeq` moves with every request and every disable). The
 * same person pressing the same button of the same request twice is one job, as it should be.
 *
 * Leases in the decision table rather than an SQS FIFO queue's deduplication id: a message carries one
 * deduplication id and a click has two keys to match on; FIFO's window is 5 minutes where a copy can
 * pass the signature check for 10; and the worker's standard queue, dead-letter queue and alarms stay as
 * they are. The other clicks need no lease: *Approve* and the dialog queue a job only after a
 * conditional write that a copy cannot repeat, and *Still needed* only opens a dialog.
 *
 * Undefined: a copy (a lease is held by another request). Otherwise `release` gives both back.
 */
async function receiveOnce(
  deps: InteractionDependencies,
  request: Extract<SlackRequest, { type: 'block_actions' }>,
): Promise<{ release(): Promise<void> } | undefined> {
  const { actionId, credentialId, requestSeq } = request.action;
  const names = [
    `click:${sha256(request.triggerId)}`,
    `click:${sha256(JSON.stringify([request.teamId ?? null, request.userId, actionId, credentialId, requestSeq]))}`,
  ];
  // Unique per request handled, so a copy never holds the first's lease (a retried write of this one does).
  const holder = randomUUID();
  const now = deps.now();
  const until = new Date(now.getTime() + REPLAY_WINDOW_MS);
  // One after the other, always in this order: taken at once, two copies could each take one lease
  // and both give up, queuing nothing. In order, whoever holds the last lease holds them all.
  for (const name of names) {
    // A copy. A lease it did take is left to expire: it only marks this copy.
    if (!(await deps.store.lease(name, holder, until, now))) return undefined;
  }
  return {
    async release() {
      await Promise.all(names.map((name) => deps.store.unlease(name, holder)));
    },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The *Still needed* dialog submitted: recorded here (one conditional write), the message refreshed by the worker. */
async function handleStillNeeded(
  hub: InteractionDependencies,
  request: Extract<SlackRequest, { type: 'view_submission' }>,
): Promise<InteractionReply> {
  let answer: ReturnType<typeof parseStillNeededSubmission>;
  try {
    answer = parseStillNeededSubmission(request);
  } catch (error) {
    if (!(error instanceof SlackRequestError)) throw error;
    return modalError('reason', 'Give a reason of at least 10 characters and choose a duration.');
  }
  const deps = await inAccountOf(hub, answer.credentialId);
  if ('outside' in deps) return modalError('reason', deps.outside);
  const state = await deps.store.getState(answer.credentialId);
  const refusal = checkAnswer(state, 'still-needed', answer.requestSeq, answerContext(deps, request.userId));
  if (refusal) {
    const overstepped = await queueRefusal(deps, refusal, {
      attempted: 'still-needed',
      credentialId: answer.credentialId,
      requestSeq: answer.requestSeq,
      slackUserId: request.userId,
    });
    return { ...modalError('reason', refusal.reply), ...(overstepped && { refused: true }) };
  }
  // Recorded by the worker (a proposal when the tier needs a second approver), which then refreshes the
  // message or asks the approvers; should the request move on meanwhile, it tells the user so.
  const queued = await queueAnswerOnce(
    deps,
    [request.userId, 'still-needed', answer.credentialId, answer.requestSeq],
    {
      action: 'still-needed',
      credentialId: answer.credentialId,
      requestSeq: answer.requestSeq,
      slackUserId: request.userId,
      reason: answer.reason,
      days: answer.days,
      ...(answer.responseUrl && { responseUrl: answer.responseUrl }),
      ...(answer.channelId && { channel: answer.channelId }),
      ...(answer.messageTs && { ts: answer.messageTs }),
      ...(answer.listing && { listing: true as const }),
    },
  );
  return queued
    ? { statusCode: 200, body: { response_action: 'clear' } }
    : { ...modalError('reason', ANSWER_RECEIVED), replayed: true };
}

const ANSWER_RECEIVED = 'Already received: reauth is recording your answer.';

/**
 * Queues an answer for the worker to record, unless the same answer (`key`: who gave which answer to
 * which request) was queued within the replay window: Slack retries, and copies of a signed request,
 * are told so at once rather than queuing a job that would only find the request answered. False: a copy.
 */
async function queueAnswerOnce(
  deps: InteractionDependencies,
  key: readonly unknown[],
  job: ActionJob,
): Promise<boolean> {
  const name = `answer:${sha256(JSON.stringify(key))}`;
  const holder = randomUUID();
  const now = deps.now();
  if (!(await deps.store.lease(name, holder, new Date(now.getTime() + REPLAY_WINDOW_MS), now))) return false;
  try {
    await deps.queue.send(job);
  } catch (error) {
    await deps.store.unlease(name, holder); // nothing was queued: the same answer, sent again, may try again
    throw error;
  }
  return true;
}

/**
 * The requests a message showed that `context`'s user may still answer *Still needed* to: those of the
 * request the message showed, still open, and theirs or a delegate's (the buttons' own check).
 */
export async function openInMessage(
  deps: { store: DecisionStore },
  message: { channel: string; ts: string },
  context: AnswerContext,
): Promise<CredentialState[]> {
  const shown = (await deps.store.messageRequests(message)) ?? [];
  const states = await deps.store.getStates(shown.map((r) => r.credentialId));
  return shown.flatMap(({ credentialId, requestSeq }) => {
    const state = states.get(credentialId);
    return state && !checkAnswer(state, 'still-needed', requestSeq, context) ? [state] : [];
  });
}

/** *Still needed: all open here*: the dialog for one reason and one duration, for every open request in the message. */
async function openStillNeededAll(
  deps: InteractionDependencies,
  request: Extract<SlackRequest, { type: 'answer_all' }>,
): Promise<InteractionReply> {
  const message =
    request.channelId && request.messageTs
      ? { channel: request.channelId, ts: request.messageTs }
      : undefined;
  const open = message ? await openInMessage(deps, message, answerContext(deps, request.userId)) : [];
  if (!message || open.length === 0) {
    await tell(deps.slack, request.responseUrl, 'Nothing in this message is waiting for an answer from you.');
    return { statusCode: 200 };
  }
  await deps.slack.openView(
    request.triggerId,
    stillNeededAllModal({
      count: open.length,
      maxDays: Math.min(...open.map((state) => maxReauthorizeDays(state, deps.policy))),
      ...message,
      ...(request.responseUrl && { responseUrl: request.responseUrl }),
    }),
  );
  return { statusCode: 200 };
}

/**
 * The *Still needed: all* dialog submitted: the worker records one decision per request the message
 * shows that is still open for the submitter, each in its own credential's chain.
 */
async function handleStillNeededAll(
  deps: InteractionDependencies,
  request: Extract<SlackRequest, { type: 'view_submission' }>,
): Promise<InteractionReply> {
  let answer: ReturnType<typeof parseStillNeededAllSubmission>;
  try {
    answer = parseStillNeededAllSubmission(request);
  } catch (error) {
    if (!(error instanceof SlackRequestError)) throw error;
    return modalError('reason', 'Give a reason of at least 10 characters and choose a duration.');
  }
  await deps.queue.send({
    action: 'still-needed-all',
    slackUserId: request.userId,
    channel: answer.channel,
    ts: answer.ts,
    reason: answer.reason,
    days: answer.days,
    ...(answer.responseUrl && { responseUrl: answer.responseUrl }),
  });
  return { statusCode: 200, body: { response_action: 'clear' } };
}

/**
 * Queues a refused attempt by someone who may not answer, for the worker to record (once per user,
 * credential and day); whether it was one, or a refusal not worth recording.
 */
async function queueRefusal(
  deps: InteractionDependencies,
  refusal: Refusal,
  attempt: Omit<ActionJob & { action: 'refusal' }, 'action'>,
): Promise<boolean> {
  if (refusal.why !== 'not-authorized') return false; // an honest reply is enough: nobody overstepped
  await deps.queue.send({ action: 'refusal', ...attempt });
  return true;
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

/** How long an answer waits for `users.info`: Slack wants the endpoint's reply within 3 seconds. */
const USERS_INFO_WAIT_MS = 800;

/**
 * The context with the answering user's display name and email from Slack, for the decision's
 * evidence. Never fails the answer: when Slack is slow, refuses or has no such user, the decision is
 * recorded with the user id alone (and the report shows it unresolved).
 */
export async function named(slack: SlackClient, context: AnswerContext): Promise<AnswerContext> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), USERS_INFO_WAIT_MS);
  });
  try {
    const profile = await Promise.race([slack.usersInfo(context.slackUserId).catch(() => undefined), late]);
    return profile && (profile.name || profile.email) ? { ...context, slackUser: profile } : context;
  } finally {
    clearTimeout(timer);
  }
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
