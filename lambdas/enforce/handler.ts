import { Logger } from '@aws-lambda-powertools/logger';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import {
  createDynamoDBClients,
  createIamClient,
  createSecretsManagerClient,
  createStsClient,
} from '../shared/adapters/aws-clients';
import { createDecisionStore } from '../shared/adapters/decision-store';
import { createEnforcer } from '../shared/adapters/enforcement';
import { slackDeadline, slackFromEnvironment } from '../shared/adapters/slack-settings';
import { parseEnv } from '../shared/env';
import { publishRunMetrics } from '../shared/metrics';
import { loadPolicyFile } from '../shared/policy-file';
import { type EnforceReport, enforceAccount } from '../shared/use-cases/enforce-account';
import { EnforceEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(EnforceEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const clients = {
  iam: createIamClient(),
  secretsManager: createSecretsManagerClient(),
  sts: createStsClient(),
};
const store = createDecisionStore(createDynamoDBClients().documents, env.TABLE_NAME);
const enforcer = createEnforcer(clients);
const slack = slackFromEnvironment(clients.secretsManager, env);
const logger = new Logger({ serviceName: 'reauth-enforce' });
let accountId: string | undefined;

/**
 * Hourly, from EventBridge Scheduler: reminders, escalations and deadlines. In report mode it changes
 * nothing in IAM or Secrets Manager.
 */
export async function handler(
  _event?: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<EnforceReport & { accountId: string; mode: string }> {
  accountId ??= (await clients.sts.send(new GetCallerIdentityCommand({}))).Account;
  if (!accountId) throw new Error('STS GetCallerIdentity returned no account');
  const report = await enforceAccount(
    {
      iam: clients.iam,
      secretsManager: clients.secretsManager,
      store,
      enforcer,
      // A minute kept for recording what Slack took; the rest is told on the next run.
      slack: (await slack.connect({ deadline: slackDeadline(context, 60_000) }))?.client,
    },
    { accountId, policy, now: new Date() },
  );
  publishRunMetrics('reauth-enforce', {
    Notified: report.notified,
    Reminded: report.reminded,
    Escalated: report.escalated,
    Disabled: report.disabled.length + report.deactivated.length,
    DisableCancelled: report.cancelled.length,
    HeldBack: report.heldBack.reduce((n, h) => n + h.credentialIds.length, 0),
  });
  for (const held of report.heldBack) {
    // The metric filter on "held back" alarms: a rail stopped the run and a person has to look.
    logger.error('enforcement held back', { reason: held.reason, credentials: held.credentialIds.length });
  }
  if (report.slackFailures.length > 0)
    logger.error('some owners could not be told', { failures: report.slackFailures });
  logger.info('enforce finished', {
    mode: policy.mode,
    ...report,
    heldBack: report.heldBack.map((h) => h.reason),
  });
  return { accountId, mode: policy.mode, ...report };
}
