import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import {
  createDynamoDBClients,
  createS3Client,
  createSecretsManagerClient,
} from '../shared/adapters/aws-clients';
import { createDecisionStore } from '../shared/adapters/decision-store';
import { readMapResults } from '../shared/adapters/map-results';
import { slackDeadline, slackFromEnvironment } from '../shared/adapters/slack-settings';
import { mapWithConcurrency } from '../shared/concurrency';
import type { CredentialState } from '../shared/domain/decision';
import { TargetAccountSchema } from '../shared/domain/organization';
import { policyIdOf } from '../shared/domain/policy';
import { parseEnv } from '../shared/env';
import { publishRunMetrics } from '../shared/metrics';
import { loadPolicyFile, requireOrganization } from '../shared/policy-file';
import { notifyNewRequests, sendReminders } from '../shared/use-cases/notify-owners';
import { OrgSummaryEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(OrgSummaryEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const organization = requireOrganization(policy);
const store = createDecisionStore(createDynamoDBClients().documents, env.TABLE_NAME);
const s3 = createS3Client();
const slack = slackFromEnvironment(createSecretsManagerClient(), env);
const logger = new Logger({ serviceName: 'reauth-org-summary' });

/**
 * One account's outcome: the scan's or enforce job's output (`findings`, or the enforce report's
 * `scan.findings`), or, from the state machine's Catch, `{ accountId, ok: false, error, cause }`.
 */
const AccountResultSchema = z.union([
  z.looseObject({
    accountId: z.string(),
    ok: z.literal(false),
    error: z.string(),
    cause: z.string().optional(),
  }),
  z.looseObject({
    accountId: z.string(),
    ok: z.literal(true).optional(),
    findings: z.number().int().nonnegative().optional(),
    scan: z.looseObject({ findings: z.number().int().nonnegative() }).optional(),
  }),
]);
export type AccountResult = z.input<typeof AccountResultSchema>;

/** Where the Distributed Map's ResultWriter put the results: its manifest. */
const ResultWriterReferenceSchema = z.looseObject({
  ResultWriterDetails: z.object({ Bucket: z.string().min(1), Key: z.string().min(1) }),
});

export const OrgSummaryEventSchema = z.object({
  /** Which fan-out ran (`scan` or `enforce`); the scan's is the one that tells owners. @default 'scan' */
  job: z.enum(['scan', 'enforce']).default('scan'),
  runId: z.string().min(1),
  /** The accounts the run selected (org-accounts' `accounts`). */
  accounts: z.array(TargetAccountSchema),
  /**
   * Per account, its outcome: the Map's ResultWriter reference (read from S3) or the outcomes
   * themselves. An account with none (its child failed past the Catch) counts as failed.
   */
  results: z.union([z.array(z.unknown()), ResultWriterReferenceSchema]),
});
export type OrgSummaryEvent = z.input<typeof OrgSummaryEventSchema>;

export interface OrgSummary {
  scanned: number;
  failed: { accountId: string; reason: string }[];
  findings: number;
  notified: number;
}

/**
 * More of a run's accounts failed than `organization.toleratedFailurePercentage` allows: thrown after
 * the summary is reported, so the execution fails (and alarms) as the Distributed Map's own tolerance
 * would. The Map never fails by itself, because each account's failure is caught as a result.
 */
export class ToleratedFailureExceeded extends Error {
  override readonly name = 'ToleratedFailureExceeded';
}

/** States read from the table at once: enough to hide latency, few enough not to throttle it. */
const READ_CONCURRENCY = 8;

/**
 * After the fan-out: what was scanned and what failed (each with its reason), and ONE notification
 * pass over every selected account's states, so each owner gets one message across all accounts.
 */
export async function handler(
  event: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<OrgSummary> {
  const now = new Date();
  const { job, runId, accounts, results } = OrgSummaryEventSchema.parse(event);
  const outcomes = z
    .array(AccountResultSchema)
    .parse(Array.isArray(results) ? results : await readMapResults(s3, results.ResultWriterDetails));
  const byAccount = new Map(outcomes.map((result) => [result.accountId, result]));
  const failed: OrgSummary['failed'] = [];
  let scanned = 0;
  let findings = 0;
  for (const { accountId } of accounts) {
    const result = byAccount.get(accountId);
    if (!result) failed.push({ accountId, reason: 'no result: its child execution failed' });
    else if (result.ok === false) failed.push({ accountId, reason: reasonOf(result.error, result.cause) });
    else {
      scanned++;
      findings += result.findings ?? result.scan?.findings ?? 0;
    }
  }

  let notified = 0;
  // A minute kept for recording what Slack took; owners not reached by then are told on the next run.
  // Owners hear once per run across every account: of new requests, and (the hourly enforce run) of
  // reminders due; the member accounts' runs tell only the fallback owner (escalations, deadlines).
  const connected = await slack.connect({ deadline: slackDeadline(context, 60_000) });
  if (connected) {
    // Every selected account's, failed ones too: a request opened on an earlier day is still owed a word.
    const states: CredentialState[] = (
      await mapWithConcurrency(accounts, READ_CONCURRENCY, async ({ accountId }) => [
        ...(await store.loadStates(accountId)).values(),
      ])
    ).flat();
    const deps = { store, slack: connected.client };
    const notifyContext = { policy, policyId: policyIdOf(policy), now, job };
    const asked = await notifyNewRequests(deps, states, notifyContext);
    const reminded = job === 'enforce' ? await sendReminders(deps, states, notifyContext) : undefined;
    notified = asked.recorded + (reminded?.recorded ?? 0);
    const failures = [...asked.failures, ...(reminded?.failures ?? [])];
    // Owners and Slack error codes only: never a token, a webhook URL or a secret value.
    if (failures.length > 0) logger.error('some owners could not be told', { failures });
  }

  publishRunMetrics('reauth-org-summary', {
    AccountsScanned: scanned,
    AccountsFailed: failed.length,
    Findings: findings,
    Notified: notified,
  });
  if (failed.length > 0) logger.error('accounts failed', { runId, failed });
  logger.info('organization scan finished', {
    runId,
    accounts: accounts.length,
    scanned,
    findings,
    notified,
  });
  const failedPercentage = accounts.length === 0 ? 0 : (failed.length / accounts.length) * 100;
  if (failedPercentage > organization.toleratedFailurePercentage) {
    throw new ToleratedFailureExceeded(
      `${failed.length} of ${accounts.length} accounts failed (${failedPercentage.toFixed(1)}%), more than the ${organization.toleratedFailurePercentage}% tolerated: ${failed.map((f) => f.accountId).join(', ')}`,
    );
  }
  return { scanned, failed, findings, notified };
}

/** The Catch's Error and Cause: for a Lambda error the Cause is its JSON (`errorMessage`), shown plainly. */
function reasonOf(error: string, cause: string | undefined): string {
  if (!cause) return error;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return `${error}: ${parsed.errorMessage}`;
  } catch {
    // Not JSON: the cause as given.
  }
  return `${error}: ${cause}`;
}
