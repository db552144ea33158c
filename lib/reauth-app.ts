import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadPolicyFile } from '../lambdas/shared/policy-file';
import { REPO_ROOT } from './reauth-function';
import { ReauthStack } from './reauth-stack';

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /**
   * The policy file.
   * @default `-c config=<path>`, else $REAUTH_CONFIG, else `reauth.config.json` at the repo root
   */
  readonly configPath?: string;
  /** @default the CLI's output directory, else a temporary one */
  readonly outdir?: string;
}

/**
 * Builds the reauth app: validates the policy (a bad one throws, naming each bad field) and adds
 * cdk-nag's AwsSolutions checks, whose unacknowledged findings fail synth.
 */
export function buildApp(options: BuildAppOptions = {}): { app: App; stack: ReauthStack } {
  const app = new App({
    outdir: options.outdir,
    // Defaults here rather than in cdk.json, so tests synthesize what `cdk synth` does.
    context: { '@aws-cdk/aws-iam:minimizePolicies': true, '@aws-cdk/core:checkSecretUsage': true },
  });
  const configPath = resolve(
    options.configPath ??
      app.node.tryGetContext('config') ??
      process.env.REAUTH_CONFIG ??
      resolve(REPO_ROOT, 'reauth.config.json'),
  );
  const policy = loadPolicyFile(configPath);
  const stack = new ReauthStack(app, 'Reauth', { policy, configPath });
  // The acknowledgements are also written into the template, as an audit trail of accepted findings.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
  return { app, stack };
}
