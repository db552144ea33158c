import { GenerateCredentialReportCommand } from '@aws-sdk/client-iam';
import type { STSClient } from '@aws-sdk/client-sts';
import { mapWithConcurrency } from '../concurrency';
import { assumeMemberRole } from './member-account';

/** What starting the reports ahead did, for the list step's log. */
export interface ReportsAhead {
  /** Accounts where IAM took the request (generation STARTED, or a report under 4 hours old kept). */
  started: number;
  /** Accounts where it failed (role missing, throttled…): their scan generates its own, as before. */
  failed: number;
  /** Accounts not reached before `until`: their scan generates its own. */
  skipped: number;
}

/**
 * Starts IAM's credential report generation in each member account, in the order the Distributed Map
 * will run them, so each account's scan finds a report generated seconds or minutes ago instead of
 * generating one and waiting (3 to 9 s on AWS, most of an account's time). GenerateCredentialReport
 * only starts the work, so this costs one AssumeRole and one call per account. Never throws: an account
 * it could not start is one whose scan starts its own report, as it would without this. Stops starting
 * new ones at `until` (epoch ms), so a large organization's list step stays short.
 */
export async function startReportsAhead(
  sts: STSClient,
  accountIds: readonly string[],
  options: { roleName: string; runId: string; until: number; concurrency: number },
): Promise<ReportsAhead> {
  const outcome: ReportsAhead = { started: 0, failed: 0, skipped: 0 };
  await mapWithConcurrency(accountIds, options.concurrency, async (accountId) => {
    if (Date.now() >= options.until) {
      outcome.skipped++;
      return;
    }
    try {
      const { iam } = await assumeMemberRole(sts, {
        accountId,
        roleName: options.roleName,
        job: 'list',
        runId: options.runId,
      });
      await iam.send(new GenerateCredentialReportCommand({}));
      outcome.started++;
    } catch {
      outcome.failed++;
    }
  });
  return outcome;
}
