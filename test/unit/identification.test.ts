import { describe, expect, it } from 'vitest';
import known from '../../data/known-aws-accounts/accounts.json';
import type { Credential } from '../../lambdas/shared/domain/credential';
import {
  describeTrust,
  identify,
  KNOWN_AWS_ACCOUNTS,
  shortName,
} from '../../lambdas/shared/domain/identification';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';

const DATADOG = '464622532012';
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
    expect(Object.keys(KNOWN_AWS_ACCOUNTS).length).toBeGreaterThan(400);
    expect(() => parsePolicyConfig({ vendors: KNOWN_AWS_ACCOUNTS })).not.toThrow();
  });
});
