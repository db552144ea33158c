import * as z from 'zod';
import { CheckpointEnvShape, EnforcerEnvShape, OrgModeEnvShape } from '../shared/env';
import { SlackEnvShape } from '../shared/slack-env';

/** The scan function's environment contract; `lib/` types the construct's `environment` from it. */
export const ScanEnvSchema = z.object({
  /** The decision table. */
  TABLE_NAME: z.string().min(1),
  /** Path of the policy JSON. In Lambda it is bundled beside the handler (relative to the task root). */
  POLICY_FILE: z.string().min(1),
  /** Without it, findings are recorded but nobody is told. */
  SLACK_SECRET_ARN: SlackEnvShape.SLACK_SECRET_ARN.optional(),
  SLACK_API_URL: SlackEnvShape.SLACK_API_URL,
  ...OrgModeEnvShape,
  ...EnforcerEnvShape,
  ...CheckpointEnvShape,
});
export type ScanEnv = z.infer<typeof ScanEnvSchema>;
