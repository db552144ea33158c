import * as z from 'zod';

/** The organization's account lister's environment contract. */
export const OrgAccountsEnvSchema = z.object({
  /** Path of the policy JSON (its `organization` section selects the accounts). */
  POLICY_FILE: z.string().min(1),
  /**
   * The fan-out's bucket: each run's account list (the Distributed Map's ItemReader reads it) and the
   * organization's account ids go under `runs/<runId>/`, never into a state.
   */
  RUNS_BUCKET: z.string().min(1),
});
export type OrgAccountsEnv = z.infer<typeof OrgAccountsEnvSchema>;
