import type { LocatedAccount } from '../adapters/organization';
import { parseCredentialId } from '../domain/credential';
import { policyForAccount } from '../domain/organization';
import { type PolicyConfig, policyIdOf } from '../domain/policy';
import type { Refusal } from '../domain/reauthorization';

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

/** What an answer is judged under: the policy of its credential's account, or a refusal. */
export type AnswerPolicy =
  | { policy: PolicyConfig; policyId: string }
  | { refusal: Extract<Refusal, { why: 'not-covered' }> };

/** Where `answerPolicyFor` finds policies: the deployment's, and in org mode each account's. */
export interface AnswerPolicySource {
  policy: PolicyConfig;
  policyId: string;
  /**
   * Org mode: the policy of a credential's account (see `accountPolicy`): its mode, tiers and approvers.
   * @default none: every credential is under `policy`
   */
  policyOf?: (accountId: string, now: Date) => Promise<AccountPolicy>;
}

/**
 * The one place an owner's answer learns which policy judges it, whatever path it came by: a click,
 * the single or the bulk *Still needed* dialog, an approval, a job the worker runs, `/reauth`'s list.
 * A credential answers to its own account's policy (mode, the tier's reauthorization cap and second
 * approver), never the hub's: an account that allows 7 days and wants an approver gets 7 days and an
 * approver however the answer arrived. A credential of an account reauth does not cover (excluded, or
 * no longer in the organization) is refused, and the caller records the refusal.
 */
export async function answerPolicyFor(
  source: AnswerPolicySource,
  credentialId: string,
  now: Date,
): Promise<AnswerPolicy> {
  if (!source.policyOf) return { policy: source.policy, policyId: source.policyId };
  const account = await source.policyOf(parseCredentialId(credentialId).accountId, now);
  return 'outside' in account
    ? { refusal: { why: 'not-covered', reply: account.outside } }
    : { policy: account.policy, policyId: policyIdOf(account.policy) };
}

/**
 * What each of `accountIds`' deadlines does, for the messages that tell of credentials there: its
 * account's mode, looked up once an account. An account reauth does not cover is told as report mode:
 * reauth disables nothing there.
 */
export async function modesOf(
  source: AnswerPolicySource,
  accountIds: Iterable<string>,
  now: Date,
): Promise<(accountId: string) => PolicyConfig['mode']> {
  const modes = new Map<string, PolicyConfig['mode']>();
  if (source.policyOf) {
    for (const accountId of new Set(accountIds)) {
      const account = await source.policyOf(accountId, now);
      modes.set(accountId, 'outside' in account ? 'report' : account.policy.mode);
    }
  }
  return (accountId) => modes.get(accountId) ?? source.policy.mode;
}
