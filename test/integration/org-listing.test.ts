import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAccountCommand } from '@aws-sdk/client-organizations';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OrgAccountsResult } from '../../lambdas/org-accounts/handler';
import { createOrganizationsClient } from '../../lambdas/shared/adapters/aws-clients';
import { idleKey, type SeededOrganization, seedOrganization } from '../../scripts/local/seed-organization';
import { useEmulator } from '../support/emulator';
import { coldStart } from '../support/lambda';
import { readListing, runsBucket } from '../support/org-runs';

const { emulator, clients } = useEmulator();
const HOUR = 3_600_000;
let org: SeededOrganization;
let list: (event?: unknown) => Promise<OrgAccountsResult | { forgotten: true }>;

/** The account ids a run of the list step selects. */
async function selected(event: object = {}): Promise<string[]> {
  const listing = (await list(event)) as OrgAccountsResult;
  return (await readListing(clients.s3, listing)).accounts.map((account) => account.accountId).sort();
}

/** An account created in the organization now (as CreateAccount's CreateAccountResult event follows). */
async function createAccount(name: string): Promise<string> {
  const { CreateAccountStatus } = await createOrganizationsClient().send(
    new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
  );
  return CreateAccountStatus?.AccountId as string;
}

beforeAll(async () => {
  org = await seedOrganization(
    emulator,
    createOrganizationsClient(),
    { ous: [], accounts: [{ name: 'web', inventory: idleKey('web-deployer', 'UALICE') }] },
    new Date(),
  );
  const policyFile = join(mkdtempSync(join(tmpdir(), 'reauth-org-listing-')), 'policy.json');
  writeFileSync(policyFile, JSON.stringify({ organization: { exclude: { accounts: ['123456789012'] } } }));
  list = await coldStart('../../lambdas/org-accounts/handler', {
    POLICY_FILE: policyFile,
    ...(await runsBucket(clients.s3)),
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
});

afterEach(() => vi.useRealTimers());

describe("the organization's listing, kept between runs", () => {
  it('is read from S3 by the next run until an Organizations event makes the list step forget it', async () => {
    const web = org.accounts.get('web')?.accountId as string;
    expect(await selected()).toEqual([web]);

    // An account joins: the kept listing does not know it yet.
    const joined = await createAccount('joined');
    expect(await selected()).toEqual([web]);

    // Its CreateAccountResult event reaches the hub: the list step forgets the listing.
    expect(await list({ forgetListing: true })).toEqual({ forgotten: true });
    expect(await selected()).toEqual([web, joined].sort());
  });

  it('is listed afresh once it is six hours old, with no event', async () => {
    const before = await selected();
    const late = await createAccount('late');
    expect(await selected()).toEqual(before);

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(Date.now() + 6 * HOUR + 60_000));

    expect(await selected()).toEqual([...before, late].sort());
  });
});
