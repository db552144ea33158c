import { excludesAllOf, isExemptionInForce, type PolicyConfig } from './policy';

/** A setting that is valid but changes nothing: worth saying, never a reason to refuse the policy. */
export interface PolicyWarning {
  /** The field as it reads in the JSON, e.g. `exemptions[0].until`. */
  field: string;
  message: string;
}

/**
 * The settings of a valid policy that do nothing at `now`: `reauth config check` prints them. Synth and
 * cold start do not fail on them, since each is harmless, and some are meant ahead of a change (an
 * exemption is written before its expiry is noticed; `revokeSessionsOn` before the switch to enforce).
 */
export function policyWarnings(policy: PolicyConfig, now: Date): PolicyWarning[] {
  const warnings: PolicyWarning[] = [];
  const overrides = policy.organization?.overrides ?? [];

  // Overrides change the mode per account, never revokeSessionsOn: an account they put in enforce
  // mode ends sessions as the policy says.
  if (
    policy.enforcement.revokeSessionsOn !== undefined &&
    policy.mode === 'report' &&
    !overrides.some((override) => override.mode === 'enforce')
  ) {
    warnings.push({
      field: 'enforcement.revokeSessionsOn',
      message:
        'ends no session in report mode (nothing in IAM changes), and no override puts an account in enforce mode',
    });
  }

  for (const [index, exemption] of policy.exemptions.entries()) {
    if (isExemptionInForce(exemption, now)) continue;
    warnings.push({
      field: `exemptions[${index}].until`,
      message: `${exemption.until} has passed: the exemption of ${JSON.stringify(exemption.match)} exempts nothing`,
    });
  }

  for (const [index, override] of overrides.entries()) {
    const field = `organization.overrides[${index}]`;
    const setsTiers = Object.values(override.tiers ?? {}).some((tier) => Object.keys(tier).length > 0);
    if (override.mode === undefined && override.defaultTier === undefined && !setsTiers) {
      warnings.push({ field, message: 'sets no mode, tiers or defaultTier: it changes nothing' });
    } else if (policy.organization && excludesAllOf(override, policy.organization.exclude)) {
      warnings.push({
        field,
        message: 'selects only what organization.exclude leaves out: it applies to no account reauth covers',
      });
    }
  }
  return warnings;
}
