import { Duration, Validations } from 'aws-cdk-lib';
import { type IRole, ManagedPolicy, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { SessionPoliciesEnvSchema } from '../lambdas/session-policies/env';
import { REAUTH_POLICY_PATH, ROLE_DISABLE_POLICY } from '../lambdas/shared/domain/reauth-marks';
import { grantCredentialAccess, sessionPolicyWriterGrants } from './credential-permissions';
import { ReauthFunction } from './reauth-function';

/**
 * The deny-all reauth attaches to disable a role: `<name>` under `/reauth/`, created by the stack (a
 * hub's, or a member account's StackSet) so that reauth itself never writes a policy document for it.
 */
export function roleDisablePolicy(scope: Construct, id: string, name: string): ManagedPolicy {
  const policy = new ManagedPolicy(scope, id, {
    managedPolicyName: name,
    path: REAUTH_POLICY_PATH,
    description:
      'reauth: disables a role it is attached to (a deny of everything); attached and detached only by reauth',
    document: PolicyDocument.fromJson(ROLE_DISABLE_POLICY),
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Action::*]',
    reason: 'A Deny of every action: attached to a role, it disables the role. It grants nothing.',
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'A Deny on every resource: attached to a role, it disables the role. It grants nothing.',
  });
  return policy;
}

/** Properties of {@link SessionPolicies}. */
export interface SessionPoliciesProps {
  /**
   * Organization mode: the members' `<enforcerRoleName>-sessions` role, which the writer assumes to
   * write there (the organization grants the assume). Absent: it writes in this account, with its own grants.
   */
  readonly memberRoleName?: string;
}

/**
 * The session policy writer: the only function that writes a policy document into IAM (reauth's
 * `reauth-sessions-before-<moment>`, fixed in its code), with a role that can attach nothing. The
 * enforce job, the Slack worker and the events consumer invoke it, and attach what it made.
 */
export class SessionPolicies extends Construct {
  readonly writer: ReauthFunction<typeof SessionPoliciesEnvSchema>;

  constructor(scope: Construct, id: string, props: SessionPoliciesProps = {}) {
    super(scope, id);
    this.writer = new ReauthFunction(this, 'Writer', {
      entry: 'lambdas/session-policies/handler.ts',
      description:
        "reauth session policy writer: makes the deny that ends a credential's sessions issued before a moment (the enforcer attaches it), and deletes expired ones",
      timeout: Duration.seconds(30),
      environmentSchema: SessionPoliciesEnvSchema,
      environment: { ...(props.memberRoleName && { MEMBER_ROLE_NAME: props.memberRoleName }) },
    });
    if (props.memberRoleName === undefined)
      grantCredentialAccess(this.writer.role, sessionPolicyWriterGrants());
  }

  /**
   * Lets `fn` have session policies made: it may invoke the writer (and nothing of the writer's own),
   * and learns its name (`SESSION_POLICIES_FUNCTION`) and the deny-all's (`DISABLE_POLICY_NAME`).
   */
  grantUse(fn: { function: NodejsFunction; role: IRole }, disablePolicyName?: string): void {
    // The unqualified function only: grantInvoke would add every version and alias (`<arn>:*`).
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.writer.function.functionArn],
      }),
    );
    fn.function.addEnvironment('SESSION_POLICIES_FUNCTION', this.writer.function.functionName);
    if (disablePolicyName) fn.function.addEnvironment('DISABLE_POLICY_NAME', disablePolicyName);
  }
}
