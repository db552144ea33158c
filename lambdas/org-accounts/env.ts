import * as z from 'zod';

/** The org-accounts function's environment contract; `lib/` types the construct's `environment` from it. */
export const OrgAccountsEnvSchema = z.object({
  /** Path of the policy JSON (its `organization` section selects the accounts). */
  POLICY_FILE: z.string().min(1),
});
export type OrgAccountsEnv = z.infer<typeof OrgAccountsEnvSchema>;
