import { GenerateCredentialReportCommand } from '@aws-sdk/client-iam';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import { mapWithConcurrency } from '../concurrency';
import { REPORTS_STARTED_KEY } from '../domain/organization';
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

/**
 * Whether the reports started ahead by an earlier run are still fresh enough for this one: started
 * less than half the freshness limit ago (`credentialReportMaxAgeMinutes`), so every scan of this run
 * finds them fresh. A daily scan and hourly enforce runs start them each time (an hour apart, the
 * reports are stale); two runs minutes apart (a retry, a manual run) do not start them twice.
 */
export async function reportsStillFresh(
  s3: S3Client,
  bucket: string,
  options: { now: Date; maxAgeMinutes: number },
): Promise<boolean> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: REPORTS_STARTED_KEY }));
    const { at } = JSON.parse((await object.Body?.transformToString()) ?? '{}') as { at?: string };
    const age = options.now.getTime() - Date.parse(at ?? '');
    return age >= 0 && age < (options.maxAgeMinutes * 60_000) / 2;
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return false;
    throw error;
  }
}

/** Notes that this run started the reports ahead, at `now`. */
export async function noteReportsStarted(s3: S3Client, bucket: string, now: Date): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: REPORTS_STARTED_KEY,
      Body: JSON.stringify({ at: now.toISOString() }),
      ContentType: 'application/json',
    }),
  );
}
