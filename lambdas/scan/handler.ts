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
import { slackDeadline, slackFromEnvironment } from '../shared/adapters/slack-settings';
import { parseEnv } from '../shared/env';
import { publishRunMetrics } from '../shared/metrics';
import { loadPolicyFile } from '../shared/policy-file';
import { notifyNewRequests } from '../shared/use-cases/notify-owners';
import { scanAccount } from '../shared/use-cases/scan-account';
import { ScanEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(ScanEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const clients = {
  iam: createIamClient(),
  secretsManager: createSecretsManagerClient(),
  sts: createStsClient(),
};
const store = createDecisionStore(createDynamoDBClients().documents, env.TABLE_NAME);
const slack = slackFromEnvironment(clients.secretsManager, env);
const logger = new Logger({ serviceName: 'reauth-scan' });
let accountId: string | undefined;

/** Daily, from EventBridge Scheduler: scan this account, record what changed, tell the owners. */
export async function handler(
  _event?: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<{
  accountId: string;
  mode: string;
  findings: number;
  decisionsWritten: number;
  notified: number;
  inventory: { accessKeys: number; secrets: number; roles: number };
}> {
  accountId ??= (await clients.sts.send(new GetCallerIdentityCommand({}))).Account;
  if (!accountId) throw new Error('STS GetCallerIdentity returned no account');
  const now = new Date();
  const report = await scanAccount(
    { iam: clients.iam, secretsManager: clients.secretsManager, store },
    { accountId, policy, now, onProgress: (message) => logger.info(message) },
  );
  const findings = report.rows.filter((row) => row.outcome === 'finding');

  let notified = 0;
  const states = await store.loadStates(accountId);
  // A minute kept for recording what Slack took; owners not reached by then are told on the next run.
  const connected = await slack.connect({ deadline: slackDeadline(context, 60_000) });
  if (connected) {
    const told = await notifyNewRequests({ store, slack: connected.client }, states.values(), {
      policy,
      policyId: report.policyId,
      now,
      job: 'scan',
    });
    notified = told.recorded;
    // Owners and Slack error codes only: never a token, a webhook URL or a secret value.
    if (told.failures.length > 0) logger.error('some owners could not be told', { failures: told.failures });
  }
  publishRunMetrics(
    'reauth-scan',
    { Findings: findings.length, DecisionsRecorded: report.decisionsWritten, Notified: notified },
    { values: (await store.loadStates(accountId)).values(), now },
  );
  // Ids, principals and triggers only: nothing here is a secret value.
  logger.info('scan finished', {
    mode: report.mode,
    policyId: report.policyId,
    inventory: report.inventory,
    inventoryAt: report.inventoryAt,
    findings: findings.length,
    decisionsWritten: report.decisionsWritten,
    cleared: report.cleared.length,
    notified,
    unresolved: report.unresolved,
  });
  return {
    accountId,
    mode: report.mode,
    findings: findings.length,
    decisionsWritten: report.decisionsWritten,
    notified,
    inventory: report.inventory,
  };
}
