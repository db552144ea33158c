import * as z from 'zod';
import { OrgModeEnvShape } from '../shared/env';
import { SlackEnvShape } from '../shared/slack-env';

/** The Slack interaction endpoint's environment contract. */
export const SlackEndpointEnvSchema = z.object({
  ...OrgModeEnvShape,
  TABLE_NAME: z.string().min(1),
  POLICY_FILE: z.string().min(1),
  ...SlackEnvShape,
  /** Where clicks that change IAM or Secrets Manager are queued for the worker. */
  ACTION_QUEUE_URL: z.url(),
});
