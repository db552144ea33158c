import * as z from 'zod';
import { EnforcerEnvShape, OrgModeEnvShape } from '../shared/env';
import { SlackEnvShape } from '../shared/slack-env';

/** The Slack action worker's environment contract. */
export const SlackWorkerEnvSchema = z.object({
  ...OrgModeEnvShape,
  ...EnforcerEnvShape,
  TABLE_NAME: z.string().min(1),
  POLICY_FILE: z.string().min(1),
  ...SlackEnvShape,
});
