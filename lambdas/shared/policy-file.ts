import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import {
  type OrganizationConfig,
  type PolicyConfig,
  PolicyConfigError,
  parsePolicyConfigText,
} from './domain/policy';

/**
 * Reads and validates the policy JSON. A relative path is resolved against the Lambda task root
 * (where the bundle ships it) or, outside Lambda, the working directory.
 */
export function loadPolicyFile(path: string): PolicyConfig {
  const full = isAbsolute(path) ? path : resolve(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (error) {
    throw new PolicyConfigError(`cannot read the policy file ${full}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parsePolicyConfigText(text, full);
}

/** The policy's organization section, which an org-mode function cannot run without. */
export function requireOrganization(policy: PolicyConfig): OrganizationConfig {
  if (!policy.organization)
    throw new PolicyConfigError('ORG_MODE=true, and the policy has no "organization" section');
  return policy.organization;
}
