import { describe, expect, it } from 'vitest';
import type { LocatedAccount } from '../../lambdas/shared/adapters/organization';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { accountPolicy, answerPolicyFor } from '../../lambdas/shared/use-cases/account-policy';

const ROOT = 'r-ab12';
const STRICT = 'ou-ab12-stri0001';
const NOW = new Date('2026-12-10T09:00:00Z');

const policy = parsePolicyConfig({
  organization: {
    exclude: { accounts: ['333333333333'] },
    overrides: [
      {
        ous: [STRICT],
        mode: 'enforce',
        tiers: { standard: { reauthorizeForDays: 7, approvers: ['UAPPROVER'] } },
      },
    ],
  },
});
const hub = { policy, policyId: policyIdOf(policy) };

/** Where the Organizations API would place each account (as `accountLocator` answers). */
const places: Record<string, LocatedAccount> = {
  '111111111111': {
    inOrganization: true,
    target: { accountId: '111111111111', name: 'strict', ouPath: [ROOT, STRICT] },
  },
  '222222222222': {
    inOrganization: true,
    target: { accountId: '222222222222', name: 'plain', ouPath: [ROOT] },
  },
  '333333333333': { inOrganization: true },
};
const inOrganization = {
  ...hub,
  policyOf: accountPolicy(policy, async (accountId) => places[accountId] ?? { inOrganization: false }),
};
const key = (accountId: string) => `${accountId}:access-key:AKIAEXAMPLE0000000001`;

describe('answerPolicyFor', () => {
  it("judges every answer by the deployment's policy in single-account mode", async () => {
    expect(await answerPolicyFor(hub, key('111111111111'), NOW)).toEqual(hub);
  });

  it("judges an answer by its credential's account policy in an organization: its mode, cap and approvers", async () => {
    const strict = await answerPolicyFor(inOrganization, key('111111111111'), NOW);
    if (!('policy' in strict)) throw new Error('refused');
    expect(strict.policy.mode).toBe('enforce');
    expect(strict.policy.tiers.standard).toMatchObject({ reauthorizeForDays: 7, approvers: ['UAPPROVER'] });
    expect(strict.policyId).toBe(policyIdOf(strict.policy));
    expect(strict.policyId).not.toBe(hub.policyId);

    const plain = await answerPolicyFor(inOrganization, key('222222222222'), NOW);
    if (!('policy' in plain)) throw new Error('refused');
    expect(plain.policy.mode).toBe('report');
    expect(plain.policy.tiers.standard?.reauthorizeForDays).toBe(90);
    expect(plain.policy.tiers.standard?.approvers).toBeUndefined();
  });

  it('refuses a credential of an excluded account, or of one outside the organization', async () => {
    expect(await answerPolicyFor(inOrganization, key('333333333333'), NOW)).toEqual({
      refusal: {
        why: 'not-covered',
        reply:
          'account 333333333333 is not one of the accounts reauth covers in this organization: nothing was changed.',
      },
    });
    expect(await answerPolicyFor(inOrganization, key('999988887777'), NOW)).toEqual({
      refusal: {
        why: 'not-covered',
        reply: 'account 999988887777 is not in the organization: nothing was changed.',
      },
    });
  });
});
