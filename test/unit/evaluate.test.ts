import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/shared/domain/credential';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { describeFinding, evaluateCredential, matchesPattern } from '../../lambdas/shared/domain/evaluate';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';

const NOW = new Date('2026-11-22T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);
const policy = parsePolicyConfig({ protectedPrincipals: ['break-glass-*'] });

function key(overrides: Partial<Credential> = {}): Credential {
  return {
    accountId: '123456789012',
    kind: 'access-key',
    id: 'AKIAEXAMPLE000000001',
    keySlot: 1,
    principal: 'ci-deployer',
    principalArn: 'arn:aws:iam::123456789012:user/ci-deployer',
    createdAt: daysAgo(200),
    lastRotatedAt: daysAgo(200),
    lastUsedAt: daysAgo(1),
    tags: { 'reauth:owner': 'U0123' },
    ...overrides,
  };
}

function state(overrides: Partial<CredentialState>): CredentialState {
  return {
    credentialId: '123456789012:access-key:AKIAEXAMPLE000000001',
    accountId: '123456789012',
    kind: 'access-key',
    principal: 'ci-deployer',
    owner: 'U0123',
    status: 'active',
    triggers: [],
    updatedAt: daysAgo(10).toISOString(),
    seq: 1,
    lastHash: 'a'.repeat(64),
    ...overrides,
  };
}

describe('evaluateCredential', () => {
  it('leaves a busy, owned, recently created key alone', () => {
    const result = evaluateCredential(
      key({ createdAt: daysAgo(30), lastRotatedAt: daysAgo(30) }),
      undefined,
      policy,
      NOW,
    );
    expect(result).toEqual({
      outcome: 'ok',
      owner: 'U0123',
      ownerSource: { source: 'tag', via: 'reauth:owner' },
    });
  });

  it('flags a key unused for longer than its tier allows, with the idle days as evidence', () => {
    const result = evaluateCredential(
      key({ createdAt: daysAgo(100), lastUsedAt: daysAgo(91) }),
      undefined,
      policy,
      NOW,
    );
    expect(result.outcome).toBe('finding');
    if (result.outcome !== 'finding') return;
    expect(result.triggers).toEqual(['idle']);
    expect(result.evidence).toMatchObject({
      idleDays: 91,
      tier: 'standard',
      lastUsedAt: daysAgo(91).toISOString(),
    });
    expect(describeFinding(result)).toBe('unused for 91 days (tier standard allows 90)');
  });

  it('uses the tier named by the tier tag', () => {
    const result = evaluateCredential(
      key({
        createdAt: daysAgo(60),
        lastRotatedAt: daysAgo(60),
        lastUsedAt: daysAgo(45),
        tags: { 'reauth:owner': 'U1', 'reauth:tier': 'critical' },
      }),
      undefined,
      policy,
      NOW,
    );
    expect(result.outcome === 'finding' && result.triggers).toEqual(['idle']);
  });

  it('falls back to the default tier for an unknown tier tag and says so', () => {
    const result = evaluateCredential(
      key({ lastUsedAt: daysAgo(100), tags: { 'reauth:owner': 'U1', 'reauth:tier': 'gold' } }),
      undefined,
      policy,
      NOW,
    );
    expect(result.outcome === 'finding' && result.evidence).toMatchObject({
      tier: 'standard',
      unknownTier: 'gold',
    });
  });

  it('counts a never-used credential from its creation, after the new-credential grace', () => {
    const young = evaluateCredential(
      key({ createdAt: daysAgo(10), lastUsedAt: undefined }),
      undefined,
      policy,
      NOW,
    );
    const old = evaluateCredential(
      key({ createdAt: daysAgo(20), lastUsedAt: undefined }),
      undefined,
      policy,
      NOW,
    );
    expect(young.outcome).toBe('ok');
    expect(old.outcome === 'finding' && old.evidence).toMatchObject({ idleDays: 20, lastUsedAt: null });
  });

  it('flags a key not rotated within maxAgeDays but never a role', () => {
    const oldKey = evaluateCredential(
      key({ createdAt: daysAgo(400), lastRotatedAt: daysAgo(400) }),
      undefined,
      policy,
      NOW,
    );
    const oldRole = evaluateCredential(
      key({ kind: 'role', id: 'vendor', createdAt: daysAgo(400), lastRotatedAt: undefined }),
      undefined,
      policy,
      NOW,
    );
    expect(oldKey.outcome === 'finding' && oldKey.triggers).toEqual(['max-age']);
    expect(oldRole.outcome).toBe('ok');
  });

  it('marks a credential without an owner tag orphaned, owned by the fallback owner', () => {
    const result = evaluateCredential(key({ tags: {} }), undefined, policy, NOW);
    expect(result).toMatchObject({ outcome: 'finding', triggers: ['orphaned'], owner: '#security' });
  });

  it('takes the first owner tag key that has a value', () => {
    const result = evaluateCredential(
      key({ tags: { 'reauth:owner': ' ', owner: 'alice@example.com' } }),
      undefined,
      policy,
      NOW,
    );
    expect(result.owner).toBe('alice@example.com');
  });

  it('skips a protected principal whatever its triggers', () => {
    const result = evaluateCredential(
      key({ principal: 'break-glass-admin', tags: {} }),
      undefined,
      policy,
      NOW,
    );
    expect(result).toEqual({
      outcome: 'protected',
      owner: '#security',
      ownerSource: { source: 'fallback' },
      pattern: 'break-glass-*',
    });
  });

  it('skips a credential with an approved, unexpired exemption, and flags it once the exemption ends', () => {
    const exempting = parsePolicyConfig({
      exemptions: [{ match: 'ci-deployer', until: '2026-12-31', approver: 'U999', reason: 'migration' }],
    });
    const during = evaluateCredential(key({ lastUsedAt: daysAgo(300) }), undefined, exempting, NOW);
    const after = evaluateCredential(
      key({ lastUsedAt: daysAgo(300) }),
      undefined,
      exempting,
      new Date('2027-01-02'),
    );
    expect(during).toMatchObject({ outcome: 'exempt', until: '2026-12-31', approver: 'U999' });
    expect(after.outcome).toBe('finding');
  });

  it('never lets a tag grant an exemption: the request is shown, the credential still flagged', () => {
    const tagged = key({
      lastUsedAt: daysAgo(300),
      tags: { owner: 'U042', 'reauth:exempt': 'until 2030, ask Bob' },
    });
    const result = evaluateCredential(tagged, undefined, policy, NOW);
    expect(result.outcome).toBe('finding');
    if (result.outcome !== 'finding') return;
    expect(result.evidence.exemptionRequested).toBe('until 2030, ask Bob');
    expect(describeFinding(result)).toMatch(/exemption was requested by tag .* tags cannot grant one/);
  });

  it('trusts a reauthorization until it is due, then asks again with review-due', () => {
    const idle = key({ lastUsedAt: daysAgo(120) });
    const vouched = evaluateCredential(idle, state({ reviewDueAt: daysAgo(-5).toISOString() }), policy, NOW);
    const due = evaluateCredential(idle, state({ reviewDueAt: daysAgo(1).toISOString() }), policy, NOW);
    expect(vouched.outcome).toBe('ok');
    expect(due.outcome === 'finding' && due.triggers).toEqual(['review-due', 'idle']);
  });

  it('evaluates each key on its own dates', () => {
    const busy = evaluateCredential(key({ keySlot: 1, lastUsedAt: daysAgo(1) }), undefined, policy, NOW);
    const idle = evaluateCredential(key({ keySlot: 2, lastUsedAt: daysAgo(150) }), undefined, policy, NOW);
    expect(busy.outcome === 'finding' && busy.triggers).not.toContain('idle');
    expect(idle.outcome === 'finding' && idle.evidence).toMatchObject({ keySlot: 2, idleDays: 150 });
  });
});

describe('matchesPattern', () => {
  it('treats * as a wildcard and everything else literally', () => {
    expect(matchesPattern('break-glass-*', 'break-glass-admin')).toBe(true);
    expect(matchesPattern('a.b', 'axb')).toBe(false);
    expect(matchesPattern('arn:aws:iam::*:role/reauth-*', 'arn:aws:iam::123456789012:role/reauth-scan')).toBe(
      true,
    );
  });
});

describe("reauth's own credentials", () => {
  it('protects the Slack secret the stack creates, whatever the policy says', () => {
    const slackSecret: Credential = {
      accountId: '123456789012',
      kind: 'secret',
      id: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:reauth/slack-AbCdEf',
      principal: 'reauth/slack',
      principalArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:reauth/slack-AbCdEf',
      createdAt: new Date('2025-01-01'),
      tags: {},
    };
    const noProtection = parsePolicyConfig({ protectedPrincipals: [] });
    expect(evaluateCredential(slackSecret, undefined, noProtection, new Date('2026-11-22'))).toMatchObject({
      outcome: 'protected',
      pattern: 'reauth/slack',
    });
  });
});

describe('evaluateCredential on console passwords', () => {
  function password(overrides: Partial<Credential> = {}): Credential {
    return key({
      kind: 'password',
      id: 'alice',
      keySlot: undefined,
      principal: 'alice',
      principalArn: 'arn:aws:iam::123456789012:user/alice',
      createdAt: daysAgo(400),
      lastRotatedAt: daysAgo(400),
      ...overrides,
    });
  }

  it('flags a password unused for 45 days (IAM.22, CIS 1.12), though the tier allows keys 90', () => {
    const at44 = evaluateCredential(password({ lastUsedAt: daysAgo(44) }), undefined, policy, NOW);
    const at45 = evaluateCredential(password({ lastUsedAt: daysAgo(45) }), undefined, policy, NOW);
    expect(at44.outcome).toBe('ok');
    expect(at45.outcome).toBe('finding');
    if (at45.outcome !== 'finding') return;
    expect(at45.triggers).toEqual(['idle']);
    expect(at45.evidence).toMatchObject({ idleDays: 45, limits: { idleDays: 45 } });
    expect(at45.evidence.rotationAgeDays).toBeUndefined();
    expect(describeFinding(at45)).toBe('unused for 45 days (tier standard allows 45)');
  });

  it("takes the tier's passwordIdleDays when it gives one", () => {
    const strict = parsePolicyConfig({ tiers: { standard: { passwordIdleDays: 10 } } });
    const result = evaluateCredential(password({ lastUsedAt: daysAgo(10) }), undefined, strict, NOW);
    expect(result.outcome === 'finding' && describeFinding(result)).toBe(
      'unused for 10 days (tier standard allows 10)',
    );
  });

  it('flags a password never used past the new-credential grace since it was set', () => {
    const inGrace = evaluateCredential(
      password({ createdAt: daysAgo(13), lastUsedAt: undefined }),
      undefined,
      policy,
      NOW,
    );
    const past = evaluateCredential(
      password({ createdAt: daysAgo(14), lastUsedAt: undefined }),
      undefined,
      policy,
      NOW,
    );
    expect(inGrace.outcome).toBe('ok');
    expect(past.outcome === 'finding' && past.triggers).toEqual(['idle']);
  });

  it('asks nothing of a password for its age alone: no max-age', () => {
    const result = evaluateCredential(
      password({ createdAt: daysAgo(3000), lastRotatedAt: daysAgo(3000), lastUsedAt: daysAgo(1) }),
      undefined,
      policy,
      NOW,
    );
    expect(result.outcome).toBe('ok');
  });
});

describe('evaluateCredential on status credentials (certificates, SSH keys, service-specific credentials)', () => {
  function statusCredential(kind: Credential['kind'], overrides: Partial<Credential> = {}): Credential {
    return key({
      kind,
      id: 'APKAEXAMPLE0000000001',
      keySlot: undefined,
      principal: 'alice',
      principalArn: 'arn:aws:iam::123456789012:user/alice',
      createdAt: daysAgo(400),
      lastRotatedAt: daysAgo(400),
      lastUsedAt: undefined,
      ...overrides,
    });
  }

  it.each(['signing-certificate', 'ssh-key', 'service-credential'] as const)(
    'flags a %s by its age past the tier maxAgeDays, never as idle (IAM records no use of it)',
    (kind) => {
      const young = evaluateCredential(
        statusCredential(kind, { createdAt: daysAgo(364), lastRotatedAt: daysAgo(364) }),
        undefined,
        policy,
        NOW,
      );
      const old = evaluateCredential(statusCredential(kind), undefined, policy, NOW);
      // 364 days without a recorded use would be idle for a key: here it asks nothing.
      expect(young.outcome).toBe('ok');
      expect(old.outcome).toBe('finding');
      if (old.outcome !== 'finding') return;
      expect(old.triggers).toEqual(['max-age']);
      expect(old.evidence).toMatchObject({
        rotationAgeDays: 400,
        lastUsedAt: null,
        limits: { maxAgeDays: 365 },
      });
      expect(old.evidence.limits.idleDays).toBeUndefined();
      expect(describeFinding(old)).toBe('not rotated for 400 days (tier standard allows 365)');
    },
  );

  it("takes the tier's userCredentialMaxAgeDays when it gives one, for these kinds only", () => {
    const strict = parsePolicyConfig({ tiers: { standard: { userCredentialMaxAgeDays: 30 } } });
    const result = evaluateCredential(
      statusCredential('ssh-key', { createdAt: daysAgo(30), lastRotatedAt: daysAgo(30) }),
      undefined,
      strict,
      NOW,
    );
    expect(result.outcome === 'finding' && describeFinding(result)).toBe(
      'not rotated for 30 days (tier standard allows 30)',
    );
    const accessKey = evaluateCredential(
      key({ createdAt: daysAgo(30), lastRotatedAt: daysAgo(30), lastUsedAt: daysAgo(1) }),
      undefined,
      strict,
      NOW,
    );
    expect(accessKey.outcome).toBe('ok');
  });
});
