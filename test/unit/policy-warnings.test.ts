import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePolicyConfig, parsePolicyConfigText } from '../../lambdas/shared/domain/policy';
import { policyWarnings } from '../../lambdas/shared/domain/policy-warnings';

const NOW = new Date('2026-12-10T12:00:00.000Z');
const SANDBOX = 'ou-ab12-sandbox1';
const warningsOf = (config: unknown) => policyWarnings(parsePolicyConfig(config), NOW);
const exemption = (until: string) => ({ match: 'migration-bot', until, approver: 'U999', reason: 'SEC-1' });

describe('policy warnings: valid settings that change nothing', () => {
  it('are none for the empty policy and for the sample reauth.config.json', () => {
    const sample = readFileSync(new URL('../../reauth.config.json', import.meta.url), 'utf8');

    expect(warningsOf({})).toEqual([]);
    expect(policyWarnings(parsePolicyConfigText(sample), NOW)).toEqual([]);
  });

  it('name enforcement.revokeSessionsOn set in report mode, unless an override puts an account in enforce mode', () => {
    const revoking = { enforcement: { revokeSessionsOn: ['disable', 'owner-departed'] } };

    expect(warningsOf(revoking)).toEqual([
      {
        field: 'enforcement.revokeSessionsOn',
        message:
          'ends no session in report mode (nothing in IAM changes), and no override puts an account in enforce mode',
      },
    ]);
    expect(warningsOf({ ...revoking, enforcement: { revokeSessionsOn: [] } })).toHaveLength(1);
    expect(warningsOf({ ...revoking, mode: 'enforce' })).toEqual([]);
    expect(
      warningsOf({ ...revoking, organization: { overrides: [{ ous: [SANDBOX], mode: 'enforce' }] } }),
    ).toEqual([]);
  });

  it('name an exemption whose until has passed, by its index, and not one still in force', () => {
    const warnings = warningsOf({
      exemptions: [exemption('2027-01-01'), exemption('2026-12-10'), exemption('2026-12-10T12:00:01Z')],
    });

    expect(warnings).toEqual([
      {
        field: 'exemptions[1].until',
        message: '2026-12-10 has passed: the exemption of "migration-bot" exempts nothing',
      },
    ]);
  });

  it('name an override that sets nothing, and one that selects only excluded accounts', () => {
    const warnings = warningsOf({
      organization: {
        exclude: { accounts: ['111122223333'], ous: ['ou-ab12-legacy01'] },
        overrides: [
          { ous: [SANDBOX] },
          { ous: [SANDBOX], tiers: { standard: {} } },
          { ous: ['ou-ab12-legacy01'], accounts: ['111122223333'], mode: 'enforce' },
          { ous: [SANDBOX], accounts: ['111122223333'], mode: 'enforce' },
        ],
      },
    });

    expect(warnings).toEqual([
      {
        field: 'organization.overrides[0]',
        message: 'sets no mode, tiers or defaultTier: it changes nothing',
      },
      {
        field: 'organization.overrides[1]',
        message: 'sets no mode, tiers or defaultTier: it changes nothing',
      },
      {
        field: 'organization.overrides[2]',
        message: 'selects only what organization.exclude leaves out: it applies to no account reauth covers',
      },
    ]);
  });

  it('do not refuse the policy: it parses, as synth and a cold start parse it', () => {
    const config = {
      exemptions: [exemption('2020-01-01')],
      enforcement: { revokeSessionsOn: ['disable'] },
      organization: { overrides: [{ ous: [SANDBOX] }] },
    };

    expect(() => parsePolicyConfig(config)).not.toThrow();
    expect(warningsOf(config).map((w) => w.field)).toEqual([
      'enforcement.revokeSessionsOn',
      'exemptions[0].until',
      'organization.overrides[0]',
    ]);
  });
});
