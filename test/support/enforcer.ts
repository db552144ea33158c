import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  createEnforcer,
  type Enforcer,
  type EnforcerOptions,
} from '../../lambdas/shared/adapters/enforcement';
import { createSessionPolicyWriter, reauthPolicies } from '../../lambdas/shared/adapters/session-policies';

/** The emulator's default account: where the clients of `useEmulator` act. */
export const EMULATOR_ACCOUNT = '123456789012';

/**
 * The enforcer a test drives directly, with the session policy writer in process (a handler reaches
 * the writer through its function, as in Lambda; see scripts/emulator/session-policies.ts).
 */
export function testEnforcer(
  clients: { iam: IAMClient; secretsManager: SecretsManagerClient },
  options: Omit<EnforcerOptions, 'policies'> & { accountId?: string } = {},
): Enforcer {
  const accountId = options.accountId ?? EMULATOR_ACCOUNT;
  const writer = createSessionPolicyWriter(clients.iam, { accountId });
  return createEnforcer(clients, {
    ...options,
    policies: reauthPolicies(accountId, writer.policyFor, undefined, writer.rightSizeFor),
  });
}
