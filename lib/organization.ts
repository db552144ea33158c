import {
  Aws,
  type CfnElement,
  CfnStackSet,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  Token,
  Validations,
} from 'aws-cdk-lib';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type EventBus, type EventPattern, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { AnyPrincipal, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type * as z from 'zod';
import { OrgAccountsEnvSchema } from '../lambdas/org-accounts/env';
import { OrgSummaryEnvSchema } from '../lambdas/org-summary/env';
import {
  LISTING_CACHE_KEY,
  REPORTS_STARTED_KEY,
  sessionsRoleName,
} from '../lambdas/shared/domain/organization';
import type { OrganizationConfig } from '../lambdas/shared/domain/policy';
import type { RunMetric } from '../lambdas/shared/metric-names';
import { alarmOnCount } from './alarms';
import { FanOut } from './fan-out';
import { MEMBER_PARAMETERS, synthesizeMemberTemplate } from './member-stack';
import { bindSecretRead, bindTable, type EnvBinding, ReauthFunction } from './reauth-function';
import { IAM_CHANGES_PATTERN, IAM_EVENTS_REGION, SECRET_CHANGES_PATTERN } from './trust-events';

/** The only Organizations calls reauth makes (`listOrganizationAccounts`): reads, from the root down. */
export const ORGANIZATION_READ_ACTIONS = [
  'organizations:ListRoots',
  'organizations:ListOrganizationalUnitsForParent',
  'organizations:ListAccountsForParent',
] as const;

/** The Slack functions' Organizations calls (`accountLocator`): one account and its parents, up to the root. */
export const ACCOUNT_LOOKUP_ACTIONS = ['organizations:DescribeAccount', 'organizations:ListParents'] as const;

/**
 * What members may put on the hub's bus: the CloudTrail events their forwarding rules send (see
 * `MemberStack`), by source and detail-type; never reauth's own custom events.
 */
export const MEMBER_EVENT_SOURCES = [
  ...new Set([...(IAM_CHANGES_PATTERN.source ?? []), ...(SECRET_CHANGES_PATTERN.source ?? [])]),
];
export const MEMBER_EVENT_DETAIL_TYPES = [
  ...new Set([...(IAM_CHANGES_PATTERN.detailType ?? []), ...(SECRET_CHANGES_PATTERN.detailType ?? [])]),
];

const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const ROOT_ID = /^r-[0-9a-z]{4,32}$/;

/** Organizations' CloudTrail events after which the kept listing of the organization is stale. */
export const ORGANIZATIONS_CHANGES_PATTERN = {
  source: ['aws.organizations'],
  detailType: ['AWS API Call via CloudTrail', 'AWS Service Event via CloudTrail'],
  detail: {
    eventName: [
      'CreateAccountResult',
      'CreateGovCloudAccountResult',
      'MoveAccount',
      'RemoveAccountFromOrganization',
      'LeaveOrganization',
      'AcceptHandshake',
      'CloseAccount',
      'CreateOrganizationalUnit',
      'DeleteOrganizationalUnit',
      // An account's or OU's owner tag names the owner of its credentials (the `account` owner source).
      'TagResource',
      'UntagResource',
    ],
  },
} as const satisfies EventPattern;

/** The metric that alarms when any member account failed in a run (published by lambdas/org-summary). */
export const ACCOUNTS_FAILED_METRIC: RunMetric<'reauth-org-summary'> = 'AccountsFailed';

/** Properties of {@link Organization}. */
export interface OrganizationProps {
  /** The policy's `organization` section. */
  readonly config: OrganizationConfig;
  /** The organization's id (`o-…`): member roles trust, and the hub's bus accepts, only its principals. */
  readonly organizationId: string;
  /**
   * The organization's root (`r-…`): where the StackSet deploys when `include` names no OU, and what
   * it filters when `include` names accounts.
   * @default none: then `include.ous` must name every OU to cover
   */
  readonly rootId?: string;
  /** The validated policy, as the functions load it. */
  readonly policyFile: EnvBinding;
  /** The decision table: the summary's notification pass reads every account's states in it. */
  readonly table: TableV2;
  readonly slackSecret: ISecret;
  /** The evidence bucket's access-log bucket: the results bucket logs there too. */
  readonly accessLogs: IBucket;
  /** The namespace of reauth's metrics (its name prefix). */
  readonly metricsNamespace: string;
  readonly alarmTopic: ITopic;
}

/** The hub's functions that act in member accounts, and what the members send back. */
export interface MemberAccessProps {
  /**
   * May assume `reauth-reader` in every member: the scan, the enforce job and the events consumer (the
   * list step, which starts each member's credential report ahead, is added here).
   */
  readonly readers: readonly IRole[];
  /** May assume `reauth-enforcer`, which exists only when `enforce` is set: the enforce job and the Slack worker. */
  readonly enforcers: readonly IRole[];
  /** May assume `<enforcerRoleName>-sessions` (with `enforce`): the session policy writer's function. */
  readonly sessionWriters: readonly IRole[];
  /** Whether any account is in enforce mode (the policy's mode, or an override's). */
  readonly enforce: boolean;
  /** The hub's reauth bus: members forward their IAM and Secrets Manager events to it. */
  readonly bus: EventBus;
  /** The hub's region: the member roles and the Secrets Manager rule are created there. */
  readonly hubRegion: string;
  /** Starts the StackSet's name. */
  readonly namePrefix: string;
}

/**
 * reauth across an AWS Organization, from its delegated administrator account: the functions that list
 * the member accounts and summarize a run, the bucket the fan-out writes each account's result to, the
 * alarm on any failed account, and (with {@link grantMemberAccess}) the StackSet that deploys the
 * member roles and event rules into every selected account.
 */
export class Organization extends Construct {
  readonly config: OrganizationConfig;
  readonly organizationId: string;
  readonly listAccounts: ReauthFunction<typeof OrgAccountsEnvSchema>;
  readonly summary: ReauthFunction<typeof OrgSummaryEnvSchema>;
  /** Every run's per-account results, under `<job>/`. */
  readonly resultsBucket: Bucket;
  /** Set by {@link grantMemberAccess}. */
  memberRoles?: CfnStackSet;
  private readonly rootId?: string;

  constructor(scope: Construct, id: string, props: OrganizationProps) {
    super(scope, id);
    if (!ORGANIZATION_ID.test(props.organizationId)) {
      throw new Error(
        `organizationId: "${props.organizationId}" is not an organization id (o-…); give it with -c organizationId=o-…`,
      );
    }
    if (props.rootId !== undefined && !ROOT_ID.test(props.rootId)) {
      throw new Error(`organizationRootId: "${props.rootId}" is not an organization root id (r-…)`);
    }
    this.config = props.config;
    this.organizationId = props.organizationId;
    this.rootId = props.rootId;

    this.resultsBucket = new Bucket(this, 'FanOutResults', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'fan-out-results/',
      // A run's results serve its summary; the decisions themselves are in the table and its exports.
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.listAccounts = new ReauthFunction(this, 'ListAccounts', {
      entry: 'lambdas/org-accounts/handler.ts',
      description:
        "reauth organization: lists the member accounts a run covers (the policy's OUs and accounts, ACTIVE only) and every account of the organization",
      // Listing 10,000 accounts (about 500 pages), reading their owner tags and starting their reports
      // ahead take about 6 minutes at AWS's latencies (npm run bench:org): room to spare, not a guess.
      timeout: Duration.minutes(15),
      memorySize: 512,
      environmentSchema: OrgAccountsEnvSchema,
      environment: { POLICY_FILE: props.policyFile, RUNS_BUCKET: this.resultsBucket.bucketName },
    });
    this.grantOrganizationRead(this.listAccounts.role);
    // Each account's and OU's owner tag, read when the organization is listed afresh (withAccountOwners).
    const tagged = ['account', 'ou', 'root'];
    this.listAccounts.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['organizations:ListTagsForResource'],
        resources: tagged.map(
          (kind) => `arn:${Aws.PARTITION}:organizations::*:${kind}/${props.organizationId}/*`,
        ),
      }),
    );
    for (const kind of tagged)
      Validations.of(this.listAccounts.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::*:${kind}/${props.organizationId}/*]`,
        reason:
          "organizations:ListTagsForResource on this organization's accounts, OUs and root: their owner tags name the owner of the credentials in them (the account owner source); which accounts and OUs there are is only known by listing them. A read.",
      });
    // Each run's account list and organization listing, under runs/<runId>/ (lambdas/shared/adapters/run-objects.ts).
    this.grantRunObjects(this.listAccounts.role, 's3:PutObject', 'runs/*', 'writes');
    // The listing kept between runs, and forgotten on an Organizations event (organization-listing.ts);
    // when the reports were last started ahead (reports-ahead.ts).
    this.listAccounts.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [this.resultsBucket.arnForObjects(LISTING_CACHE_KEY)],
      }),
    );
    this.listAccounts.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [this.resultsBucket.arnForObjects(REPORTS_STARTED_KEY)],
      }),
    );

    this.summary = new ReauthFunction(this, 'Summary', {
      entry: 'lambdas/org-summary/handler.ts',
      description:
        "reauth organization: summarizes a run's accounts (scanned, failed with their reasons, findings) and tells each owner once about their credentials in every account",
      timeout: Duration.minutes(15),
      memorySize: 1024,
      environmentSchema: OrgSummaryEnvSchema,
      environment: {
        TABLE_NAME: bindTable(props.table, 'write'),
        POLICY_FILE: props.policyFile,
        SLACK_SECRET_ARN: bindSecretRead(props.slackSecret),
      },
    });
    this.summary.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [this.resultsBucket.arnForObjects('*')] }),
    );
    const bucketId = Stack.of(this).getLogicalId(this.resultsBucket.node.defaultChild as CfnElement);
    Validations.of(this.summary.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
      reason:
        "s3:GetObject on the fan-out results bucket only: the summary reads a run's manifest and result files, whose keys Step Functions chooses (<job>/<map run id>/…), and its account list (runs/<runId>/accounts.json).",
    });
    // Every failed account of a run, which the summary names only the first of.
    this.grantRunObjects(this.summary.role, 's3:PutObject', 'runs/*/failures.json', 'writes');
    for (const fn of [this.listAccounts, this.summary]) {
      fn.function.addEnvironment('POWERTOOLS_METRICS_NAMESPACE', props.metricsNamespace);
    }

    alarmOnCount(this, 'AccountsFailedAlarm', {
      description:
        "A member account failed in the organization's scan or enforce run (its role missing, access denied, or retries spent): it was not covered. The run's summary log names each account and its reason.",
      metric: new Metric({
        namespace: props.metricsNamespace,
        metricName: ACCOUNTS_FAILED_METRIC,
        dimensionsMap: { service: 'reauth-org-summary' },
        period: Duration.hours(1),
        statistic: 'Sum',
      }),
      topic: props.alarmTopic,
    });
  }

  /**
   * One S3 action on a run's objects in the results bucket (`runs/<runId>/…`, ids the list step makes
   * at run time, so the key is a wildcard).
   */
  private grantRunObjects(
    role: IRole,
    action: 's3:PutObject' | 's3:GetObject',
    keys: string,
    verb: string,
  ): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: [action], resources: [this.resultsBucket.arnForObjects(keys)] }),
    );
    const bucketId = Stack.of(this).getLogicalId(this.resultsBucket.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${keys}]`,
      reason: `${action} on ${keys} of the fan-out results bucket only: it ${verb} a run's objects, under runs/<runId>/, whose run id is made when the run starts.`,
    });
  }

  /**
   * The organization's structure, as `listOrganizationAccounts` (lambdas/shared/adapters/organization.ts)
   * reads it: the account lister's, and the events consumer's (which picks the member events to act on).
   */
  grantOrganizationRead(role: IRole): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...ORGANIZATION_READ_ACTIONS], resources: ['*'] }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "organizations:ListRoots, ListOrganizationalUnitsForParent and ListAccountsForParent: reads of the organization's structure (its root, OUs and accounts), which the delegated administrator may make; the OUs and accounts are only known by listing them, so there is no narrower resource.",
    });
  }

  /**
   * One account's place in the organization, as `accountLocator` reads it: the Slack functions', which
   * act on one credential at a time and must answer Slack within 3 seconds (no listing of the whole
   * organization on a cold click).
   */
  grantAccountLookup(role: IRole): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...ACCOUNT_LOOKUP_ACTIONS], resources: ['*'] }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "organizations:DescribeAccount and ListParents: reads of where one member account sits in the organization (its OU path), for the policy of the credential being answered for; the account's and OUs' ARNs hold the organization's id, which the stack does not know at synth, so there is no narrower resource.",
    });
  }

  /**
   * For a {@link ScheduledJob}'s `fanOut`: runs the job's function once per member account (ORG_MODE),
   * between the account list and the summary.
   */
  fanOut(
    job: 'scan' | 'enforce',
    label: string,
    timeout: Duration,
  ): (fn: ReauthFunction<z.ZodObject>) => StateMachine {
    return (fn) => {
      fn.function.addEnvironment('ORG_MODE', 'true');
      // Each child reads the run's organization listing (the zone of trust) by the reference it is given.
      this.grantRunObjects(fn.role, 's3:GetObject', 'runs/*/organization.json', 'reads');
      const fanOut = new FanOut(fn.node.scope as Construct, 'FanOut', {
        label,
        job,
        listAccounts: this.listAccounts.function,
        perAccount: fn.function,
        summary: this.summary.function,
        maxConcurrency: this.config.maxConcurrency,
        toleratedFailurePercentage: this.config.toleratedFailurePercentage,
        resultsBucket: this.resultsBucket,
        resultsPrefix: job,
        timeout,
      });
      acknowledgeStateMachineGrants(fanOut.stateMachine, this.resultsBucket, [
        this.listAccounts.function.node.defaultChild as CfnElement,
        fn.function.node.defaultChild as CfnElement,
        this.summary.function.node.defaultChild as CfnElement,
      ]);
      return fanOut.stateMachine;
    };
  }

  /**
   * The StackSet that creates the member roles and event rules in every selected account (and in each
   * account that later joins a selected OU), the hub roles' right to assume them, ORG_MODE on the
   * functions that do, and the hub bus's acceptance of the organization's events.
   */
  grantMemberAccess(props: MemberAccessProps): CfnStackSet {
    const { readerRoleName, enforcerRoleName } = this.config;
    // The list step starts each member's credential report ahead of its scan, through the reader role.
    const readers = [...props.readers, this.listAccounts.role];
    const template = synthesizeMemberTemplate({
      readerRoleName,
      enforcerRoleName: props.enforce ? enforcerRoleName : undefined,
    });
    const parameters: Record<string, string> = {
      [MEMBER_PARAMETERS.organizationId]: this.organizationId,
      [MEMBER_PARAMETERS.hubRegion]: props.hubRegion,
      [MEMBER_PARAMETERS.hubEventBusArn]: props.bus.eventBusArn,
      [MEMBER_PARAMETERS.readerTrustedRoleArns]: Fn.join(
        ',',
        readers.map((r) => r.roleArn),
      ),
      ...(props.enforce && {
        [MEMBER_PARAMETERS.enforcerTrustedRoleArns]: Fn.join(
          ',',
          props.enforcers.map((r) => r.roleArn),
        ),
        [MEMBER_PARAMETERS.sessionWriterTrustedRoleArns]: Fn.join(
          ',',
          props.sessionWriters.map((r) => r.roleArn),
        ),
      }),
    };
    this.memberRoles = new CfnStackSet(this, 'MemberRoles', {
      stackSetName: `${props.namePrefix}-members`,
      description:
        "reauth member accounts: the roles reauth's hub assumes to scan (and in enforce mode enforce) each account, and the rules forwarding its IAM and Secrets Manager changes to the hub",
      permissionModel: 'SERVICE_MANAGED',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs: 'DELEGATED_ADMIN',
      capabilities: ['CAPABILITY_NAMED_IAM'],
      templateBody: JSON.stringify(template),
      parameters: Object.entries(parameters).map(([parameterKey, parameterValue]) => ({
        parameterKey,
        parameterValue,
      })),
      stackInstancesGroup: this.deploymentTargets().map((deploymentTargets) => ({
        deploymentTargets,
        // IAM's CloudTrail events exist only in us-east-1.
        regions: [...new Set([props.hubRegion, IAM_EVENTS_REGION])],
      })),
      operationPreferences: {
        regionConcurrencyType: 'PARALLEL',
        maxConcurrentPercentage: 25,
        failureTolerancePercentage: 10,
      },
      managedExecution: { Active: true },
    });

    const assume = (roles: readonly IRole[], roleName: string) => {
      for (const role of roles) {
        role.addToPrincipalPolicy(
          new PolicyStatement({
            actions: ['sts:AssumeRole'],
            resources: [`arn:${Aws.PARTITION}:iam::*:role/${roleName}`],
            // Only the role of that name in an account of this organization.
            conditions: { StringEquals: { 'aws:ResourceOrgID': this.organizationId } },
          }),
        );
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${roleName}]`,
          reason: `sts:AssumeRole on the ${roleName} role the reauth StackSet creates in each member account, only in accounts of organization ${this.organizationId} (aws:ResourceOrgID); accounts join the organization after deploy, so the account is a wildcard.`,
        });
      }
    };
    assume(readers, readerRoleName);
    if (props.enforce) {
      assume(props.enforcers, enforcerRoleName);
      assume(props.sessionWriters, sessionsRoleName(enforcerRoleName));
    }

    props.bus.addToResourcePolicy(
      new PolicyStatement({
        sid: 'ReauthEventsFromOrganization',
        principals: [new AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [props.bus.eventBusArn],
        conditions: {
          StringEquals: { 'aws:PrincipalOrgID': this.organizationId },
          // Only the IAM and Secrets Manager CloudTrail events members forward: a member may not put
          // reauth's own events (owner departed, scope changed), which only the hub and the
          // configured publisher accounts send (the custom-events rule also matches only their
          // accounts).
          'ForAllValues:StringEquals': {
            'events:source': MEMBER_EVENT_SOURCES,
            'events:detail-type': MEMBER_EVENT_DETAIL_TYPES,
          },
        },
      }),
    );
    this.forgetListingOnChange(props.bus);
    return this.memberRoles;
  }

  /**
   * Organizations' events that change which accounts there are or where they sit make the list step
   * forget the listing it keeps between runs. AWS delivers them to the management account's default
   * bus in us-east-1 only: a rule there forwards them to the hub's bus (README, Organization).
   */
  private forgetListingOnChange(bus: EventBus): void {
    bus.addToResourcePolicy(
      new PolicyStatement({
        sid: 'ReauthOrganizationsEvents',
        principals: [new AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [bus.eventBusArn],
        conditions: {
          StringEquals: { 'aws:PrincipalOrgID': this.organizationId },
          // At worst a member could make the next run list the organization afresh.
          'ForAllValues:StringEquals': { 'events:source': [ORGANIZATIONS_CHANGES_PATTERN.source[0]] },
        },
      }),
    );
    new Rule(this, 'OrganizationChanged', {
      eventBus: bus,
      description:
        "reauth organization: an account created, moved, removed or closed, or an OU created or deleted: the list step forgets the organization's listing it keeps between runs",
      eventPattern: ORGANIZATIONS_CHANGES_PATTERN,
      targets: [
        new LambdaFunction(this.listAccounts.function, {
          event: RuleTargetInput.fromObject({ forgetListing: true }),
          retryAttempts: 4,
        }),
      ],
    });
  }

  /**
   * Where the StackSet deploys: the included OUs (less the excluded accounts), plus the included
   * accounts found under the root; the whole root when nothing is included. Excluded OUs still get
   * the roles (a StackSet cannot subtract an OU); the fan-out never uses them there.
   */
  private deploymentTargets(): CfnStackSet.DeploymentTargetsProperty[] {
    const { include, exclude } = this.config;
    const root = () => {
      if (this.rootId) return this.rootId;
      throw new Error(
        'organizationRootId: needed when organization.include names no OU or names accounts; give it with -c organizationRootId=r-…, or name the root (r-…) in organization.include.ous',
      );
    };
    const excluded = exclude.accounts;
    const byOu = (ous: string[]): CfnStackSet.DeploymentTargetsProperty => ({
      organizationalUnitIds: ous,
      ...(excluded.length > 0 && { accounts: excluded, accountFilterType: 'DIFFERENCE' }),
    });
    if (include.ous.length === 0 && include.accounts.length === 0) return [byOu([root()])];
    const targets = include.ous.length > 0 ? [byOu(include.ous)] : [];
    const accounts = include.accounts.filter((a) => !excluded.includes(a));
    if (accounts.length > 0) {
      targets.push({ organizationalUnitIds: [root()], accounts, accountFilterType: 'INTERSECTION' });
    }
    return targets;
  }
}

/** The cdk-nag findings of a fan-out's own role: each wildcard CDK's Step Functions grants add. */
function acknowledgeStateMachineGrants(
  stateMachine: StateMachine,
  resultsBucket: IBucket,
  functions: readonly CfnElement[],
): void {
  const stack = Stack.of(stateMachine);
  const bucketId = stack.getLogicalId(resultsBucket.node.defaultChild as CfnElement);
  for (const fn of functions) {
    Validations.of(stateMachine).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn)}.Arn>:*]`,
      reason:
        "lambda:InvokeFunction on the fan-out's own functions' versions and aliases (<arn>:*), added by LambdaInvoke; the role can invoke no other function.",
    });
  }
  Validations.of(stateMachine).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and vended log delivery (logs:CreateLogDelivery and the other log-delivery actions Step Functions documents) take no resource ARN.',
  });
  // A Distributed Map starts, describes and stops its own child executions: arn:…:execution:<name>:*.
  const named = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<${pseudo}>` : value);
  const executions = `arn:${named(stack.partition, 'AWS::Partition')}:states:${named(stack.region, 'AWS::Region')}:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(stateMachine.node.defaultChild as CfnElement)}"}]}]}`;
  for (const resource of [`${executions}:*`, `${executions}/*:*`]) {
    Validations.of(stateMachine).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${resource}]`,
      reason:
        "The Distributed Map runs each account as a child execution of this state machine: states:StartExecution, DescribeExecution and StopExecution on this state machine's own executions and map runs, whose names Step Functions chooses.",
    });
  }
  Validations.of(stateMachine).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${bucketId}>/*]`,
    reason:
      "The Distributed Map's ResultWriter writes each run's results under keys Step Functions chooses, in the fan-out results bucket only.",
  });
}
