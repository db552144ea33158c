import * as z from 'zod';
import { OrgModeEnvShape } from '../shared/env';
import { SlackEnvShape } from '../shared/slack-env';

/** The Slack action worker's environment contract. */
export const SlackWorkerEnvSchema = z.object({
  ...OrgModeEnvShape,
  TABLE_NAME: z.string().min(1),
  POLICY_FILE: z.string().min(1),
  ...SlackEnvShape,
});
