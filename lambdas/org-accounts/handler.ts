import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { createOrganizationsClient, createS3Client, createStsClient } from '../shared/adapters/aws-clients';
import { forgetOrganizationListing, keptOrganizationAccounts } from '../shared/adapters/organization-listing';
import { noteReportsStarted, reportsStillFresh, startReportsAhead } from '../shared/adapters/reports-ahead';
import { runObjectKey, writeRunObject } from '../shared/adapters/run-objects';
import { type OrganizationListing, type OrgRun, selectAccounts } from '../shared/domain/organization';
import { DEFAULT_OWNERS } from '../shared/domain/owners';
import { parseEnv } from '../shared/env';
import { loadPolicyFile, requireOrganization } from '../shared/policy-file';
import { OrgAccountsEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(OrgAccountsEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const organization = requireOrganization(policy);
const organizations = createOrganizationsClient();
const s3 = createS3Client();
const sts = createStsClient();
const logger = new Logger({ serviceName: 'reauth-org-accounts' });
/** Whether the policy's owner chain asks the account's and OUs' owner tags (`account`, on by default). */
const readsAccountOwners = (policy.owners ?? DEFAULT_OWNERS).sources.includes('account');

/** The state machine may name the run (its execution's name); the scheduler's event names none. */
const EventSchema = z.looseObject({
  runId: z
    .string()
    .regex(/^[\w+=,.@-]{1,80}$/)
    .optional(),
  /**
   * Set by the rule on Organizations events (an account created, moved, removed; an OU created or
   * deleted): forget the kept listing, so the next run lists the organization afresh.
   */
  forgetListing: z.literal(true).optional(),
});

/**
 * How long the list step spends starting credential reports ahead (the Map waits for it), and how many
 * accounts at once: each is one AssumeRole and one GenerateCredentialReport, so 10,000 accounts take
 * about a minute at AWS's latencies.
 */
const REPORTS_AHEAD_MS = 120_000;
const REPORTS_AHEAD_CONCURRENCY = 50;

/** The list step's output: references and counts only (see OrgRunSchema). */
export type OrgAccountsResult = OrgRun;

/**
 * First step of the fan-out: the organization's accounts, read once per run, from the root down, and
 * written to S3 for the Distributed Map and the children to read; then each selected account's
 * credential report started, so its scan finds one ready.
 */
export async function handler(
  event?: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<OrgAccountsResult | { forgotten: true }> {
  const now = new Date();
  const parsed = EventSchema.parse(event ?? {});
  if (parsed.forgetListing) {
    // Many events may come at once (accounts created in bulk): each only deletes, the next run lists once.
    await forgetOrganizationListing(s3, env.RUNS_BUCKET);
    logger.info('organization changed: the kept listing is forgotten');
    return { forgotten: true };
  }
  const runId = parsed.runId ?? runIdAt(now);
  const listed = await keptOrganizationAccounts(organizations, s3, {
    bucket: env.RUNS_BUCKET,
    now,
    ...(readsAccountOwners && { ownerTagKeys: policy.ownerTagKeys }),
  });
  const active = listed.accounts.filter((account) => account.status === 'ACTIVE');
  const accounts = selectAccounts(active, organization).map(({ accountId, name, ouPath, owner }) => ({
    accountId,
    name,
    ouPath,
    ...(owner && { owner }),
  }));
  logger.info('organization listed', {
    runId,
    // Read from the listing kept from an earlier run, or listed afresh.
    kept: listed.kept,
    organizationId: listed.organizationId,
    accounts: listed.accounts.length,
    active: active.length,
    selected: accounts.length,
  });
  const listing: OrganizationListing = {
    organizationId: listed.organizationId,
    accounts: listed.accounts.map((account) => account.accountId),
  };
  const Bucket = env.RUNS_BUCKET;
  const [accountsObject, organizationObject] = await Promise.all([
    writeRunObject(s3, { Bucket, Key: runObjectKey(runId, 'accounts') }, accounts),
    writeRunObject(s3, { Bucket, Key: runObjectKey(runId, 'organization') }, listing),
  ]);
  const remaining = context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
  const maxAgeMinutes = policy.credentialReportMaxAgeMinutes;
  const ahead = (await reportsStillFresh(s3, Bucket, { now, maxAgeMinutes }))
    ? { started: 0, failed: 0, skipped: accounts.length, stillFresh: true }
    : await startReportsAhead(
        sts,
        accounts.map((account) => account.accountId),
        {
          roleName: organization.readerRoleName,
          runId,
          until: Date.now() + Math.min(REPORTS_AHEAD_MS, remaining - 30_000),
          concurrency: REPORTS_AHEAD_CONCURRENCY,
        },
      );
  if (!('stillFresh' in ahead)) await noteReportsStarted(s3, Bucket, now);
  logger.info('credential reports started ahead', { runId, ...ahead });
  return {
    runId,
    at: now.toISOString(),
    accounts: accountsObject,
    selected: accounts.length,
    organization: organizationObject,
    organizationId: listed.organizationId,
  };
}

/** `20261201T050000Z-1a2b3c4d`: sorts by time, unique enough for two runs in the same second. */
function runIdAt(now: Date): string {
  return `${now.toISOString().replace(/[-:]|\.\d+/g, '')}-${randomUUID().slice(0, 8)}`;
}
