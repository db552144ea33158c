import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { type PolicyConfig, PolicyConfigError, parsePolicyConfigText } from './domain/policy';

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
