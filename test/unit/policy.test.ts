import { describe, expect, it } from 'vitest';
import {
  PolicyConfigError,
  parsePolicyConfig,
  parsePolicyConfigText,
  policyIdOf,
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
});
