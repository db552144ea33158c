import { describe, expect, it } from 'vitest';
import { policyForAccount, selectAccounts } from '../../lambdas/shared/domain/organization';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';

const ROOT = 'r-ab12';
const PROD = 'ou-ab12-prod0001';
const PAYMENTS = 'ou-ab12-paym0001';
const SANDBOX = 'ou-ab12-sand0001';

const accounts = [
  { accountId: '111111111111', name: 'payments', ouPath: [ROOT, PROD, PAYMENTS] },
  { accountId: '222222222222', name: 'web', ouPath: [ROOT, PROD] },
  { accountId: '333333333333', name: 'sandbox', ouPath: [ROOT, SANDBOX] },
  { accountId: '444444444444', name: 'management', ouPath: [ROOT] },
];

function organization(section: Record<string, unknown>) {
  const policy = parsePolicyConfig({ organization: section });
  if (!policy.organization) throw new Error('no organization section');
  return { policy, organization: policy.organization };
}

describe('selectAccounts', () => {
  it('covers every account when include names none', () => {
    expect(selectAccounts(accounts, organization({}).organization)).toEqual(accounts);
  });

  it('includes an OU at any depth below it, and accounts by id', () => {
    const { organization: org } = organization({ include: { ous: [PROD], accounts: ['444444444444'] } });
    expect(selectAccounts(accounts, org).map((a) => a.name)).toEqual(['payments', 'web', 'management']);
  });

  it('lets exclude win over include, by OU or by id', () => {
    const { organization: org } = organization({
      include: { ous: [ROOT] },
      exclude: { ous: [PAYMENTS], accounts: ['333333333333'] },
    });
    expect(selectAccounts(accounts, org).map((a) => a.name)).toEqual(['web', 'management']);
  });
});

describe('policyForAccount', () => {
  it("keeps the policy's mode and tiers when no override names the account, and protects reauth's member roles", () => {
    const { policy } = organization({ overrides: [{ ous: [SANDBOX], mode: 'enforce' }] });
    const forAccount = policyForAccount(policy, { accountId: '111111111111', ouPath: [ROOT, PROD] });
    expect(forAccount).toEqual({
      ...policy,
      protectedPrincipals: [...policy.protectedPrincipals, 'reauth-reader', 'reauth-enforcer'],
    });
  });

  it('is the policy itself in single-account mode', () => {
    const policy = parsePolicyConfig({});
    expect(policyForAccount(policy, { accountId: '111111111111', ouPath: [] })).toBe(policy);
  });

  it('applies the overrides that name it, in order, the later winning', () => {
    const { policy } = organization({
      overrides: [
        { ous: [PROD], mode: 'enforce', tiers: { standard: { idleDays: 60 } } },
        {
          accounts: ['111111111111'],
          mode: 'report',
          tiers: { standard: { graceDays: 3 } },
          defaultTier: 'critical',
        },
      ],
    });

    const payments = policyForAccount(policy, { accountId: '111111111111', ouPath: [ROOT, PROD, PAYMENTS] });
    const web = policyForAccount(policy, { accountId: '222222222222', ouPath: [ROOT, PROD] });

    expect(payments).toMatchObject({ mode: 'report', defaultTier: 'critical' });
    // Tiers merge field by field: the OU's idleDays and the account's graceDays, the rest built-in.
    expect(payments.tiers.standard).toEqual({ ...policy.tiers.standard, idleDays: 60, graceDays: 3 });
    expect(web).toMatchObject({ mode: 'enforce', defaultTier: 'standard' });
    expect(web.tiers.standard).toEqual({ ...policy.tiers.standard, idleDays: 60 });
    expect(policy.mode).toBe('report');
    expect(policy.tiers.standard?.idleDays).toBe(90);
  });
});
