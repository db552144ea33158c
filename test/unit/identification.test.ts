import { describe, expect, it } from 'vitest';
import known from '../../data/known-aws-accounts/accounts.json';
import type { Credential } from '../../lambdas/shared/domain/credential';
import {
  AWS_SERVICE_ACCOUNTS,
  describeTrust,
  identify,
  KNOWN_VENDOR_ACCOUNTS,
  shortName,
} from '../../lambdas/shared/domain/identification';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';

const DATADOG = '464622532012';
// AWS's Elastic Load Balancing log delivery account in us-east-1 (fwdcloudsec/known_aws_accounts, `type: aws`).
const ELB_LOGS = '127311923021';
const role: Credential = {
  accountId: '123456789012',
  kind: 'role',
  id: 'monitoring',
  principal: 'monitoring',
  principalArn: 'arn:aws:iam::123456789012:role/monitoring',
  createdAt: new Date('2026-01-01T00:00:00Z'),
  tags: {},
  trustedAccounts: [DATADOG, '111122223333', '999988887777'],
  requiresExternalId: true,
};

describe('identify', () => {
  it("names a trusted account from the policy's vendors first, else from the shipped list of known accounts", () => {
    const shipped = identify(role, { '999988887777': 'Acme' });
    const overridden = identify(role, { [DATADOG]: 'Datadog (EU)' });

    expect(shipped.vendors).toEqual({ [DATADOG]: 'Datadog', '999988887777': 'Acme' });
    expect(overridden.vendors).toEqual({ [DATADOG]: 'Datadog (EU)' });
    expect(describeTrust(shipped)).toBe(
      `${DATADOG} (Datadog), 111122223333, 999988887777 (Acme); ExternalId required`,
    );
  });

  it('names an account AWS owns as the service it belongs to, never as a vendor, whatever the policy says', () => {
    const backdoored = { ...role, trustedAccounts: [ELB_LOGS, DATADOG] };

    const identified = identify(backdoored, { [ELB_LOGS]: 'Acme Log Shipping' });

    expect(identified.vendors).toEqual({ [DATADOG]: 'Datadog' });
    expect(identified.awsServiceAccounts).toEqual({ [ELB_LOGS]: 'ELB logs' });
    expect(describeTrust(identified)).toBe(
      `${ELB_LOGS} (owned by AWS for ELB logs: never a vendor), ${DATADOG} (Datadog); ExternalId required`,
    );
    expect(identify(role).awsServiceAccounts).toBeUndefined();
  });

  it('lists ten trusted accounts and counts the rest', () => {
    const many = Array.from({ length: 13 }, (_, i) => String(100000000000 + i));

    expect(describeTrust(identify({ ...role, trustedAccounts: many }))).toMatch(
      /^100000000000, .*, 100000000009 and 3 more; ExternalId required$/,
    );
  });

  it("gives an access key its creation and where it was last used, and no role's fields", () => {
    const key: Credential = {
      accountId: '123456789012',
      kind: 'access-key',
      principal: 'ci',
      principalArn: 'arn:aws:iam::123456789012:user/ci',
      createdAt: new Date('2026-02-03T04:05:06Z'),
      lastUsedService: 's3',
      lastUsedRegion: 'eu-west-1',
      tags: {},
    };

    expect(identify(key)).toEqual({
      createdAt: '2026-02-03T04:05:06.000Z',
      lastUsedService: 's3',
      lastUsedRegion: 'eu-west-1',
    });
  });
});

describe('shortName', () => {
  it('keeps a name that fits, and the start and end of one that does not, in exactly the limit', () => {
    const name = `prod/${'a'.repeat(500)}/db-password`;

    expect(shortName('prod/db')).toBe('prod/db');
    expect(shortName(name)).toHaveLength(150);
    expect(shortName(name)).toMatch(/^prod\/a+…a+\/db-password$/);
    expect(shortName(name, 20)).toBe('prod/aaaaa…-password');
  });
});

describe('the shipped list of known AWS accounts', () => {
  it('names its source, commit and licence, and every entry is one the policy could hold', () => {
    expect(known).toMatchObject({
      source: 'https://github.com/fwdcloudsec/known_aws_accounts',
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
      license: expect.stringContaining('Apache-2.0'),
    });
    expect(Object.keys(KNOWN_VENDOR_ACCOUNTS).length).toBeGreaterThan(250);
    expect(() => parsePolicyConfig({ vendors: KNOWN_VENDOR_ACCOUNTS })).not.toThrow();
  });

  it("keeps AWS's own service accounts apart from vendors: no account is both, and no vendor is AWS's", () => {
    const vendors = Object.keys(KNOWN_VENDOR_ACCOUNTS);
    const services = Object.keys(AWS_SERVICE_ACCOUNTS);

    expect(services.length).toBeGreaterThan(150);
    expect(vendors.filter((account) => account in AWS_SERVICE_ACCOUNTS)).toEqual([]);
    expect(Object.values(KNOWN_VENDOR_ACCOUNTS).filter((name) => /^AWS\b/.test(name))).toEqual([]);
    // Log delivery (ELB, Redshift), CloudTrail and GuardDuty are among them.
    expect(Object.values(AWS_SERVICE_ACCOUNTS)).toEqual(
      expect.arrayContaining(['ELB logs', 'Redshift logging', 'CloudTrail', 'GuardDuty service accounts']),
    );
    expect(AWS_SERVICE_ACCOUNTS[ELB_LOGS]).toBe('ELB logs');
  });
});
