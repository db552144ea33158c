import * as z from 'zod';

/** The session policy writer's environment contract. */
export const SessionPoliciesEnvSchema = z.object({
  /**
   * Organization mode: the member role (`<enforcerRoleName>-sessions`) it assumes to write in a member
   * account. Absent: it writes in its own account only.
   */
  MEMBER_ROLE_NAME: z
    .string()
    .regex(/^[\w+=,.@-]{1,64}$/)
    .optional(),
});
