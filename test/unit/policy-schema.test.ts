import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIERS,
  POLICY_CONFIG_SCHEMA_FILE,
  parsePolicyConfig,
  parsePolicyConfigText,
  policyConfigJsonSchema,
  policyIdOf,
} from '../../lambdas/shared/domain/policy';

const repoFile = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('the policy file JSON Schema', () => {
  it('is the JSON Schema generated from the zod schema the policy is validated with (npm run schemas)', () => {
    expect(JSON.parse(repoFile(POLICY_CONFIG_SCHEMA_FILE))).toEqual(policyConfigJsonSchema());
  });

  it('is what the sample reauth.config.json names as its $schema, which is no part of the policy', () => {
    const sample = JSON.parse(repoFile('reauth.config.json'));
    const { $schema, ...rest } = sample;

    expect($schema).toBe(`./${POLICY_CONFIG_SCHEMA_FILE}`);
    expect(policyIdOf(parsePolicyConfigText(repoFile('reauth.config.json')))).toBe(
      policyIdOf(parsePolicyConfig(rest)),
    );
    expect(parsePolicyConfigText(repoFile('reauth.config.json'))).not.toHaveProperty('$schema');
  });
});

describe('tiers in the policy file', () => {
  it('merge a built-in tier field by field: the fields given replace, the rest stay built-in', () => {
    const policy = parsePolicyConfig({ tiers: { critical: { idleDays: 15, approvers: ['U123'] } } });

    expect(policy.tiers).toEqual({
      standard: DEFAULT_TIERS.standard,
      critical: { ...DEFAULT_TIERS.critical, idleDays: 15, approvers: ['U123'] },
    });
  });

  it('add a new tier beside the built-in ones, which must give every required field', () => {
    const legacy = {
      idleDays: 400,
      maxAgeDays: 800,
      graceDays: 30,
      reauthorizeForDays: 180,
      newCredentialGraceDays: 30,
    };

    expect(parsePolicyConfig({ tiers: { legacy }, defaultTier: 'legacy' }).tiers).toEqual({
      ...DEFAULT_TIERS,
      legacy,
    });
    expect(() => parsePolicyConfig({ tiers: { legacy: { idleDays: 400 } } })).toThrow(
      /tiers\.legacy\.maxAgeDays: .*tiers\.legacy\.graceDays: /,
    );
  });

  it('name only the bad field of a partial built-in tier, not the default tier as well', () => {
    expect(() => parsePolicyConfig({ tiers: { standard: { idleDays: 0 } } })).toThrow(
      /^policy config: tiers\.standard\.idleDays: Too small: expected number to be >0$/,
    );
  });

  it('keep the policy id of a policy that sets no tiers', () => {
    expect(parsePolicyConfig({}).tiers).toEqual(DEFAULT_TIERS);
    expect(policyIdOf(parsePolicyConfig({ tiers: {} }))).toBe(policyIdOf(parsePolicyConfig({})));
  });
});
