/**
 * Stands in for one member account's scan in scripts/bench/org-states.ts, whose subject is the state
 * machine (what each state carries at 10,000 accounts), not the scan (`npm run bench:org` measures that
 * with the real handler). It takes the child's input as the scan handler does, reads the zone of trust
 * by the reference it is given (once per warm function, as the scan does), checks its account is in
 * it, and returns what a scan of an empty account returns.
 */
import { createS3Client } from '../../lambdas/shared/adapters/aws-clients';
import { organizationZoneReader } from '../../lambdas/shared/adapters/run-objects';
import { MemberRunEventSchema } from '../../lambdas/shared/domain/organization';

const readZone = organizationZoneReader(createS3Client());
let zoneIds: { of: unknown; ids: Set<string> } | undefined;

export async function handler(event: unknown) {
  const run = MemberRunEventSchema.parse(event);
  if (run.organizationAccounts) throw new Error('a child was given the organization inline');
  if (!run.organization) throw new Error('a child was given no reference to the organization');
  const zone = await readZone(run.organization);
  if (zoneIds?.of !== zone) zoneIds = { of: zone, ids: new Set(zone.accounts) };
  if (!zoneIds.ids.has(run.account.accountId))
    throw new Error(`${run.account.accountId} is not in the organization's listing`);
  return {
    accountId: run.account.accountId,
    mode: 'report',
    findings: 0,
    decisionsWritten: 0,
    inventory: {
      accessKeys: 0,
      passwords: 0,
      signingCertificates: 0,
      sshKeys: 0,
      serviceCredentials: 0,
      secrets: 0,
      roles: 0,
    },
  };
}
