import { createHash, randomUUID } from 'node:crypto';
import type { ActionJob, ActionQueue } from '../adapters/action-queue';
import type { DecisionStore } from '../adapters/decision-store';
import type { SlackClient } from '../adapters/slack-client';
import type { CredentialState } from '../domain/decision';
import { credentialName } from '../domain/identification';
import type { PolicyConfig } from '../domain/policy';
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
import { type AnswerPolicy, type AnswerPolicySource, answerPolicyFor } from './account-policy';

export interface InteractionDependencies extends AnswerPolicySource {
  store: DecisionStore;
  slack: SlackClient;
  queue: ActionQueue;
  now: () => Date;
}

/** The dependencies under the credential's own account's policy, or the refusal of an uncovered one. */
async function inAccountOf(
  deps: InteractionDependencies,
  credentialId: string,
): Promise<InteractionDependencies | Extract<AnswerPolicy, { refusal: unknown }>> {
  const answering = await answerPolicyFor(deps, credentialId, deps.now());
  return 'refusal' in answering ? answering : { ...deps, ...answering };
}

/** What the endpoint answers Slack: a status and, for some requests, a JSON body. */
export interface InteractionReply {
  statusCode: number;
  body?: Record<string, unknown>;
  /**
   * Someone who may not answer for the credential tried to, or someone answered for an account reauth
   * does not cover (counted every time). The worker records it, once per user, credential and UTC day.
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

const ACTIONS: Record<ReauthActionId, Exclude<OwnerAction, 'assign-owner'>> = {
  'reauth:still-needed': 'still-needed',
  'reauth:rotate': 'rotate',
  'reauth:disable': 'disable',
  'reauth:restore': 'restore',
  'reauth:approve': 'approve',
  'reauth:right-size': 'right-size',
  'reauth:widen': 'widen',
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
    case 'assign_owner':
      return handleAssignment(deps, request);
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
function clickedIn(request: Extract<SlackRequest, { type: 'block_actions' | 'assign_owner' }>) {
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
  const action = ACTIONS[request.action.actionId];
  const deps = await inAccountOf(hub, credentialId);
  const attempt = { attempted: action, credentialId, requestSeq, slackUserId: request.userId };
  if ('refusal' in deps) {
    const overstepped = await queueRefusal(hub, deps.refusal, attempt);
    await tell(hub.slack, request.responseUrl, deps.refusal.reply);
    return { statusCode: 200, ...(overstepped && { refused: true }) };
  }
  const state = await deps.store.getState(credentialId);
  const refusal = checkAnswer(state, action, requestSeq, answerContext(deps, request.userId));
  if (refusal) {
    const overstepped = await queueRefusal(deps, refusal, attempt);
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
        kind: current.kind,
        principal: current.principal,
        accountId: current.accountId,
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
      `Already received: reauth is working on it (${verbing(action)} ${credentialName(current)}).`,
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
  await tell(
    deps.slack,
    request.responseUrl,
    `Working on it: ${verbing(action)} ${credentialName(current)}…`,
  );
  return { statusCode: 200 };
}

/**
 * *Assign owner* chosen in an orphaned credential's picker: checked here (a security approver, the
 * request the message showed still open and orphaned) and queued for the worker to record. The same
 * choice sent again within the replay window queues nothing; after it, the worker finds the request
 * moved on (the assignment opened a new one) and records nothing.
 */
async function handleAssignment(
  hub: InteractionDependencies,
  request: Extract<SlackRequest, { type: 'assign_owner' }>,
): Promise<InteractionReply> {
  const { credentialId, requestSeq, assignee, userId } = request;
  const deps = await inAccountOf(hub, credentialId);
  const attempt = { attempted: 'assign-owner' as const, credentialId, requestSeq, slackUserId: userId };
  const refusal =
    'refusal' in deps
      ? deps.refusal
      : checkAnswer(
          await deps.store.getState(credentialId),
          'assign-owner',
          requestSeq,
          answerContext(deps, userId),
        );
  if (refusal) {
    const overstepped = await queueRefusal(hub, refusal, attempt);
    await tell(hub.slack, request.responseUrl, refusal.reply);
    return { statusCode: 200, ...(overstepped && { refused: true }) };
  }
  const queued = await queueAnswerOnce(
    hub,
    [request.teamId ?? null, userId, 'assign-owner', credentialId, requestSeq, assignee],
    {
      action: 'assign-owner',
      credentialId,
      requestSeq,
      slackUserId: userId,
      assignee,
      ...clickedIn(request),
    },
  );
  await tell(
    hub.slack,
    request.responseUrl,
    queued ? `Assigning <@${assignee}> as the owner…` : ANSWER_RECEIVED,
  );
  return { statusCode: 200, ...(!queued && { replayed: true }) };
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
 * they are. *Approve* and the *Still needed* dialog take one lease of their own instead
 * (`queueAnswerOnce`), and the *Still needed* button only opens a dialog.
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

/** The *Still needed* dialog submitted: checked here under its account's policy, and queued for the worker to record. */
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
  const attempt = {
    attempted: 'still-needed' as const,
    credentialId: answer.credentialId,
    requestSeq: answer.requestSeq,
    slackUserId: request.userId,
  };
  const refusal =
    'refusal' in deps
      ? deps.refusal
      : checkAnswer(
          await deps.store.getState(answer.credentialId),
          'still-needed',
          answer.requestSeq,
          answerContext(deps, request.userId),
        );
  if (refusal) {
    const overstepped = await queueRefusal(hub, refusal, attempt);
    return { ...modalError('reason', refusal.reply), ...(overstepped && { refused: true }) };
  }
  // Recorded by the worker (a proposal when the tier needs a second approver), which then refreshes the
  // message or asks the approvers; should the request move on meanwhile, it tells the user so.
  const queued = await queueAnswerOnce(
    hub,
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

/** A request a bulk answer reaches: its state, the request shown, and the policy of its account that judges the answer. */
export interface OpenRequest {
  state: CredentialState;
  requestSeq: number;
  answering: AnswerPolicy;
}

/**
 * The requests a message showed that `userId` may still answer *Still needed* to: those of the request
 * the message showed, still open, and theirs or a delegate's (the buttons' own check), each judged under
 * its own account's policy (a message can show credentials of several accounts). A credential of an
 * account reauth does not cover is kept with its refusal, to be recorded. The endpoint reads it to
 * open and to check the bulk dialog; the worker reads it again to record the answers.
 */
export async function openInMessage(
  deps: AnswerPolicySource & { store: DecisionStore; now: () => Date },
  message: { channel: string; ts: string },
  userId: string,
): Promise<OpenRequest[]> {
  const shown = (await deps.store.messageRequests(message)) ?? [];
  const states = await deps.store.getStates(shown.map((r) => r.credentialId));
  const reached = await Promise.all(
    shown.map(async ({ credentialId, requestSeq }): Promise<OpenRequest | undefined> => {
      const state = states.get(credentialId);
      if (!state) return undefined;
      const answering = await answerPolicyFor(deps, credentialId, deps.now());
      const judge = 'refusal' in answering ? deps : { ...deps, ...answering };
      return checkAnswer(state, 'still-needed', requestSeq, answerContext(judge, userId))
        ? undefined
        : { state, requestSeq, answering };
    }),
  );
  return reached.filter((r) => r !== undefined);
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
  const reached = message ? await openInMessage(deps, message, request.userId) : [];
  const open = reached.flatMap(({ state, answering }) =>
    'refusal' in answering ? [] : [maxReauthorizeDays(state, answering.policy)],
  );
  if (!message || open.length === 0) {
    const refusal = reached.find((r) => 'refusal' in r.answering)?.answering;
    await tell(
      deps.slack,
      request.responseUrl,
      refusal && 'refusal' in refusal
        ? refusal.refusal.reply
        : 'Nothing in this message is waiting for an answer from you.',
    );
    return { statusCode: 200 };
  }
  await deps.slack.openView(
    request.triggerId,
    stillNeededAllModal({
      count: open.length,
      // One duration for all: the shortest any of their accounts allows (each is capped by its own anyway).
      maxDays: Math.min(...open),
      ...message,
      ...(request.responseUrl && { responseUrl: request.responseUrl }),
    }),
  );
  return { statusCode: 200 };
}

/**
/**
 * The *Still needed: all* dialog submitted, checked here request by request under each credential's
 * own account's policy: a refusal is queued for each credential of an account reauth does not cover,
 * and, when any request is still open for the submitter in a covered account, one job for the worker
 * to record them (each capped by its tier, a proposal where its tier wants a second approver, each its
 * own decision in its credential's chain: see use-cases/slack-answers.ts).
 */
async function handleStillNeededAll(
  hub: InteractionDependencies,
  request: Extract<SlackRequest, { type: 'view_submission' }>,
): Promise<InteractionReply> {
  let answer: ReturnType<typeof parseStillNeededAllSubmission>;
  try {
    answer = parseStillNeededAllSubmission(request);
  } catch (error) {
    if (!(error instanceof SlackRequestError)) throw error;
    return modalError('reason', 'Give a reason of at least 10 characters and choose a duration.');
  }
  const open = await openInMessage(hub, answer, request.userId);
  let refused = false;
  for (const { state, requestSeq, answering } of open) {
    if (!('refusal' in answering)) continue;
    const { credentialId } = state;
    const attempt = {
      attempted: 'still-needed' as const,
      credentialId,
      requestSeq,
      slackUserId: request.userId,
    };
    refused = (await queueRefusal(hub, answering.refusal, attempt)) || refused;
  }
  if (open.some(({ answering }) => !('refusal' in answering))) {
    await hub.queue.send({
      action: 'still-needed-all',
      slackUserId: request.userId,
      channel: answer.channel,
      ts: answer.ts,
      reason: answer.reason,
      days: answer.days,
      ...(answer.responseUrl && { responseUrl: answer.responseUrl }),
    });
  }
  return { statusCode: 200, body: { response_action: 'clear' }, ...(refused && { refused: true }) };
}

/**
 * Queues a refused attempt for the worker to record (once per user, credential and day): by someone
 * who may not answer, or for a credential of an account reauth does not cover. Whether it was one, or
 * a refusal not worth recording.
 */
async function queueRefusal(
  deps: InteractionDependencies,
  refusal: Refusal,
  attempt: Omit<ActionJob & { action: 'refusal' }, 'action'>,
): Promise<boolean> {
  // Otherwise an honest reply is enough: nobody overstepped, and nothing is asked of an uncovered account.
  if (refusal.why !== 'not-authorized' && refusal.why !== 'not-covered') return false;
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
    'assign-owner': 'assigning an owner to',
    'right-size': 'keeping only what it uses of',
    widen: 'widening',
  };
  return verbs[action];
}
