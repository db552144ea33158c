import * as z from 'zod';
import { EnforcerEnvShape, OrgModeEnvShape } from '../shared/env';
import { SlackEnvShape } from '../shared/slack-env';

/** The trust-events consumer's environment contract. */
export const EventsEnvSchema = z.object({
  ...OrgModeEnvShape,
  ...EnforcerEnvShape,
  TABLE_NAME: z.string().min(1),
  POLICY_FILE: z.string().min(1),
  /** Without it, requests are recorded but nobody is told. */
  SLACK_SECRET_ARN: SlackEnvShape.SLACK_SECRET_ARN.optional(),
  SLACK_API_URL: SlackEnvShape.SLACK_API_URL,
  /** Where an event that fails validation goes, with its reason, instead of being retried. */
  INVALID_EVENTS_QUEUE_URL: z.url(),
  /** The consumer's own queue: a change that reaches many principals is sent back to it in parts. */
  TRUST_EVENTS_QUEUE_URL: z.url(),
  /**
   * The roles of reauth's functions that change IAM and Secrets Manager (the enforce job's, the Slack
   * worker's), comma-separated: a CloudTrail change is reauth's own only when one of them made it.
   */
  REAUTH_ROLE_ARNS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((arn) => arn.trim())
        .filter((arn) => arn.length > 0),
    )
    .pipe(z.array(z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/, 'not an IAM role ARN')).min(1)),
});
