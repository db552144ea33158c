import * as z from 'zod';

/** The Slack variables a function may take: the secret (signing secret, bot token or webhook URL). */
export const SlackEnvShape = {
  /** ARN of the Slack secret: JSON `{ signingSecret, botToken?, webhookUrl? }`. */
  SLACK_SECRET_ARN: z.string().min(1),
  /** Slack's Web API base URL; set only to point at a stand-in (the tests' fake Slack). */
  SLACK_API_URL: z.url().optional(),
};
