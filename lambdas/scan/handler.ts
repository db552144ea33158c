import { Logger } from '@aws-lambda-powertools/logger';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { createAwsClients } from '../shared/adapters/aws-clients';
import { createDecisionStore } from '../shared/adapters/decision-store';
import { parseEnv } from '../shared/env';
import { loadPolicyFile } from '../shared/policy-file';
import { scanAccount } from '../shared/scan-account';
import { ScanEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(ScanEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const clients = createAwsClients();
const store = createDecisionStore(clients.documents, env.TABLE_NAME);
const logger = new Logger({ serviceName: 'reauth-scan' });
let accountId: string | undefined;

/** Daily, from EventBridge Scheduler: scan this account and record what changed. */
export async function handler(): Promise<{
  accountId: string;
  mode: string;
  findings: number;
  decisionsWritten: number;
  inventory: { accessKeys: number; secrets: number; roles: number };
}> {
  accountId ??= (await clients.sts.send(new GetCallerIdentityCommand({}))).Account;
  if (!accountId) throw new Error('STS GetCallerIdentity returned no account');
  const report = await scanAccount(
    { iam: clients.iam, secretsManager: clients.secretsManager, store },
    { accountId, policy, now: new Date(), onProgress: (message) => logger.info(message) },
  );
  const findings = report.rows.filter((row) => row.outcome === 'finding');
  // Ids, principals and triggers only: nothing here is a secret value.
  logger.info('scan finished', {
    mode: report.mode,
    policyId: report.policyId,
    inventory: report.inventory,
    findings: findings.length,
    decisionsWritten: report.decisionsWritten,
    cleared: report.cleared.length,
    unresolved: report.unresolved,
  });
  return {
    accountId,
    mode: report.mode,
    findings: findings.length,
    decisionsWritten: report.decisionsWritten,
    inventory: report.inventory,
  };
}
