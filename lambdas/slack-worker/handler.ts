import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ActionJobSchema } from '../shared/adapters/action-queue';
import {
  createDynamoDBClients,
  createIamClient,
  createLambdaClient,
  createOrganizationsClient,
  createSecretsManagerClient,
  createStsClient,
} from '../shared/adapters/aws-clients';
import { createDecisionStore } from '../shared/adapters/decision-store';
import { createEnforcer, deferredEnforcer } from '../shared/adapters/enforcement';
import { memberEnforcers } from '../shared/adapters/member-account';
import { accountLocator } from '../shared/adapters/organization';
import { reauthPoliciesThrough } from '../shared/adapters/session-policies';
import { slackDeadline, slackFromEnvironment } from '../shared/adapters/slack-settings';
import { policyIdOf } from '../shared/domain/policy';
import { parseEnv } from '../shared/env';
import { publishRunMetrics } from '../shared/metrics';
import { loadPolicyFile, requireOrganization } from '../shared/policy-file';
import { accountPolicy } from '../shared/use-cases/account-policy';
import { runActionJob } from '../shared/use-cases/slack-actions';
import { SlackWorkerEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any message is handled.
const env = parseEnv(SlackWorkerEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const policyId = policyIdOf(policy);
const organization = env.ORG_MODE ? requireOrganization(policy) : undefined;
// In an organization each credential is judged under its own account's policy, and changed there.
const policyOf =
  organization && accountPolicy(policy, accountLocator(createOrganizationsClient(), organization));
const sts = createStsClient();
const lambda = createLambdaClient();
const enforcerIn =
  organization &&
  memberEnforcers({
    organization,
    sts,
    policiesIn: (accountId) => reauthPoliciesThrough(lambda, env, accountId, true),
  });
const secretsManager = createSecretsManagerClient();
const store = createDecisionStore(createDynamoDBClients().documents, env.TABLE_NAME);
const enforcer = deferredEnforcer(async () => {
  const { Account } = await sts.send(new GetCallerIdentityCommand({}));
  if (!Account) throw new Error('STS GetCallerIdentity returned no account');
  return createEnforcer(
    { iam: createIamClient(), secretsManager },
    { policies: reauthPoliciesThrough(lambda, env, Account) },
  );
});
const slack = slackFromEnvironment(secretsManager, env);
const logger = new Logger({ serviceName: 'reauth-slack-worker' });
/** The metric each owner-asked change counts under once recorded. */
const DONE = { disable: 'Disabled', rotate: 'Rotated', restore: 'Restored' } as const;

/**
 * Does what owners asked for in Slack (disable, rotate, restore) and updates their messages. A job
 * that fails is retried by SQS, then dead-lettered; a malformed one goes straight to the dead-letter
 * queue's path by failing every time (never silently dropped).
 */
export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  const counts = { Disabled: 0, Rotated: 0, Restored: 0 };
  const connected = await slack.connect({ deadline: slackDeadline(context, 5_000) });
  if (!connected) throw new Error('Slack is not configured');
  for (const record of event.Records) {
    try {
      const job = ActionJobSchema.parse(JSON.parse(record.body));
      const { summary, recorded } = await runActionJob(
        {
          store,
          slack: connected.client,
          enforcer,
          policy,
          policyId,
          now: () => new Date(),
          ...(policyOf && { policyOf }),
          ...(enforcerIn && { enforcerIn }),
          // A claim this invocation leaves behind frees when it can no longer be running, and a
          // right-size stops waiting for IAM's usage job in time to make its change.
          ...(context && { leaseMs: context.getRemainingTimeInMillis() }),
        },
        job,
        // Each attempt claims as itself: SQS may hand a message to a second worker while the first runs.
        `job:${record.messageId}:${randomUUID()}`,
      );
      logger.info('job done', {
        messageId: record.messageId,
        action: job.action,
        ...('credentialId' in job && { credentialId: job.credentialId }),
        outcome: summary,
      });
      // A right-size or a widen is in the record and the log; no metric counts it yet.
      if (recorded && recorded in DONE) counts[DONE[recorded as keyof typeof DONE]]++;
    } catch (error) {
      logger.error('job failed', {
        messageId: record.messageId,
        error: error instanceof Error ? error.message : 'unknown',
      });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  publishRunMetrics('reauth-slack-worker', { ...counts, JobsFailed: failures.length });
  return { batchItemFailures: failures };
}
