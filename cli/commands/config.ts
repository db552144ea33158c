import type { Command } from 'commander';
import { policyIdOf } from '../../lambdas/shared/domain/policy';
import { policyWarnings } from '../../lambdas/shared/domain/policy-warnings';
import { loadPolicyFile } from '../../lambdas/shared/policy-file';
import type { Outcome } from '../output';

interface CheckOptions {
  config: string;
  json?: boolean;
}

export function registerConfig(program: Command, outcome: Outcome): void {
  const config = program
    .command('config')
    .summary('check a policy file')
    .description('Commands about the policy file (reauth.config.json).');
  config
    .command('check')
    .summary('validate a policy file and print the effective policy')
    .description(
      'Validates a policy file as `cdk synth` and the Lambdas do, and prints the effective policy with every default filled in (tiers merged over the built-in ones) and its PolicyId. Exit 1 naming each bad field. Warns (on stderr; exit 0) of settings that change nothing, such as an expired exemption.',
    )
    .option('--config <file>', 'the policy file', 'reauth.config.json')
    .option('--json', 'print { file, policyId, warnings, policy } as JSON')
    .action((options: CheckOptions) => {
      const policy = loadPolicyFile(options.config);
      const policyId = policyIdOf(policy);
      const warnings = policyWarnings(policy, new Date());
      if (options.json) {
        console.log(JSON.stringify({ file: options.config, policyId, warnings, policy }, null, 2));
      } else {
        for (const { field, message } of warnings) console.error(`reauth: warning: ${field}: ${message}`);
        console.log(
          `${options.config} is a valid policy (PolicyId ${policyId}). In effect, with every default:\n${JSON.stringify(policy, null, 2)}`,
        );
      }
      outcome.code = 0;
    });
}
