import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IamEventForwarderStack } from './iam-event-forwarder';
import { REPO_ROOT } from './reauth-function';
import { ReauthStack } from './reauth-stack';
import { IAM_EVENTS_REGION } from './trust-events';

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /**
   * The policy file.
   * @default `-c config=<path>`, else $REAUTH_CONFIG, else `reauth.config.json` at the repo root
   */
  readonly configPath?: string;
  /** @default the CLI's output directory, else a temporary one */
  readonly outdir?: string;
  /**
   * The region the Reauth stack is deployed to. Outside us-east-1 (where alone IAM's CloudTrail events
   * reach EventBridge) the app adds the `ReauthIamEventForwarder` stack, in us-east-1.
   * @default `-c homeRegion=<region>`, else the CDK CLI's region ($CDK_DEFAULT_REGION), else `us-east-1`
   */
  readonly homeRegion?: string;
  /**
   * Other AWS accounts (comma-separated) whose HR and ITSM systems may put reauth's own events on its bus.
   * @default `-c eventPublishers=111111111111,222222222222`, else none
   */
  readonly eventPublishers?: string;
  /**
   * Bundle the Lambdas with esbuild. `false` synthesizes the same template with placeholder assets
   * (CDK's own `aws:cdk:bundling-stacks` context, as `cdk deploy --exclusively` uses for the stacks it
   * skips), for tests about the template: seconds instead of a bundle per function per synth.
   * @default true
   */
  readonly bundling?: boolean;
  /**
   * Starts the physical names (bus, dashboard, Slack secret) and, unless `reauth`, the stack names
   * (`Reauth-<prefix>`), so two copies fit in one account and region.
   * @default `-c namePrefix=<prefix>`, else `reauth`
   */
  readonly namePrefix?: string;
  /**
   * Use this existing Slack secret (such as one a destroyed stack retained) instead of creating one.
   * @default `-c slackSecretName=<name>`, else a new secret
   */
  readonly slackSecretName?: string;
  /**
   * The AWS Organization's id (`o-…`), when the policy has an `organization` section.
   * @default `-c organizationId=<id>`, else none
   */
  readonly organizationId?: string;
  /**
   * The organization's root id (`r-…`), where the member StackSet deploys when the policy's
   * `organization.include` names no OU (or names accounts).
   * @default `-c organizationRootId=<id>`, else none
   */
  readonly organizationRootId?: string;
}

/** What {@link buildApp} built. */
export interface BuiltApp {
  readonly app: App;
  readonly stack: ReauthStack;
  /** Only when the home region is not us-east-1. */
  readonly forwarder?: IamEventForwarderStack;
}

const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/**
 * Builds the reauth app: validates the policy (a bad one throws, naming each bad field), adds the IAM
 * event forwarder stack when the home region is not us-east-1, and adds
 * cdk-nag's AwsSolutions checks, whose unacknowledged findings fail synth.
 */
export function buildApp(options: BuildAppOptions = {}): BuiltApp {
  const app = new App({
    outdir: options.outdir,
    // cdk.json's feature flags here too, so tests synthesize what `cdk synth` does.
    context: {
      ...projectContext(),
      ...(options.bundling === false && { [BUNDLING_STACKS]: [] }),
    },
  });
  const configPath = resolve(
    options.configPath ??
      app.node.tryGetContext('config') ??
      process.env.REAUTH_CONFIG ??
      resolve(REPO_ROOT, 'reauth.config.json'),
  );
  // The stack is bound to its home region, so the IAM rule and the forwarder always match where it
  // runs: `-c homeRegion`, else the region the CDK CLI deploys to (the profile's), else us-east-1.
  const homeRegion: string =
    options.homeRegion ??
    app.node.tryGetContext('homeRegion') ??
    process.env.CDK_DEFAULT_REGION ??
    IAM_EVENTS_REGION;
  if (!REGION_NAME.test(homeRegion)) {
    throw new Error(`homeRegion: "${homeRegion}" is not an AWS region name (such as eu-west-1)`);
  }
  const publishers: string = options.eventPublishers ?? app.node.tryGetContext('eventPublishers') ?? '';
  const eventPublisherAccounts = publishers
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  for (const account of eventPublisherAccounts) {
    if (!/^\d{12}$/.test(account)) {
      throw new Error(`eventPublishers: "${account}" is not an AWS account id (12 digits)`);
    }
  }
  const namePrefix: string = options.namePrefix ?? app.node.tryGetContext('namePrefix') ?? 'reauth';
  const slackSecretName: string | undefined =
    options.slackSecretName ?? app.node.tryGetContext('slackSecretName');
  // The first copy keeps the stack names it always had; another prefix is another pair of stacks.
  const suffix = namePrefix === 'reauth' ? '' : `-${namePrefix}`;
  const stack = new ReauthStack(app, `Reauth${suffix}`, {
    policy: configPath,
    namePrefix,
    homeRegion,
    eventPublisherAccounts,
    slackSecretName,
    organizationId: options.organizationId ?? app.node.tryGetContext('organizationId'),
    organizationRootId: options.organizationRootId ?? app.node.tryGetContext('organizationRootId'),
  });
  const forwarder =
    homeRegion === IAM_EVENTS_REGION
      ? undefined
      : new IamEventForwarderStack(app, `ReauthIamEventForwarder${suffix}`, {
          homeRegion,
          busName: namePrefix,
        });
  // The acknowledgements are also written into the template, as an audit trail of accepted findings.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
  return { app, stack, forwarder };
}

/** The `context` of the project's cdk.json: the feature flags `cdk init` wrote for this CDK version. */
function projectContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}
