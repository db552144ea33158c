import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, type Credentials, type STSClient } from '@aws-sdk/client-sts';
import type { OrganizationConfig, PolicyConfig } from '../domain/policy';
import {
  type AssumedCredentials,
  createCloudFormationClient,
  createIamClient,
  createSecretsManagerClient,
} from './aws-clients';
import { createEnforcer, deferredEnforcer, type Enforcer, type ReauthPolicies } from './enforcement';
import { createStackOwnerReader, type StackOwnerReader } from './stack-owners';

/**
 * The member account's reauth role cannot be assumed: not deployed there (the StackSet has not reached
 * the account, or it was removed), or it does not trust this function. Reported, never skipped.
 */
export class MemberRoleMissing extends Error {
  override readonly name = 'MemberRoleMissing';
  constructor(
    readonly accountId: string,
    readonly roleName: string,
    options?: ErrorOptions,
  ) {
    super(
      `account ${accountId}: cannot assume the role ${roleName} (missing, or not trusting reauth's hub); deploy the member roles' StackSet to this account`,
      options,
    );
  }
}

/** IAM and Secrets Manager in a member account, through one of its reauth roles, and its stacks' owners. */
export interface MemberClients {
  iam: IAMClient;
  secretsManager: SecretsManagerClient;
  stacks: StackOwnerReader;
}

/** STS errors that mean the role is not there for us; any other failure (throttling, network) is thrown as is. */
const ROLE_MISSING = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'NoSuchEntity',
  'NoSuchEntityException',
]);

/** STS's limit on RoleSessionName. */
const MAX_SESSION_NAME = 64;

/**
 * Assumes `arn:aws:iam::<accountId>:role/<roleName>` and builds the member's IAM and Secrets Manager
 * clients with its credentials, retried as the hub's own, and its stacks' owner reader.
 */
export async function assumeMemberRole(
  sts: STSClient,
  target: { accountId: string; roleName: string; job: string; runId: string },
): Promise<MemberClients> {
  const assumed = await assumeMemberCredentials(sts, target);
  return {
    iam: createIamClient(assumed),
    secretsManager: createSecretsManagerClient(assumed),
    stacks: createStackOwnerReader((region) => createCloudFormationClient(region, assumed)),
  };
}

/**
 * The credentials of `arn:aws:iam::<accountId>:role/<roleName>`. The session name
 * (`reauth-<job>-<runId>`) is what the member's CloudTrail shows for every call.
 */
export async function assumeMemberCredentials(
  sts: STSClient,
  target: { accountId: string; roleName: string; job: string; runId: string },
): Promise<AssumedCredentials> {
  const RoleArn = `arn:aws:iam::${target.accountId}:role/${target.roleName}`;
  const RoleSessionName = `reauth-${target.job}-${target.runId}`
    .replace(/[^\w+=,.@-]/g, '-')
    .slice(0, MAX_SESSION_NAME);
  let given: Credentials | undefined;
  try {
    given = (await sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName }))).Credentials;
  } catch (error) {
    if (error instanceof Error && ROLE_MISSING.has(error.name))
      throw new MemberRoleMissing(target.accountId, target.roleName, { cause: error });
    throw error;
  }
  if (!given?.AccessKeyId || !given.SecretAccessKey || !given.SessionToken)
    throw new Error(`STS AssumeRole gave no credentials for ${RoleArn}`);
  return {
    accessKeyId: given.AccessKeyId,
    secretAccessKey: given.SecretAccessKey,
    sessionToken: given.SessionToken,
    ...(given.Expiration && { expiration: given.Expiration }),
  };
}

/**
 * The enforcer of a member account, through its enforcer role, assumed at the first change asked of it
 * (once): a caller that may not need to change anything (an event that revokes no session, a click that
 * is refused) assumes nothing.
 */
export function memberEnforcer(
  sts: STSClient,
  target: { accountId: string; roleName: string; job: string; runId: string },
  policies: ReauthPolicies,
): Enforcer {
  return deferredEnforcer(async () => createEnforcer(await assumeMemberRole(sts, target), { policies }));
}

/**
 * Org mode, for the Slack worker: the enforcer of a credential's account under the policy its answer
 * is judged by (`answerPolicyFor`): that account's enforcer role only when it enforces. In a
 * report-mode account nothing may change: its enforcer refuses (the answer is refused before, with the
 * report-mode reply).
 */
export function memberEnforcers(deps: {
  organization: Pick<OrganizationConfig, 'enforcerRoleName'>;
  sts: STSClient;
  /** reauth's policies in an account. */
  policiesIn: (accountId: string) => ReauthPolicies;
}): (accountId: string, policy: PolicyConfig, now: Date) => Enforcer {
  return (accountId, policy, now) =>
    policy.mode === 'enforce'
      ? memberEnforcer(
          deps.sts,
          {
            accountId,
            roleName: deps.organization.enforcerRoleName,
            job: 'slack',
            runId: now.toISOString().replace(/[-:]|\.\d+/g, ''),
          },
          deps.policiesIn(accountId),
        )
      : reportModeEnforcer(accountId);
}

/** An account in report mode: reauth changes nothing in its IAM or Secrets Manager. */
function reportModeEnforcer(accountId: string): Enforcer {
  const refuse = async (): Promise<never> => {
    throw new Error(`account ${accountId} is in report mode: reauth changes nothing there`);
  };
  return {
    recheck: refuse,
    disable: refuse,
    restore: refuse,
    revokeSessions: refuse,
    rotate: refuse,
    deactivateReplacedKey: refuse,
    rightSize: refuse,
    rightSizeAs: refuse,
    rightSizedBy: refuse,
    serviceUsage: refuse,
  };
}
