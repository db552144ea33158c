import { Logger } from '@aws-lambda-powertools/logger';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import {
  createDynamoDBClients,
  createIamClient,
  createKmsClient,
  createLambdaClient,
  createS3Client,
  createSecretsManagerClient,
  createStsClient,
} from '../shared/adapters/aws-clients';
import { createCheckpointSigner } from '../shared/adapters/checkpoint-signer';
import { createDecisionStore } from '../shared/adapters/decision-store';
import { createEnforcer } from '../shared/adapters/enforcement';
import { assumeMemberRole, MemberRoleMissing } from '../shared/adapters/member-account';
import { organizationZoneReader } from '../shared/adapters/run-objects';
import { reauthPoliciesThrough } from '../shared/adapters/session-policies';
import { slackDeadline, slackFromEnvironment } from '../shared/adapters/slack-settings';
import { stackOwnersOfThisAccount } from '../shared/adapters/stack-owners';
import { MemberRunEventSchema, policyForAccount } from '../shared/domain/organization';
import { parseEnv } from '../shared/env';
import { publishRunMetrics } from '../shared/metrics';
import { loadPolicyFile, requireOrganization } from '../shared/policy-file';
import { type EnforceReport, enforceAccount } from '../shared/use-cases/enforce-account';
import { SLACK_SETUP_MESSAGE } from '../shared/use-cases/slack-setup';
import { EnforceEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(EnforceEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const organization = env.ORG_MODE ? requireOrganization(policy) : undefined;
const clients = {
  iam: createIamClient(),
  secretsManager: createSecretsManagerClient(),
  sts: createStsClient(),
};
const store = createDecisionStore(createDynamoDBClients().documents, env.TABLE_NAME);
/** Signs each population record this function writes; none without a key (records are then unsigned). */
const signer = env.CHECKPOINT_KEY_ID
  ? createCheckpointSigner(createKmsClient(), env.CHECKPOINT_KEY_ID)
  : undefined;
const lambda = createLambdaClient();
/** The enforcer of an account: reauth's policies there, session policies made by the writer's function. */
const enforcerIn = (
  accountId: string,
  own: { iam: IAMClient; secretsManager: SecretsManagerClient },
  member = false,
) => createEnforcer(own, { policies: reauthPoliciesThrough(lambda, env, accountId, member) });
const slack = slackFromEnvironment(clients.secretsManager, env);
const readZone = organizationZoneReader(createS3Client());
const logger = new Logger({ serviceName: 'reauth-enforce' });
let accountId: string | undefined;
/** An org-wide budget item outlives its run by a few days (then the table's TTL removes it). */
const BUDGET_KEPT_MS = 3 * 86_400_000;

/**
 * Hourly, from EventBridge Scheduler: reminders, escalations and deadlines. In report mode it changes
 * nothing in IAM or Secrets Manager.
 */
export async function handler(
  event?: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<EnforceReport & { accountId: string; mode: string }> {
  const now = new Date();
  const connectSlack = async () =>
    // A minute kept for recording what Slack took; the rest is told on the next run.
    (await slack.connect({ deadline: slackDeadline(context, 60_000) }))?.client;
  if (organization) {
    // One member account of the organization's hourly fan-out, through its enforcer role.
    const run = MemberRunEventSchema.parse(event);
    const { account, runId } = run;
    // The zone of trust: from the run's organization object (the fan-out), or given inline.
    const zone = run.organization ? await readZone(run.organization) : undefined;
    const organizationAccounts = zone?.accounts ?? run.organizationAccounts ?? [];
    const organizationId = zone?.organizationId ?? run.organizationId;
    const memberPolicy = policyForAccount(policy, account);
    // An account in report mode changes nothing: the reader role is all it gets (the enforcer role
    // exists only where some account enforces).
    const roleName =
      memberPolicy.mode === 'enforce' ? organization.enforcerRoleName : organization.readerRoleName;
    let member: Awaited<ReturnType<typeof assumeMemberRole>>;
    try {
      member = await assumeMemberRole(clients.sts, {
        accountId: account.accountId,
        roleName,
        job: 'enforce',
        runId,
      });
    } catch (error) {
      // Reported, never skipped: the Map's Catch gives it to the run's failures, and the log alarms.
      if (error instanceof MemberRoleMissing)
        logger.error('member role missing', { accountId: account.accountId, roleName });
      throw error;
    }
    const report = await enforceAccount(
      {
        ...member,
        store,
        ...(signer && { signer }),
        enforcer: enforcerIn(account.accountId, member, true),
        slack: await connectSlack(),
        ownersToldBySummary: true,
        reserveActions: (count) =>
          store.reserveBudget(
            runId,
            count,
            organization.maxActionsPerRun,
            new Date(now.getTime() + BUDGET_KEPT_MS),
          ),
      },
      {
        accountId: account.accountId,
        policy: memberPolicy,
        now,
        organizationAccounts,
        organizationId,
        ...(account.owner && { accountOwner: account.owner }),
      },
    );
    return finish(report, account.accountId, memberPolicy.mode);
  }
  accountId ??= (await clients.sts.send(new GetCallerIdentityCommand({}))).Account;
  if (!accountId) throw new Error('STS GetCallerIdentity returned no account');
  const report = await enforceAccount(
    {
      iam: clients.iam,
      secretsManager: clients.secretsManager,
      store,
      ...(signer && { signer }),
      stacks: stackOwnersOfThisAccount(),
      enforcer: enforcerIn(accountId, clients),
      slack: await connectSlack(),
    },
    { accountId, policy, now },
  );
  return finish(report, accountId, policy.mode);
}

function finish(
  report: EnforceReport,
  accountId: string,
  mode: string,
): EnforceReport & { accountId: string; mode: string } {
  publishRunMetrics('reauth-enforce', {
    Notified: report.notified,
    Reminded: report.reminded,
    Escalated: report.escalated,
    Disabled: report.disabled.length + report.deactivated.length,
    DisableCancelled: report.cancelled.length,
    HeldBack: report.heldBack.reduce((n, h) => n + h.credentialIds.length, 0),
    SlackSetupProblems: report.slackSetup.length,
  });
  // Once a run, however many owners it failed to reach there: the metric alarms, the line says how to fix it.
  if (report.slackSetup.length > 0)
    logger.error(SLACK_SETUP_MESSAGE, { accountId, problems: report.slackSetup });
  for (const held of report.heldBack) {
    // The metric filter on "held back" alarms: a rail stopped the run and a person has to look.
    logger.error('enforcement held back', {
      accountId,
      reason: held.reason,
      credentials: held.credentialIds.length,
    });
  }
  if (report.slackFailures.length > 0)
    logger.error('some owners could not be told', { failures: report.slackFailures });
  logger.info('enforce finished', {
    accountId,
    mode,
    ...report,
    heldBack: report.heldBack.map((h) => h.reason),
  });
  return { accountId, mode, ...report };
}
