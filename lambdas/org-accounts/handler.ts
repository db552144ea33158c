import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import { createOrganizationsClient, createS3Client } from '../shared/adapters/aws-clients';
import { listOrganizationAccounts } from '../shared/adapters/organization';
import { runObjectKey, writeRunObject } from '../shared/adapters/run-objects';
import { type OrganizationListing, type OrgRun, selectAccounts } from '../shared/domain/organization';
import { parseEnv } from '../shared/env';
import { loadPolicyFile, requireOrganization } from '../shared/policy-file';
import { OrgAccountsEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(OrgAccountsEnvSchema);
const organization = requireOrganization(loadPolicyFile(env.POLICY_FILE));
const organizations = createOrganizationsClient();
const s3 = createS3Client();
const logger = new Logger({ serviceName: 'reauth-org-accounts' });

/** The state machine may name the run (its execution's name); the scheduler's event names none. */
const EventSchema = z.looseObject({
  runId: z
    .string()
    .regex(/^[\w+=,.@-]{1,80}$/)
    .optional(),
});

/** The list step's output: references and counts only (see OrgRunSchema). */
export type OrgAccountsResult = OrgRun;

/**
 * First step of the fan-out: the organization's accounts, read once per run, from the root down, and
 * written to S3 for the Distributed Map and the children to read.
 */
export async function handler(event?: unknown): Promise<OrgAccountsResult> {
  const now = new Date();
  const runId = EventSchema.parse(event ?? {}).runId ?? runIdAt(now);
  const listed = await listOrganizationAccounts(organizations);
  const active = listed.accounts.filter((account) => account.status === 'ACTIVE');
  const accounts = selectAccounts(active, organization).map(({ accountId, name, ouPath }) => ({
    accountId,
    name,
    ouPath,
  }));
  logger.info('organization listed', {
    runId,
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
