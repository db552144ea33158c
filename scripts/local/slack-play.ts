/**
 * Plays Slack's side locally: the signed requests Slack sends when an owner clicks a button or submits
 * the *Still needed* dialog, as a Lambda Function URL delivers them; and the SQS delivery of queued
 * jobs to the worker. Used by the tests and by `npm start`.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ModalView } from '../../lambdas/shared/slack/messages';
import { signSlackRequest } from '../../lambdas/shared/slack/signature';

const FORM = 'application/x-www-form-urlencoded';

/** A Function URL event carrying `body`, signed with `signingSecret` at `at` (or not at all). */
export function slackEvent(
  body: string,
  options: { signingSecret: string; at: Date; contentType?: string; signature?: string },
): APIGatewayProxyEventV2 {
  const signed = signSlackRequest(body, options.signingSecret, Math.floor(options.at.getTime() / 1000));
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: {
      'content-type': options.contentType ?? FORM,
      ...signed,
      ...(options.signature !== undefined && { 'x-slack-signature': options.signature }),
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: 'local.lambda-url.us-east-1.on.aws',
      domainPrefix: 'local',
      http: {
        method: 'POST',
        path: '/',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'Slackbot 1.0',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: options.at.toUTCString(),
      timeEpoch: options.at.getTime(),
    },
    body,
    isBase64Encoded: false,
  };
}

/** The form body Slack posts when `userId` clicks a button whose value is `value`. */
export function buttonClickBody(input: {
  userId: string;
  actionId: string;
  value: string;
  responseUrl: string;
  channelId?: string;
  messageTs?: string;
  /** Slack's one-per-click id; a fresh one unless given (to play a copy of a click). */
  triggerId?: string;
  /** The click is in an ephemeral message (the `/reauth` list). */
  ephemeral?: boolean;
}): string {
  const payload = {
    type: 'block_actions',
    user: { id: input.userId, team_id: 'T0LOCAL' },
    team: { id: 'T0LOCAL' },
    trigger_id: input.triggerId ?? `${Date.now()}.local.${randomUUID()}`,
    response_url: input.responseUrl,
    container: {
      type: 'message',
      channel_id: input.channelId,
      message_ts: input.messageTs,
      ...(input.ephemeral && { is_ephemeral: true }),
    },
    actions: [{ type: 'button', action_id: input.actionId, value: input.value, block_id: 'b' }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/**
 * The form body Slack posts when `userId` chooses `selectedUser` in a `users_select` picker: the
 * choice as `selected_user`, and the picker's block id (no value, as Slack sends it).
 */
export function userSelectBody(input: {
  userId: string;
  actionId: string;
  blockId: string;
  selectedUser: string;
  responseUrl: string;
  channelId?: string;
  messageTs?: string;
  /** Slack's one-per-interaction id; a fresh one unless given (to play a copy). */
  triggerId?: string;
}): string {
  const payload = {
    type: 'block_actions',
    user: { id: input.userId, team_id: 'T0LOCAL' },
    team: { id: 'T0LOCAL' },
    trigger_id: input.triggerId ?? `${Date.now()}.local.${randomUUID()}`,
    response_url: input.responseUrl,
    container: { type: 'message', channel_id: input.channelId, message_ts: input.messageTs },
    actions: [
      {
        type: 'users_select',
        action_id: input.actionId,
        block_id: input.blockId,
        selected_user: input.selectedUser,
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** The form body Slack posts when `userId` types a slash command (`/reauth` unless told). */
export function slashCommandBody(input: {
  userId: string;
  text?: string;
  responseUrl: string;
  command?: string;
}): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0LOCAL',
    team_domain: 'local',
    channel_id: 'D0LOCAL',
    channel_name: 'directmessage',
    user_id: input.userId,
    user_name: input.userId.toLowerCase(),
    command: input.command ?? '/reauth',
    text: input.text ?? '',
    api_app_id: 'A0LOCAL',
    response_url: input.responseUrl,
    trigger_id: `${Date.now()}.local.${randomUUID()}`,
  }).toString();
}

/** The form body Slack posts when `userId` submits `view` (the *Still needed* dialog) with these answers. */
export function stillNeededSubmissionBody(input: {
  userId: string;
  view: ModalView;
  reason: string;
  days: number;
}): string {
  const payload = {
    type: 'view_submission',
    user: { id: input.userId, team_id: 'T0LOCAL' },
    view: {
      id: 'V0LOCAL',
      callback_id: input.view.callback_id,
      private_metadata: input.view.private_metadata,
      state: {
        values: {
          reason: { reason: { type: 'plain_text_input', value: input.reason } },
          days: { days: { type: 'static_select', selected_option: { value: String(input.days) } } },
        },
      },
    },
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** The value of the button `actionId` for `credentialId` in a posted message's blocks. */
export function buttonValue(blocks: unknown, actionId: string, credentialId: string): string {
  for (const block of (blocks ?? []) as { elements?: { action_id?: string; value?: string }[] }[]) {
    for (const element of block.elements ?? []) {
      if (element.action_id === actionId && element.value?.startsWith(`${credentialId}|`))
        return element.value;
    }
  }
  throw new Error(`no ${actionId} button for ${credentialId} in the message`);
}

/**
 * Delivers what is on the queue to `handler` as Lambda's SQS integration does, deleting what it
 * handled; returns how many messages were delivered.
 */
export async function drainQueue(
  sqs: SQSClient,
  queueUrl: string,
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>,
): Promise<number> {
  let delivered = 0;
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return delivered;
    const event: SQSEvent = { Records: Messages.map(sqsRecordOf) };
    const { batchItemFailures } = await handler(event);
    const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    if (failed.size > 0) throw new Error(`the worker failed ${failed.size} of ${Messages.length} jobs`);
    for (const m of Messages) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
    delivered += Messages.length;
  }
}

/** A received SQS message as Lambda's SQS integration hands it to a function. */
export function sqsRecordOf(message: Message): SQSRecord {
  return {
    messageId: message.MessageId ?? randomUUID(),
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:reauth-actions',
    awsRegion: 'us-east-1',
  };
}
