import * as z from 'zod';

/** The organization's account lister's environment contract. */
export const OrgAccountsEnvSchema = z.object({
  /** Path of the policy JSON (its `organization` section selects the accounts). */
  POLICY_FILE: z.string().min(1),
});
export type OrgAccountsEnv = z.infer<typeof OrgAccountsEnvSchema>;
