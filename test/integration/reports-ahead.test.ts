import { GetCredentialReportCommand } from '@aws-sdk/client-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOrganizationsClient, createStsClient } from '../../lambdas/shared/adapters/aws-clients';
import {
  noteReportsStarted,
  reportsStillFresh,
  startReportsAhead,
} from '../../lambdas/shared/adapters/reports-ahead';
import {
  idleKey,
  memberClients,
  type SeededOrganization,
  seedOrganization,
} from '../../scripts/local/seed-organization';
import { useEmulator } from '../support/emulator';
import { runsBucket } from '../support/org-runs';

const { emulator, clients } = useEmulator();
let org: SeededOrganization;
const id = (name: string) => org.accounts.get(name)?.accountId as string;

/** When the member's current credential report was generated, or the error IAM gives. */
async function report(name: string): Promise<Date | string> {
  const { iam } = await memberClients(id(name));
  try {
    return (await iam.send(new GetCredentialReportCommand({}))).GeneratedTime as Date;
  } catch (error) {
    return (error as Error).name;
  }
}

beforeAll(async () => {
  await emulator.reset();
  org = await seedOrganization(
    emulator,
    createOrganizationsClient(),
    {
      ous: [{ name: 'prod' }],
      accounts: [
        { name: 'web', ou: 'prod', inventory: idleKey('web-deployer', 'UALICE') },
        { name: 'billing', ou: 'prod', inventory: idleKey('billing-batch', 'UALICE') },
        { name: 'no-roles', ou: 'prod', memberRoles: false, inventory: idleKey('orphan', 'UBOB') },
        { name: 'late', ou: 'prod', inventory: idleKey('late-app', 'UBOB') },
      ],
    },
    new Date(),
  );
});

describe("the list step's credential reports, started ahead of the scans", () => {
  it('starts a report in each member it reaches through the reader role, and counts the one without roles as failed', async () => {
    expect(await report('web')).toBe('CredentialReportNotPresentException');
    const before = Date.now();

    const ahead = await startReportsAhead(createStsClient(), [id('web'), id('billing'), id('no-roles')], {
      roleName: 'reauth-reader',
      runId: 'run-1',
      until: Date.now() + 60_000,
      concurrency: 2,
    });

    expect(ahead).toEqual({ started: 2, failed: 1, skipped: 0 });
    // What the scan then reads at once: a report generated just now.
    for (const name of ['web', 'billing']) {
      const generated = await report(name);
      expect(generated).toBeInstanceOf(Date);
      expect((generated as Date).getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
    }
  });

  it('starts none past its deadline: those accounts generate their own when scanned', async () => {
    const ahead = await startReportsAhead(createStsClient(), [id('late')], {
      roleName: 'reauth-reader',
      runId: 'run-1',
      until: Date.now() - 1,
      concurrency: 2,
    });

    expect(ahead).toEqual({ started: 0, failed: 0, skipped: 1 });
    expect(await report('late')).toBe('CredentialReportNotPresentException');
  });

  it('are started again only once half the freshness limit has passed since the last run started them', async () => {
    const { RUNS_BUCKET: bucket } = await runsBucket(clients.s3);
    const at = new Date('2026-12-01T05:00:00Z');
    const fresh = (minutes: number) =>
      reportsStillFresh(clients.s3, bucket, {
        now: new Date(at.getTime() + minutes * 60_000),
        maxAgeMinutes: 60,
      });
    expect(await fresh(0)).toBe(false); // never started

    await noteReportsStarted(clients.s3, bucket, at);

    // A retry or a manual run minutes later does not start them again; the next hourly run does.
    expect(await fresh(5)).toBe(true);
    expect(await fresh(29)).toBe(true);
    expect(await fresh(31)).toBe(false);
    expect(await fresh(60)).toBe(false);
  });
});
