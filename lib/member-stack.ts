import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  App,
  Aws,
  BootstraplessSynthesizer,
  CfnCondition,
  CfnParameter,
  CfnResource,
  Fn,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { EventBus as EventBusTarget } from 'aws-cdk-lib/aws-events-targets';
import { ArnPrincipal, CompositePrincipal, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { sessionsRoleName } from '../lambdas/shared/domain/organization';
import { ROLE_DISABLE_POLICY_NAME } from '../lambdas/shared/domain/reauth-marks';
import {
  changeReadGrants,
  enforceGrants,
  grantCredentialAccess,
  keepOffOwnRoles,
  scanGrants,
  sessionPolicyWriterGrants,
  workerGrants,
} from './credential-permissions';
import { roleDisablePolicy } from './session-policies';
import { IAM_CHANGES_PATTERN, IAM_EVENTS_REGION, SECRET_CHANGES_PATTERN } from './trust-events';

/** The member template's parameters: the hub's values, passed by the StackSet. */
export const MEMBER_PARAMETERS = {
  organizationId: 'OrganizationId',
  hubRegion: 'HubRegion',
  hubEventBusArn: 'HubEventBusArn',
  readerTrustedRoleArns: 'ReaderTrustedRoleArns',
  enforcerTrustedRoleArns: 'EnforcerTrustedRoleArns',
  sessionWriterTrustedRoleArns: 'SessionWriterTrustedRoleArns',
} as const;

/** Properties of the {@link MemberStack}. */
export interface MemberStackProps {
  /** The read-only role's name: `organization.readerRoleName`. */
  readonly readerRoleName: string;
  /** The enforcer role's name (`organization.enforcerRoleName`); absent: no enforcer role (report mode). */
  readonly enforcerRoleName?: string;
}

/**
 * What the StackSet deploys into every member account, in the hub's region and in us-east-1. In the
 * hub's region: `reauth-reader` (the scan's reads only), in enforce mode `reauth-enforcer` (the
 * enforce job's and the Slack worker's write actions, scoped as in the hub), each trusted only by the
 * hub functions' roles it names and only from inside the organization; and a rule forwarding Secrets
 * Manager's CloudTrail events to the hub's bus. In us-east-1 (the only region with IAM's events): a
 * rule forwarding IAM's. IAM is global, so the roles exist once, in the hub's region.
 *
 * The hub's role ARNs, its bus and the organization are template parameters, so the template is
 * synthesized on its own (no tokens of the hub stack) and the StackSet passes the values.
 */
export class MemberStack extends Stack {
  readonly reader: Role;
  readonly enforcer?: Role;
  /** `<enforcerRoleName>-sessions`: the session policy writer's, with the enforcer. */
  readonly sessionWriter?: Role;

  constructor(scope: Construct, id: string, props: MemberStackProps) {
    super(scope, id, {
      description:
        "reauth member account: the roles reauth's hub assumes to scan (and, in enforce mode, enforce) this account, and the rules forwarding its IAM and Secrets Manager changes to the hub",
      // Deployed by a StackSet into accounts that were never bootstrapped: no assets, no bootstrap check.
      synthesizer: new BootstraplessSynthesizer(),
    });
    const param = (name: string, type: string, description: string) =>
      new CfnParameter(this, name, { type, description });
    const organizationId = param(
      MEMBER_PARAMETERS.organizationId,
      'String',
      'The organization (o-…): the only one whose principals may assume these roles',
    ).valueAsString;
    const hubRegion = param(
      MEMBER_PARAMETERS.hubRegion,
      'String',
      "The hub's region, where the roles and the Secrets Manager rule are created",
    ).valueAsString;
    const hubBusArn = param(
      MEMBER_PARAMETERS.hubEventBusArn,
      'String',
      "The ARN of the hub's reauth event bus, which receives this account's changes",
    ).valueAsString;
    const readerTrusted = param(
      MEMBER_PARAMETERS.readerTrustedRoleArns,
      'CommaDelimitedList',
      "The hub functions' roles that may assume the reader role (scan, enforce, events)",
    ).valueAsList;

    const inHubRegion = new CfnCondition(this, 'InHubRegion', {
      expression: Fn.conditionEquals(Aws.REGION, hubRegion),
    });
    const inIamEventsRegion = new CfnCondition(this, 'InIamEventsRegion', {
      expression: Fn.conditionEquals(Aws.REGION, IAM_EVENTS_REGION),
    });

    this.reader = new Role(this, 'Reader', {
      roleName: props.readerRoleName,
      description:
        "reauth hub: reads this account's IAM credentials and secrets (inventory only, no changes)",
      assumedBy: trustedBy(readerTrusted, organizationId),
    });
    grantCredentialAccess(this.reader, [...scanGrants(), ...changeReadGrants()]);
    onlyWhere(this.reader, inHubRegion);

    if (props.enforcerRoleName !== undefined) {
      const enforcerTrusted = param(
        MEMBER_PARAMETERS.enforcerTrustedRoleArns,
        'CommaDelimitedList',
        "The hub functions' roles that may assume the enforcer role (enforce, Slack worker)",
      ).valueAsList;
      this.enforcer = new Role(this, 'Enforcer', {
        roleName: props.enforcerRoleName,
        description:
          "reauth hub: re-checks, disables, restores and rotates this account's credentials nobody reauthorized (enforce mode)",
        assumedBy: trustedBy(enforcerTrusted, organizationId),
      });
      // The enforce job's and the Slack worker's grants, as their hub roles have them in one account.
      grantCredentialAccess(this.enforcer, [
        ...new Set([...enforceGrants('enforce'), ...workerGrants('enforce')]),
      ]);
      onlyWhere(this.enforcer, inHubRegion);
      // What the enforcer attaches: the deny-all (made here, so reauth never writes its document) and
      // the session policies only the writer's role makes; it can attach, the writer cannot.
      onlyWhere(roleDisablePolicy(this, 'RoleDisablePolicy', ROLE_DISABLE_POLICY_NAME), inHubRegion);
      const writerTrusted = param(
        MEMBER_PARAMETERS.sessionWriterTrustedRoleArns,
        'CommaDelimitedList',
        "The hub's session policy writer function role, which may assume the session policy role",
      ).valueAsList;
      this.sessionWriter = new Role(this, 'SessionWriter', {
        roleName: sessionsRoleName(props.enforcerRoleName),
        description:
          "reauth hub: makes and deletes reauth's session policies (/reauth/sessions/) in this account; attaches nothing",
        assumedBy: trustedBy(writerTrusted, organizationId),
      });
      grantCredentialAccess(this.sessionWriter, sessionPolicyWriterGrants());
      onlyWhere(this.sessionWriter, inHubRegion);
      keepOffOwnRoles([this.enforcer, this.sessionWriter], [this.reader, this.enforcer, this.sessionWriter]);
    }

    const hubBus = EventBus.fromEventBusArn(this, 'HubBus', hubBusArn);
    const forward = (
      id: string,
      pattern: typeof IAM_CHANGES_PATTERN,
      what: string,
      condition: CfnCondition,
    ) => {
      const role = new Role(this, `${id}Role`, {
        description: `EventBridge: puts this account's ${what} changes onto the reauth hub's bus, and nowhere else`,
        // Only this account's rules may use it (confused deputy).
        assumedBy: new ServicePrincipal('events.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
        }),
      });
      const rule = new Rule(this, id, {
        description: `reauth: forwards ${what} changes (CloudTrail) to the reauth hub's bus`,
        eventPattern: pattern,
        targets: [new EventBusTarget(hubBus, { role })],
      });
      onlyWhere(role, condition);
      onlyWhere(rule, condition);
    };
    forward('SecretChangesRule', SECRET_CHANGES_PATTERN, 'Secrets Manager', inHubRegion);
    forward('IamChangesRule', IAM_CHANGES_PATTERN, 'IAM', inIamEventsRegion);
  }
}

/** The hub roles named, and only while they act from inside the organization. */
function trustedBy(roleArns: string[], organizationId: string): CompositePrincipal {
  // One principal holding the parameter's list: `{"AWS": {"Ref": "…TrustedRoleArns"}}`.
  const principal = new ArnPrincipal(roleArns as unknown as string).withConditions({
    StringEquals: { 'aws:PrincipalOrgID': organizationId },
  });
  return new CompositePrincipal(principal);
}

/** Creates every resource under `scope` only where `condition` holds. */
function onlyWhere(scope: Construct, condition: CfnCondition): void {
  for (const child of scope.node.findAll()) {
    if (child instanceof CfnResource) child.cfnOptions.condition = condition;
  }
}

/**
 * The member template as JSON, for the StackSet's TemplateBody: synthesized in an app of its own (so
 * `cdk deploy --all` does not deploy it into the hub) with cdk-nag's checks, whose unacknowledged
 * findings throw here as they fail the hub's synth.
 */
export function synthesizeMemberTemplate(props: MemberStackProps): Record<string, unknown> {
  const outdir = mkdtempSync(join(tmpdir(), 'reauth-member-'));
  try {
    const app = new App({ outdir });
    const stack = new MemberStack(app, 'ReauthMember', props);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
    return app.synth().getStackArtifact(stack.artifactId).template as Record<string, unknown>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
