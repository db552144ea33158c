import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { CREDENTIAL_ID_PATTERN } from '../domain/credential';

/**
 * Work a Slack click asks for that may outlast Slack's 3-second acknowledgement: IAM and Secrets
 * Manager changes, and refreshing the message once a decision is recorded.
 */
export const ActionJobSchema = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.enum(['rotate', 'disable', 'restore']),
    credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
    requestSeq: z.number().int().nonnegative(),
    slackUserId: z.string().min(1),
    responseUrl: z.url().optional(),
  }),
  z.strictObject({
    action: z.literal('request-approval'),
    credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
  }),
  z.strictObject({
    action: z.literal('refresh-message'),
    credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
    responseUrl: z.url().optional(),
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
