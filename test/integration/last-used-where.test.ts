import { GetAccountAuthorizationDetailsCommand } from '@aws-sdk/client-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  accessKeysFromReport,
  readCredentialReport,
  rolesInScope,
} from '../../lambdas/shared/adapters/iam-inventory';
import { type Seeded, seedAccount, VENDOR_ACCOUNT } from '../../scripts/local/seed';
import { useEmulator } from '../support/emulator';

const { emulator, clients } = useEmulator();
const ACCOUNT = '123456789012';
let seeded: Seeded;

beforeAll(async () => {
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        {
          name: 'deployer',
          keys: [{ createdDaysAgo: 40, usedDaysAgo: 3, usedIn: { service: 's3', region: 'eu-west-1' } }],
        },
        { name: 'fresh', keys: [{ createdDaysAgo: 2 }, { createdDaysAgo: 1, usedDaysAgo: 1 }] },
      ],
      secrets: [],
      roles: [
        {
          name: 'vendor',
          createdDaysAgo: 30,
          trustedAccounts: [VENDOR_ACCOUNT],
          usedDaysAgo: 2,
          usedRegion: 'eu-central-1',
        },
      ],
    },
    new Date(),
  );
});

async function reportKeys() {
  const { rows } = await readCredentialReport(clients.iam, { now: new Date(), maxAgeMinutes: 0 });
  return accessKeysFromReport(rows, ACCOUNT);
}

describe('the emulator tells where a credential was last used, as AWS does', () => {
  it("the credential report carries each key's last service and region, and none for a key never used", async () => {
    const keys = await reportKeys();
    const deployer = keys.find((k) => k.principal === 'deployer');
    expect(deployer).toMatchObject({ lastUsedService: 's3', lastUsedRegion: 'eu-west-1' });
    const [unused, used] = keys.filter((k) => k.principal === 'fresh');
    expect(unused?.lastUsedService).toBeUndefined();
    expect(unused?.lastUsedRegion).toBeUndefined();
    expect(used).toMatchObject({ lastUsedService: 'iam', lastUsedRegion: 'us-east-1' });
  });

  it('a later use moves them: IAM in us-east-1 after S3 in eu-west-1', async () => {
    await seeded.useKey('deployer', 0, { service: 'iam', region: 'us-east-1' });
    const deployer = (await reportKeys()).find((k) => k.principal === 'deployer');
    expect(deployer).toMatchObject({ lastUsedService: 'iam', lastUsedRegion: 'us-east-1' });
  });

  it("a role used through AssumeRole has RoleLastUsed's region", async () => {
    const details = await clients.iam.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Role'] }));
    const [vendor] = rolesInScope(details.RoleDetailList ?? [], ACCOUNT);
    expect(vendor).toMatchObject({ principal: 'vendor', lastUsedRegion: 'eu-central-1' });
    expect(vendor?.lastUsedAt).toBeInstanceOf(Date);
  });
});
