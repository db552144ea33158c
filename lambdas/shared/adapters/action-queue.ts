import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { CREDENTIAL_ID_PATTERN } from '../domain/credential';

/**
 * Work a Slack click asks for that may outlast Slack's 3-second acknowledgement: IAM and Secrets
 * Manager changes, and refreshing the message once a decision is recorded.
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

export const ActionJobSchema = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.enum(['rotate', 'disable', 'restore']),
    credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
    requestSeq: z.number().int().nonnegative(),
    slackUserId: z.string().min(1),
    ...ClickedIn,
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
