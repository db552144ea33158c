import { z } from 'zod';
import { SlackEnvShape } from '../shared/slack-env';

/** The trust-events consumer's environment contract. */
export const EventsEnvSchema = z.object({
  TABLE_NAME: z.string().min(1),
  POLICY_FILE: z.string().min(1),
  /** Without it, requests are recorded but nobody is told. */
  SLACK_SECRET_ARN: SlackEnvShape.SLACK_SECRET_ARN.optional(),
  SLACK_API_URL: SlackEnvShape.SLACK_API_URL,
  /** Where an event that fails validation goes, with its reason, instead of being retried. */
  INVALID_EVENTS_QUEUE_URL: z.url(),
});
