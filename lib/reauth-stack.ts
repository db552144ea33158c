import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { type PolicyConfig, policyIdOf } from '../lambdas/shared/domain/policy';
import { DecisionTable } from './decision-table';
import { ScanJob } from './scan-job';

/** Properties of the {@link ReauthStack}. */
export interface ReauthStackProps extends StackProps {
  /** The validated policy; the stack records its id and mode. */
  readonly policy: PolicyConfig;
  /** The policy file it was read from, shipped to the Lambdas as is. */
  readonly configPath: string;
}

/** reauth in one account: the decision table, the daily scan and the alarm topic. Environment-agnostic. */
export class ReauthStack extends Stack {
  /** Every reauth alarm publishes here; subscribe the security team to it. */
  readonly alarmTopic: Topic;
  readonly table: DecisionTable;
  readonly scanJob: ScanJob;

  constructor(scope: Construct, id: string, props: ReauthStackProps) {
    super(scope, id, {
      description: `reauth: finds stale machine credentials and records every reauthorization decision (${props.policy.mode} mode)`,
      ...props,
    });
    this.table = new DecisionTable(this, 'DecisionTable');

    // A customer key: CloudWatch can publish to an encrypted topic only if the key policy lets it,
    // and the AWS managed SNS key's policy cannot be changed.
    const alarmKey = new Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the reauth alarm topic',
      enableKeyRotation: true,
    });
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    alarmKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'reauth alarms',
      masterKey: alarmKey,
      enforceSSL: true,
    });
    // The SSL-only topic policy replaces the default one, so CloudWatch's publish is allowed explicitly.
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );

    this.scanJob = new ScanJob(this, 'ScanJob', {
      table: this.table,
      policyFile: props.configPath,
      alarmTopic: this.alarmTopic,
    });

    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'Subscribe (email, chat) to hear when a scan fails or cannot be started',
      value: this.alarmTopic.topicArn,
    });
    new CfnOutput(this, 'ScanFunctionName', { value: this.scanJob.function.function.functionName });
    new CfnOutput(this, 'PolicyId', {
      description: 'Recorded as policyId on every decision made under this policy',
      value: policyIdOf(props.policy),
    });
  }
}
