import { Aws, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { EventBus as EventBusTarget } from 'aws-cdk-lib/aws-events-targets';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { IAM_CHANGES_PATTERN, IAM_EVENTS_REGION, TRUST_EVENTS_BUS_NAME } from './trust-events';

/** Properties of the {@link IamEventForwarderStack}. */
export interface IamEventForwarderStackProps extends Omit<StackProps, 'env'> {
  /** The region of the main reauth stack, whose `reauth` bus receives the forwarded events. */
  readonly homeRegion: string;
  /** The name of the home region's reauth bus. @default 'reauth' */
  readonly busName?: string;
}

/**
 * IAM's CloudTrail events reach EventBridge only in us-east-1. When reauth lives in another region,
 * this small stack, always deployed to us-east-1 of the same account, forwards them to the home
 * region's `reauth` bus, where the main stack's IAM rule picks them up. Environment-agnostic in
 * account: the bus ARN uses the account the stack is deployed to.
 */
export class IamEventForwarderStack extends Stack {
  readonly rule: Rule;
  readonly role: Role;
  /** ARN of the home region's reauth bus (a token: it names the deploying account). */
  readonly homeBusArn: string;

  constructor(scope: Construct, id: string, props: IamEventForwarderStackProps) {
    const { homeRegion, busName = TRUST_EVENTS_BUS_NAME, ...stackProps } = props;
    super(scope, id, {
      description: `reauth: forwards IAM's CloudTrail events (published only in ${IAM_EVENTS_REGION}) to the reauth bus in ${homeRegion}`,
      ...stackProps,
      env: { region: IAM_EVENTS_REGION },
    });
    this.homeBusArn = `arn:${Aws.PARTITION}:events:${homeRegion}:${Aws.ACCOUNT_ID}:event-bus/${busName}`;
    const homeBus = EventBus.fromEventBusArn(this, 'HomeBus', this.homeBusArn);
    this.role = new Role(this, 'ForwarderRole', {
      description: `EventBridge: puts IAM's CloudTrail events onto the reauth bus in ${homeRegion}, and nowhere else`,
      // Only rules of this account may use it (confused deputy).
      assumedBy: new ServicePrincipal('events.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    });
    this.rule = new Rule(this, 'IamChangesRule', {
      description: `reauth: forwards IAM user and role policy, group, trust, tag and access-key changes to the reauth bus in ${homeRegion}`,
      eventPattern: IAM_CHANGES_PATTERN,
      targets: [new EventBusTarget(homeBus, { role: this.role })],
    });
  }
}
