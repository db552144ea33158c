import * as z from 'zod';

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** Validates a function's environment against its contract; fails loudly, naming each bad variable. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigurationError(`bad environment: ${problems.join('; ')}`, { cause: result.error });
  }
  return result.data;
}

/**
 * `ORG_MODE=true`: the function works for the member accounts of an organization (the policy's
 * `organization` section), one account per event, through the member roles. Absent: its own account.
 */
export const OrgModeEnvShape = {
  ORG_MODE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
};

/**
 * What the enforcer attaches: `DISABLE_POLICY_NAME`, the stack's deny-all policy under `/reauth/`
 * (in this account; a member account's is always `reauth-disabled`), and `SESSION_POLICIES_FUNCTION`,
 * the session policy writer's function, which it invokes to have a `reauth-sessions-before-…` policy
 * made (it cannot make one itself). Both are set in enforce mode only.
 */
export const EnforcerEnvShape = {
  DISABLE_POLICY_NAME: z
    .string()
    .regex(/^[A-Za-z][\w-]*-disabled$/)
    .default('reauth-disabled'),
  SESSION_POLICIES_FUNCTION: z.string().min(1).optional(),
};

/**
 * `CHECKPOINT_KEY_ID`: the stack's asymmetric KMS key the scan and enforce jobs sign each population
 * record with (`domain/checkpoint.ts`). Absent (a deployment without one, the local emulator): records
 * are written unsigned, and `reauth verify` with a public key says so.
 */
export const CheckpointEnvShape = {
  CHECKPOINT_KEY_ID: z.string().min(1).optional(),
};
