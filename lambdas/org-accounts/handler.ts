import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import { createOrganizationsClient } from '../shared/adapters/aws-clients';
import { listOrganizationAccounts } from '../shared/adapters/organization';
import { selectAccounts, type TargetAccount } from '../shared/domain/organization';
import { parseEnv } from '../shared/env';
import { loadPolicyFile, requireOrganization } from '../shared/policy-file';
import { OrgAccountsEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(OrgAccountsEnvSchema);
const organization = requireOrganization(loadPolicyFile(env.POLICY_FILE));
const organizations = createOrganizationsClient();
const logger = new Logger({ serviceName: 'reauth-org-accounts' });

/** The state machine may name the run (its execution's name); the scheduler's event names none. */
const EventSchema = z.looseObject({
  runId: z
    .string()
    .regex(/^[\w+=,.@-]{1,80}$/)
    .optional(),
});

export interface OrgAccountsResult {
  /** Names this run: in member sessions (`reauth-<job>-<runId>`) and in the org-wide budget's key. */
  runId: string;
  at: string;
  /** The Distributed Map's items: ACTIVE accounts the organization section selects. */
  accounts: TargetAccount[];
  /** Every account id of the organization, ACTIVE or not: the zone of trust for evaluation. */
  organizationAccounts: string[];
  /** `o-…`, from the root's ARN; absent when Organizations gave no ARN. */
  organizationId: string;
}

/** First step of the fan-out: the organization's accounts, read once per run, from the root down. */
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
  return {
    runId,
    at: now.toISOString(),
    accounts,
    organizationAccounts: listed.accounts.map((account) => account.accountId),
    organizationId: listed.organizationId,
  };
}

/** `20261201T050000Z-1a2b3c4d`: sorts by time, unique enough for two runs in the same second. */
function runIdAt(now: Date): string {
  return `${now.toISOString().replace(/[-:]|\.\d+/g, '')}-${randomUUID().slice(0, 8)}`;
}
