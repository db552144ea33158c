import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { CREDENTIAL_ID_PATTERN } from '../domain/credential';
import { MAX_REASON_LENGTH, MAX_SUBMITTED_DAYS, MIN_REASON_LENGTH } from '../slack/messages';

/**
 * Work a Slack click asks for that may outlast Slack's 3-second acknowledgement, or that the
 * internet-facing endpoint may not do itself: IAM and Secrets Manager changes, recording answers
 * (only the worker writes a credential's items), and refreshing the message once one is recorded.
 */
/**
 * Where a click came from, so the message it was in is the one rebuilt: the message's channel and ts,
 * or `listing` for the caller's ephemeral `/reauth` list (rebuilt by listing again).
 */
const ClickedIn = {
  responseUrl: z.url().optional(),
  channel: z.string().min(1).optional(),
  ts: z.string().min(1).optional(),
  listing: z.literal(true).optional(),
};

/** A *Still needed* answer as the dialog takes it: the worker caps `days` by the credential's tier. */
const StillNeededAnswer = {
  slackUserId: z.string().min(1),
  reason: z.string().trim().min(MIN_REASON_LENGTH).max(MAX_REASON_LENGTH),
  days: z.number().int().min(1).max(MAX_SUBMITTED_DAYS),
};

export const ActionJobSchema = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.enum(['rotate', 'disable', 'restore', 'right-size', 'widen']),
    credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
    requestSeq: z.number().int().nonnegative(),
    slackUserId: z.string().min(1),
    ...ClickedIn,
  }),
  // Answers that change only the record. The endpoint checked each against what it read; the worker
  // records it, judging it again against the state it writes on (see use-cases/slack-answers.ts).
  z.strictObject({
    action: z.literal('still-needed'),
    credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
    requestSeq: z.number().int().nonnegative(),
    ...StillNeededAnswer,
    ...ClickedIn,
  }),
  z.strictObject({
    /** *Still needed: all open here*: every request the message shows that the user may still answer. */
    action: z.literal('still-needed-all'),
    channel: z.string().min(1),
    ts: z.string().min(1),
    responseUrl: z.url().optional(),
    ...StillNeededAnswer,
  }),
  z.strictObject({
    /** A security approver named the owner of an orphaned credential (*Assign owner*). */
    action: z.literal('assign-owner'),
    credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
    requestSeq: z.number().int().nonnegative(),
    slackUserId: z.string().min(1),
    assignee: z.string().regex(/^[UW][A-Z0-9]{2,20}$/),
    ...ClickedIn,
  }),
  z.strictObject({
    action: z.literal('approve'),
    credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
    requestSeq: z.number().int().nonnegative(),
    slackUserId: z.string().min(1),
    responseUrl: z.url().optional(),
  }),
  z.strictObject({
    /** Someone tried to answer for a credential they may not answer for: recorded once a user and day. */
    action: z.literal('refusal'),
    attempted: z.enum([
      'still-needed',
      'rotate',
      'disable',
      'restore',
      'approve',
      'assign-owner',
      'right-size',
      'widen',
    ]),
    credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
    requestSeq: z.number().int().nonnegative(),
    slackUserId: z.string().min(1),
  }),
  z.strictObject({
    action: z.literal('request-approval'),
    credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
  }),
  z.strictObject({
    action: z.literal('refresh-message'),
    credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
    /** Who answered: whose `/reauth` list is rebuilt when the answer came from one. */
    slackUserId: z.string().min(1).optional(),
    /**
     * Whom the clicked message addresses, when it is no longer the credential's owner: the fallback
     * owner, once a security approver assigned an owner in its message.
     * @default the credential's owner
     */
    recipient: z.string().min(1).optional(),
    ...ClickedIn,
  }),
  z.strictObject({
    action: z.literal('list-requests'),
    slackUserId: z.string().min(1),
    responseUrl: z.url(),
    page: z.number().int().positive(),
    /** Replace the list the caller is looking at (a page turned, an answer given) rather than add one. */
    replace: z.boolean(),
    /** The caller's listing lease (see `LIST_LEASE_MS`), given back once the list is posted. */
    lease: z.strictObject({ name: z.string().min(1), holder: z.string().min(1) }).optional(),
  }),
]);
export type ActionJob = z.infer<typeof ActionJobSchema>;

export interface ActionQueue {
  send(job: ActionJob): Promise<void>;
}

export function createActionQueue(sqs: SQSClient, queueUrl: string): ActionQueue {
  return {
    async send(job) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(job) }));
    },
  };
}
