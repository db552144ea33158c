import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { PolicyConfigInput } from '../lambdas/shared/domain/policy';
import { Reauth, type ReauthProps } from './reauth';
import { IAM_EVENTS_REGION } from './trust-events';

/** Properties of the {@link ReauthStack}. */
export interface ReauthStackProps extends StackProps, Omit<ReauthProps, 'homeRegion'> {
  /** The policy file (or the policy itself). */
  readonly policy: string | PolicyConfigInput;
  /**
   * The region this stack is deployed to, and bound to (its `env.region`). IAM's CloudTrail events
   * reach EventBridge only in us-east-1: elsewhere the IAM rule listens on the reauth bus, fed by the
   * `ReauthIamEventForwarder` stack.
   * @default 'us-east-1'
   */
  readonly homeRegion?: string;
  /** The name of an existing Slack secret to use, when `slackSecret` is not given. @default a new secret */
  readonly slackSecretName?: string;
}

/**
 * The deployable reauth app's stack: one {@link Reauth} construct, bound to its home region (where
 * IAM's events must arrive), any account, and the outputs an operator needs.
 */
export class ReauthStack extends Stack {
  readonly reauth: Reauth;

  constructor(scope: Construct, id: string, props: ReauthStackProps) {
    const {
      policy,
      namePrefix,
      alarmTopic,
      slackSecret,
      slackSecretName,
      homeRegion = IAM_EVENTS_REGION,
      eventPublisherAccounts,
      organizationId,
      organizationRootId,
      ...stackProps
    } = props;
    super(scope, id, { ...stackProps, env: { ...stackProps.env, region: homeRegion } });
    // 'Default' leaves the construct out of every logical id, so a stack deployed before the construct
    // existed updates in place.
    this.reauth = new Reauth(this, 'Default', {
      policy,
      namePrefix,
      alarmTopic,
      slackSecret:
        slackSecret ??
        (slackSecretName ? Secret.fromSecretNameV2(this, 'SlackSecretImport', slackSecretName) : undefined),
      homeRegion,
      eventPublisherAccounts,
      organizationId,
      organizationRootId,
    });
    const { mode } = this.reauth.policy;
    this.templateOptions.description = `reauth: finds stale machine credentials, asks their owners in Slack to reauthorize them, records every decision and ${mode === 'enforce' ? 'disables or rotates what nobody vouches for' : 'changes nothing in IAM or Secrets Manager'} (${mode} mode)`;

    new CfnOutput(this, 'TableName', { value: this.reauth.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', {
      description:
        'Subscribe (email, chat) to hear when a job fails or cannot be started, a Slack action fails, or a safety rail holds enforcement back',
      value: this.reauth.alarmTopic.topicArn,
    });
    new CfnOutput(this, 'CheckpointKeyArn', {
      description:
        "Signs each scan's population record: reauth verify --key-id <it> checks the signatures (kms:GetPublicKey), or --public-key with its public key exported",
      value: this.reauth.checkpointKey.key.keyArn,
    });
    new CfnOutput(this, 'ScanFunctionName', { value: this.reauth.scanJob.function.function.functionName });
    new CfnOutput(this, 'EnforceFunctionName', {
      value: this.reauth.enforceJob.function.function.functionName,
    });
    new CfnOutput(this, 'SlackInteractionUrl', {
      description:
        "The Slack app's Request URL for interactivity and /reauth: replace both URLs in slack/manifest.json with it",
      value: this.reauth.slackEndpoint.interactionUrl,
    });
    new CfnOutput(this, 'SlackSecretArn', {
      description:
        'Put the Slack app\'s signing secret and bot token here: {"signingSecret": "...", "botToken": "xoxb-..."}',
      value: this.reauth.slackSecret.secretArn,
    });
    new CfnOutput(this, 'EventBusName', {
      description:
        "HR and ITSM systems PutEvents here: source 'reauth', detail-type Owner Departed, Owner Role Changed, Purpose Changed or Provider Scope Changed",
      value: this.reauth.trustEvents.bus.eventBusName,
    });
    new CfnOutput(this, 'EventBusArn', {
      description:
        'Grant events:PutEvents on this ARN to the HR and ITSM systems that report owner, purpose and scope changes',
      value: this.reauth.trustEvents.bus.eventBusArn,
    });
    new CfnOutput(this, 'EvidenceBucketName', {
      description:
        "The decision table's compliance exports (DynamoDB JSON), under exports/full/ and exports/incremental/",
      value: this.reauth.evidence.bucket.bucketName,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description:
        'Credentials by state, findings, notifications, reauthorizations, disables, overdue, job errors and every alarm',
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.reauth.dashboard.dashboard.dashboardName}`,
    });
    new CfnOutput(this, 'PolicyId', {
      description: 'Recorded as policyId on every decision made under this policy',
      value: this.reauth.policyId,
    });
  }
}
