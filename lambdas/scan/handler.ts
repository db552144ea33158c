import { Logger } from '@aws-lambda-powertools/logger';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import {
  createDynamoDBClients,
  createIamClient,
  createKmsClient,
  createS3Client,
  createSecretsManagerClient,
  createStsClient,
} from '../shared/adapters/aws-clients';
import { createCheckpointSigner } from '../shared/adapters/checkpoint-signer';
import { createDecisionStore } from '../shared/adapters/decision-store';
import { assumeMemberRole, MemberRoleMissing } from '../shared/adapters/member-account';
import { organizationZoneReader } from '../shared/adapters/run-objects';
import { slackDeadline, slackFromEnvironment } from '../shared/adapters/slack-settings';
import { stackOwnersOfThisAccount } from '../shared/adapters/stack-owners';
import { type MemberRunEvent, MemberRunEventSchema, policyForAccount } from '../shared/domain/organization';
import { parseEnv } from '../shared/env';
import { publishRunMetrics } from '../shared/metrics';
import { loadPolicyFile, requireOrganization } from '../shared/policy-file';
import { escalateBackdoors, notifyNewRequests } from '../shared/use-cases/notify-owners';
import { type InventoryCounts, scanAccount, scanAccountWithStates } from '../shared/use-cases/scan-account';
import {
  SLACK_SETUP_MESSAGE,
  type SlackSetupProblem,
  slackSetupProblems,
} from '../shared/use-cases/slack-setup';
import { ScanEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(ScanEnvSchema);
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
const slack = slackFromEnvironment(clients.secretsManager, env);
const readZone = organizationZoneReader(createS3Client());
const logger = new Logger({ serviceName: 'reauth-scan' });
let accountId: string | undefined;

/** What the scan of one member account returns to the fan-out (its Distributed Map item's result). */
export interface MemberScanResult {
  accountId: string;
  mode: string;
  findings: number;
  decisionsWritten: number;
  inventory: InventoryCounts;
}

/**
 * Daily, from EventBridge Scheduler: scan this account, record what changed, tell the owners. In org
 * mode, one member account per event (a Distributed Map item): scanned through its reader role, and
 * nobody told (the summary tells each owner once, across accounts).
 */
export async function handler(
  event?: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<MemberScanResult & { notified?: number; slackSetup?: SlackSetupProblem[] }> {
  if (organization) return scanMember(MemberRunEventSchema.parse(event), organization.readerRoleName);
  accountId ??= (await clients.sts.send(new GetCallerIdentityCommand({}))).Account;
  if (!accountId) throw new Error('STS GetCallerIdentity returned no account');
  const now = new Date();
  // The account's index is read once per run: the scan hands over the states as it left them.
  const { report, states } = await scanAccountWithStates(
    {
      iam: clients.iam,
      secretsManager: clients.secretsManager,
      store,
      ...(signer && { signer }),
      stacks: stackOwnersOfThisAccount(),
    },
    { accountId, policy, now, onProgress: (message) => logger.info(message) },
  );
  const findings = report.rows.filter((row) => row.outcome === 'finding');

  let notified = 0;
  let slackSetup: SlackSetupProblem[] = [];
  // A minute kept for recording what Slack took; owners not reached by then are told on the next run.
  const connected = await slack.connect({ deadline: slackDeadline(context, 60_000) });
  if (connected) {
    const deps = { store, slack: connected.client };
    const notifyContext = { policy, policyId: report.policyId, now, job: 'scan' };
    // Security first: a likely backdoor is named as such even when its owner is the security channel.
    const warned = await escalateBackdoors(deps, states.values(), notifyContext);
    const told = await notifyNewRequests(deps, states.values(), notifyContext);
    notified = told.recorded;
    // Owners and Slack error codes only: never a token, a webhook URL or a secret value.
    const failures = [...warned.failures, ...told.failures];
    if (failures.length > 0) logger.error('some owners could not be told', { failures });
    slackSetup = slackSetupProblems(failures);
    // Once a run, however many owners it failed to reach there: the metric alarms, the line says how to fix it.
    if (slackSetup.length > 0) logger.error(SLACK_SETUP_MESSAGE, { accountId, problems: slackSetup });
  }
  publishRunMetrics(
    'reauth-scan',
    {
      Findings: findings.length,
      DecisionsRecorded: report.decisionsWritten,
      Notified: notified,
      SlackSetupProblems: slackSetup.length,
    },
    // Telling owners moves no status and no deadline into the past, so the counts are those after the scan.
    { values: states.values(), now },
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
    ...(slackSetup.length > 0 && { slackSetup }),
  };
}

async function scanMember(event: MemberRunEvent, roleName: string): Promise<MemberScanResult> {
  const { accountId } = event.account;
  let member: Awaited<ReturnType<typeof assumeMemberRole>>;
  try {
    member = await assumeMemberRole(clients.sts, { accountId, roleName, job: 'scan', runId: event.runId });
  } catch (error) {
    // The Map's Catch reads the error's name; the summary reports the account with this reason.
    if (error instanceof MemberRoleMissing) logger.error('member role missing', { accountId, roleName });
    throw error;
  }
  const zone = event.organization ? await readZone(event.organization) : undefined;
  const organizationId = zone?.organizationId ?? event.organizationId;
  const report = await scanAccount(
    { ...member, store, ...(signer && { signer }) },
    {
      accountId,
      policy: policyForAccount(policy, event.account),
      now: new Date(),
      organizationAccounts: zone?.accounts ?? event.organizationAccounts ?? [],
      ...(organizationId && { organizationId }),
      ...(event.account.owner && { accountOwner: event.account.owner }),
      onProgress: (message) => logger.info(message, { accountId }),
    },
  );
  const findings = report.rows.filter((row) => row.outcome === 'finding').length;
  logger.info('member scanned', {
    accountId,
    runId: event.runId,
    mode: report.mode,
    inventory: report.inventory,
    findings,
    decisionsWritten: report.decisionsWritten,
  });
  return {
    accountId,
    mode: report.mode,
    findings,
    decisionsWritten: report.decisionsWritten,
    inventory: report.inventory,
  };
}
