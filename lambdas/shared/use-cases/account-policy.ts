import type { LocatedAccount } from '../adapters/organization';
import { policyForAccount } from '../domain/organization';
import type { PolicyConfig } from '../domain/policy';

/** The policy of a credential's account, or why reauth does not act there. */
export type AccountPolicy = { policy: PolicyConfig } | { outside: string };

/**
 * Org mode, for the Slack functions: the policy of the account a credential is in (its id starts the
 * credentialId), `policyForAccount` from the account's OU path; an account the organization section
 * does not cover is refused with its reason.
 */
export function accountPolicy(
  policy: PolicyConfig,
  locate: (accountId: string, now: Date) => Promise<LocatedAccount>,
): (accountId: string, now: Date) => Promise<AccountPolicy> {
  return async (accountId, now) => {
    const { target, inOrganization } = await locate(accountId, now);
    if (target) return { policy: policyForAccount(policy, target) };
    return {
      outside: inOrganization
        ? `account ${accountId} is not one of the accounts reauth covers in this organization: nothing was changed.`
        : `account ${accountId} is not in the organization: nothing was changed.`,
    };
  };
}
