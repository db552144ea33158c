import { describe, expect, it } from 'vitest';
import {
  PolicyConfigError,
  parsePolicyConfig,
  parsePolicyConfigText,
  policyIdOf,
  revokesSessionsOn,
} from '../../lambdas/shared/domain/policy';

describe('policy config', () => {
  it('gives a working report-mode policy for an empty config', () => {
    const policy = parsePolicyConfig({});
    expect(policy.mode).toBe('report');
    expect(policy.tiers[policy.defaultTier]).toMatchObject({ idleDays: 90, graceDays: 14 });
    expect(policy.fallbackOwner).toBe('#security');
  });

  it('names the bad field in the error', () => {
    const bad = {
      tiers: {
        standard: {
          idleDays: 0,
          maxAgeDays: 1,
          graceDays: 1,
          reauthorizeForDays: 1,
          newCredentialGraceDays: 1,
        },
      },
    };
    expect(() => parsePolicyConfig(bad, 'reauth.config.json')).toThrow(
      /^reauth\.config\.json: tiers\.standard\.idleDays: /,
    );
  });

  it('refuses an unknown field, an unknown mode and a default tier that names no tier', () => {
    expect(() => parsePolicyConfig({ idleDay: 3 })).toThrow(/idleDay/);
    expect(() => parsePolicyConfig({ mode: 'yolo' })).toThrow(/mode: /);
    expect(() => parsePolicyConfig({ defaultTier: 'gold' })).toThrow(/defaultTier: names no tier/);
  });

  it('refuses an exemption whose match is a pattern, naming the field, for every principal or some', () => {
    const exemption = (match: string) => ({
      match,
      until: '2027-01-01',
      approver: 'U999',
      reason: 'migration',
    });
    const ok = exemption('ci-deployer');

    for (const match of ['*', '**', '*-*', '?*', 'ci-*', 'arn:aws:iam::123456789012:user/*']) {
      expect(() => parsePolicyConfig({ exemptions: [ok, exemption(match)] }, 'reauth.config.json')).toThrow(
        `reauth.config.json: exemptions[1].match: ${JSON.stringify(match)} is a pattern, but an exemption names one credential id or principal exactly`,
      );
    }
  });

  it('accepts exemptions naming one principal, access key or secret, and protected principals that cover everything', () => {
    const policy = parsePolicyConfig({
      exemptions: [
        {
          match: 'svc+etl=prod,eu.team@example-1_a',
          until: '2027-01-01',
          approver: 'U999',
          reason: 'a user',
        },
        {
          match: '123456789012:access-key:AKIAEXAMPLE',
          until: '2027-01-01',
          approver: 'U999',
          reason: 'a key',
        },
        {
          match: '123456789012:secret:arn:aws:secretsmanager:us-east-1:123456789012:secret:db/prod-AbCdEf',
          until: '2027-01-01T00:00:00Z',
          approver: 'U999',
          reason: 'a secret',
        },
      ],
      // Protecting everything only stops reauth from acting: it stays allowed.
      protectedPrincipals: ['*'],
    });

    expect(policy.exemptions).toHaveLength(3);
    expect(policy.protectedPrincipals).toEqual(['*']);
  });

  it('reports invalid JSON as such', () => {
    expect(() => parsePolicyConfigText('{ mode: report', 'x.json')).toThrow(PolicyConfigError);
    expect(() => parsePolicyConfigText('{ mode: report', 'x.json')).toThrow(/x\.json: not valid JSON/);
  });

  it('gives equal policies the same id whatever the key order, and different ones a different id', () => {
    const a = parsePolicyConfig({ mode: 'report', fallbackOwner: '#sec' });
    const b = parsePolicyConfig({ fallbackOwner: '#sec', mode: 'report' });
    expect(policyIdOf(a)).toBe(policyIdOf(b));
    expect(policyIdOf(a)).not.toBe(policyIdOf(parsePolicyConfig({ mode: 'enforce' })));
  });

  it('names third parties by account id in vendors, trimmed, refusing a malformed account id or an empty or long name', () => {
    const policy = parsePolicyConfig({ vendors: { '999988887777': '  Acme Monitoring ' } });
    expect(policy.vendors).toEqual({ '999988887777': 'Acme Monitoring' });

    expect(() => parsePolicyConfig({ vendors: { '9999-8888-7777': 'Acme' } }, 'reauth.config.json')).toThrow(
      'reauth.config.json: vendors.9999-8888-7777: not an AWS account id (12 digits)',
    );
    expect(() => parsePolicyConfig({ vendors: { '99998888777': 'Acme' } })).toThrow(
      /vendors\.99998888777: not an AWS account id/,
    );
    expect(() => parsePolicyConfig({ vendors: { '999988887777': '   ' } })).toThrow(
      /vendors\.999988887777: Too small/,
    );
    expect(() => parsePolicyConfig({ vendors: { '999988887777': 'x'.repeat(65) } })).toThrow(
      /vendors\.999988887777: Too big/,
    );
  });

  it('names the CI owners that are yours in trustedOidcOwners, trimmed, refusing an empty name or a pattern', () => {
    expect(parsePolicyConfig({}).trustedOidcOwners).toBeUndefined();
    expect(parsePolicyConfig({ trustedOidcOwners: [' acme ', 'acme-labs'] }).trustedOidcOwners).toEqual([
      'acme',
      'acme-labs',
    ]);

    expect(() => parsePolicyConfig({ trustedOidcOwners: ['*'] }, 'reauth.config.json')).toThrow(
      'reauth.config.json: trustedOidcOwners[0]: an owner name, not a pattern',
    );
    expect(() => parsePolicyConfig({ trustedOidcOwners: ['acme-*'] })).toThrow(/trustedOidcOwners\[0\]/);
    expect(() => parsePolicyConfig({ trustedOidcOwners: ['  '] })).toThrow(
      /trustedOidcOwners\[0\]: Too small/,
    );
  });

  it('ends sessions on a disable and a rotation by default, in enforce mode only, and never when told []', () => {
    const enforce = parsePolicyConfig({ mode: 'enforce' });
    expect(revokesSessionsOn(enforce, 'disable')).toBe(true);
    expect(revokesSessionsOn(enforce, 'rotate')).toBe(true);
    expect(revokesSessionsOn(parsePolicyConfig({}), 'disable')).toBe(false);
    const never = parsePolicyConfig({ mode: 'enforce', enforcement: { revokeSessionsOn: [] } });
    expect(revokesSessionsOn(never, 'disable')).toBe(false);
    // Trust changes end sessions only when named: not by default.
    expect(revokesSessionsOn(enforce, 'owner-departed')).toBe(false);
    expect(revokesSessionsOn(enforce, 'scope-changed')).toBe(false);
    const onEvents = parsePolicyConfig({
      mode: 'enforce',
      enforcement: { revokeSessionsOn: ['disable', 'owner-departed', 'scope-changed'] },
    });
    expect(revokesSessionsOn(onEvents, 'owner-departed')).toBe(true);
    expect(revokesSessionsOn(onEvents, 'scope-changed')).toBe(true);
    expect(revokesSessionsOn(onEvents, 'rotate')).toBe(false);
    expect(revokesSessionsOn({ ...onEvents, mode: 'report' }, 'owner-departed')).toBe(false);
    expect(() => parsePolicyConfig({ enforcement: { revokeSessionsOn: ['reauthorize'] } })).toThrow(
      /enforcement\.revokeSessionsOn\[0\]/,
    );
  });

  it('keeps the id of a policy that names no vendors and no trusted OIDC owners, so adding the fields re-flags nothing', () => {
    expect(policyIdOf(parsePolicyConfig({}))).toBe('sha256:3b35f9a923e4e5cc');
    expect(policyIdOf(parsePolicyConfig({ trustedOidcOwners: ['acme'] }))).not.toBe(
      'sha256:3b35f9a923e4e5cc',
    );
    expect(policyIdOf(parsePolicyConfig({ vendors: { '999988887777': 'Acme' } }))).not.toBe(
      'sha256:3b35f9a923e4e5cc',
    );
  });
});

describe('organization', () => {
  const SANDBOX = 'ou-ab12-sandbox1';
  const ACCOUNT = '111122223333';

  it('is absent by default (this account only), and fills its defaults when given', () => {
    expect(parsePolicyConfig({}).organization).toBeUndefined();
    expect(parsePolicyConfig({ organization: {} }).organization).toEqual({
      include: { ous: [], accounts: [] },
      exclude: { ous: [], accounts: [] },
      readerRoleName: 'reauth-reader',
      enforcerRoleName: 'reauth-enforcer',
      maxConcurrency: 200,
      toleratedFailurePercentage: 10,
      maxActionsPerRun: 100,
      overrides: [],
    });
  });

  it('names each bad field', () => {
    expect(() =>
      parsePolicyConfig({
        organization: {
          include: { ous: ['sandbox'] },
          exclude: { accounts: ['12345'] },
          maxConcurrency: 0,
          toleratedFailurePercentage: 101,
          overrides: [{ mode: 'enforce' }],
        },
      }),
    ).toThrowError(
      /organization\.include\.ous\[0\]: an OU id.*organization\.exclude\.accounts\[0\]: an AWS account id.*organization\.maxConcurrency.*organization\.toleratedFailurePercentage.*organization\.overrides\[0\]: an override names at least one OU or account/,
    );
  });

  it('refuses a readerRoleName the enforcer role has too, whatever the case, naming enforcerRoleName', () => {
    for (const names of [
      { readerRoleName: 'reauth-member', enforcerRoleName: 'reauth-member' },
      { readerRoleName: 'reauth-enforcer' },
      { readerRoleName: 'Reauth-Member', enforcerRoleName: 'reauth-member' },
    ]) {
      expect(() => parsePolicyConfig({ organization: names }, 'reauth.config.json')).toThrow(
        /^reauth\.config\.json: organization\.enforcerRoleName: "[\w-]+" is also readerRoleName: the read-only and the enforcer member roles need two names/,
      );
    }
  });

  it('refuses an exclude that leaves nothing of include, as the config alone tells, naming exclude', () => {
    const refusals = [
      // The root: every account is under it.
      [{ exclude: { ous: ['r-ab12'] } }, /organization\.exclude: names the root r-ab12/],
      [
        { include: { ous: [SANDBOX] }, exclude: { ous: ['r-ab12'], accounts: [ACCOUNT] } },
        /organization\.exclude: names the root r-ab12/,
      ],
      [
        {
          include: { ous: [SANDBOX], accounts: [ACCOUNT] },
          exclude: { ous: [SANDBOX], accounts: [ACCOUNT] },
        },
        /organization\.exclude: names every OU and account that include names: the organization section would cover no account/,
      ],
    ] as const;
    for (const [organization, error] of refusals) {
      expect(() => parsePolicyConfig({ organization })).toThrow(error);
    }
  });

  it('accepts an exclude that leaves some of include, or whose effect only the organization can tell', () => {
    for (const organization of [
      { include: { ous: [SANDBOX], accounts: [ACCOUNT] }, exclude: { ous: [SANDBOX] } },
      // Every account but the excluded OU's: whether that OU holds them all, only the listing tells.
      { exclude: { ous: [SANDBOX] } },
      // The account may be under the OU: only the listing tells.
      { include: { ous: [SANDBOX] }, exclude: { accounts: [ACCOUNT] } },
    ]) {
      expect(parsePolicyConfig({ organization }).organization?.exclude).toBeDefined();
    }
  });

  it('refuses an override defaultTier that names no tier, naming the field', () => {
    expect(() =>
      parsePolicyConfig(
        {
          organization: {
            overrides: [
              { ous: [SANDBOX], mode: 'enforce' },
              { ous: [SANDBOX], defaultTier: 'gold' },
            ],
          },
        },
        'reauth.config.json',
      ),
    ).toThrow(
      /^reauth\.config\.json: organization\.overrides\[1\]\.defaultTier: names no tier; tiers are: standard, critical/,
    );
  });

  it('accepts an override defaultTier naming a tier of the policy, or one the override defines in full', () => {
    const legacy = {
      idleDays: 400,
      maxAgeDays: 800,
      graceDays: 30,
      reauthorizeForDays: 180,
      newCredentialGraceDays: 30,
    };
    const policy = parsePolicyConfig({
      tiers: { legacy },
      organization: {
        overrides: [
          { ous: [SANDBOX], defaultTier: 'legacy' },
          { accounts: [ACCOUNT], tiers: { sandbox: { ...legacy, idleDays: 7 } }, defaultTier: 'sandbox' },
        ],
      },
    });
    expect(policy.organization?.overrides.map((o) => o.defaultTier)).toEqual(['legacy', 'sandbox']);
  });

  it('refuses a tier only an override defines and gives in part, naming it and the fields it lacks', () => {
    expect(() =>
      parsePolicyConfig(
        {
          organization: {
            overrides: [{ ous: [SANDBOX], tiers: { sandbox: { idleDays: 7, graceDays: 3 } } }],
          },
        },
        'reauth.config.json',
      ),
    ).toThrow(
      /^reauth\.config\.json: organization\.overrides\[0\]\.tiers\.sandbox: is no tier of the policy \(standard, critical\).*it lacks maxAgeDays, reauthorizeForDays, newCredentialGraceDays, so its credentials would never be flagged/,
    );
  });

  it('takes per-OU overrides of mode and tiers', () => {
    const policy = parsePolicyConfig({
      organization: {
        overrides: [{ ous: ['ou-ab12-cdefgh34'], mode: 'enforce', tiers: { standard: { idleDays: 30 } } }],
      },
    });
    expect(policy.organization?.overrides[0]).toMatchObject({
      ous: ['ou-ab12-cdefgh34'],
      accounts: [],
      mode: 'enforce',
      tiers: { standard: { idleDays: 30 } },
    });
  });
});
