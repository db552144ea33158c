import * as z from 'zod';
import { answerInputs, type ModalView, StillNeededValuesSchema } from './messages';
import { type SlackRequest, SlackRequestError } from './request';

export const STILL_NEEDED_ALL_CALLBACK_ID = 'reauth:still-needed-all';

/**
 * The dialog that button opens: one reason and one duration for the `count` requests of the message
 * still open for the clicker. Each is then recorded as its own decision, in its own hash chain.
 */
export function stillNeededAllModal(input: {
  count: number;
  maxDays: number;
  channel: string;
  ts: string;
  responseUrl?: string;
}): ModalView {
  return {
    type: 'modal',
    callback_id: STILL_NEEDED_ALL_CALLBACK_ID,
    private_metadata: JSON.stringify({
      channel: input.channel,
      ts: input.ts,
      responseUrl: input.responseUrl,
    }),
    title: { type: 'plain_text', text: 'Still needed: all' },
    submit: { type: 'plain_text', text: 'Reauthorize all' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `Keep the *${input.count}* credentials still open in this message working, for one reason and one duration. Each is recorded as its own decision.`,
        },
      },
      ...answerInputs(input.maxDays),
    ],
  };
}

const MetadataSchema = z.object({
  channel: z.string().min(1),
  ts: z.string().min(1),
  responseUrl: z.string().min(1).optional(),
});

/** Reads a submitted *Still needed: all* dialog; the caller caps `days` per credential by its tier. */
export function parseStillNeededAllSubmission(req: Extract<SlackRequest, { type: 'view_submission' }>): {
  channel: string;
  ts: string;
  responseUrl?: string;
  reason: string;
  days: number;
} {
  let metadataJson: unknown;
  try {
    metadataJson = JSON.parse(req.privateMetadata);
  } catch {
    throw new SlackRequestError('private_metadata is not JSON');
  }
  const metadata = MetadataSchema.safeParse(metadataJson);
  const values = StillNeededValuesSchema.safeParse(req.values);
  if (req.callbackId !== STILL_NEEDED_ALL_CALLBACK_ID || !metadata.success || !values.success) {
    throw new SlackRequestError('malformed still-needed-all submission');
  }
  return {
    ...metadata.data,
    reason: values.data.reason.reason.value,
    days: values.data.days.days.selected_option.value,
  };
}
