import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import {
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  MoveAccountCommand,
  TagResourceCommand,
} from '@aws-sdk/client-organizations';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatScanReport } from '../../cli/commands/scan';
import { createOrganizationsClient } from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { listOrganizationAccounts, withAccountOwners } from '../../lambdas/shared/adapters/organization';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import { creatorSubject, STACK_ID_TAG } from '../../lambdas/shared/domain/owners';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { type ScanReport, scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { seedAccount } from '../../scripts/local/seed';
import { useEmulator } from '../support/emulator';

const { emulator, clients } = useEmulator();
const ACCOUNT = '123456789012';
const VENDOR = '999988887777';
const TABLE = 'reauth-owner-sources';
const idle = [{ createdDaysAgo: 200, usedDaysAgo: 120 }];
const policy = parsePolicyConfig({
  owners: { byGroup: { deployers: 'U0DEPLOY' }, byPath: { '/teams/payments/': 'U0PAY' } },
});

let report: ScanReport;
let store: ReturnType<typeof createDecisionStore>;

/** The owner and where it came from, of the finding on `principal`. */
async function ownerOf(principal: string) {
  const row = report.rows.find((r) => r.principal === principal);
  if (!row) throw new Error(`no finding on ${principal}`);
  const state = await store.getState(row.credentialId);
  return { owner: row.owner, source: state?.ownerSource, triggers: row.triggers };
}

beforeAll(async () => {
  await ensureDecisionTable(clients.dynamodb, TABLE);
  store = createDecisionStore(clients.documents, TABLE);
  const seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        { name: 'tagged', tags: { owner: 'U0TAG' }, groups: ['deployers'], keys: idle },
        { name: 'deployer', groups: ['readers', 'deployers'], keys: idle },
        { name: 'payments-batch', path: '/teams/payments/', keys: idle },
        { name: 'made-by-alice', keys: idle },
        { name: 'nobody', keys: idle },
      ],
      secrets: [],
      roles: [],
    },
    new Date(),
  );
  // A stack with an owner tag, and a vendor role that stack created (CloudFormation tags it with the stack's id).
  const { StackId } = await new CloudFormationClient({}).send(
    new CreateStackCommand({
      StackName: 'vendor-access',
      TemplateBody: JSON.stringify({
        Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
      }),
      Tags: [{ Key: 'reauth:owner', Value: 'U0STACK' }],
    }),
  );
  await clients.iam.send(
    new CreateRoleCommand({
      RoleName: 'vendor-connector',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${VENDOR}:root` }, Action: 'sts:AssumeRole' },
        ],
      }),
      Tags: [{ Key: STACK_ID_TAG, Value: StackId as string }],
    }),
  );
  const [aliceKey] = seeded.keyIds.get('made-by-alice') ?? [];
  await store.rememberCreator({
    accountId: ACCOUNT,
    subject: creatorSubject('access-key', aliceKey as string),
    owner: 'alice@example.com',
    eventName: 'CreateAccessKey',
    at: '2026-05-02T10:00:00Z',
    by: `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com`,
  });
  report = await scanAccount(
    { iam: clients.iam, secretsManager: clients.secretsManager, store, stacks: stackOwnersOfThisAccount() },
    { accountId: ACCOUNT, policy, now: new Date(Date.now() + 30 * 86_400_000) },
  );
}, 120_000);

describe('owners found without an owner tag on the credential', () => {
  it("takes the tag first, then the user's group, then its path", async () => {
    expect(await ownerOf('tagged')).toMatchObject({
      owner: 'U0TAG',
      source: { source: 'tag', via: 'owner' },
    });
    expect(await ownerOf('deployer')).toMatchObject({
      owner: 'U0DEPLOY',
      source: { source: 'group', via: 'deployers' },
    });
    expect(await ownerOf('payments-batch')).toMatchObject({
      owner: 'U0PAY',
      source: { source: 'path', via: '/teams/payments/' },
    });
  });

  it('takes the owner tag of the stack that created a role, read from CloudFormation', async () => {
    const found = await ownerOf('vendor-connector');
    expect(found).toMatchObject({ owner: 'U0STACK', source: { source: 'stack', via: 'vendor-access' } });
    expect(found.triggers).not.toContain('orphaned');
  });

  it('takes who created the key, from the hint the events consumer (or the backfill) kept', async () => {
    expect(await ownerOf('made-by-alice')).toMatchObject({
      owner: 'alice@example.com',
      source: { source: 'creator', via: 'CreateAccessKey on 2026-05-02' },
    });
  });

  it('escalates to the fallback owner only what no source names, as orphaned', async () => {
    const found = await ownerOf('nobody');
    expect(found).toMatchObject({ owner: '#security', source: { source: 'fallback' } });
    expect(found.triggers).toContain('orphaned');
    const orphaned = report.rows.filter((row) => row.triggers.includes('orphaned'));
    expect(orphaned.map((row) => row.principal)).toEqual(['nobody']);
  });

  it('shows in reauth scan where each owner came from, and how many from each source', () => {
    const text = formatScanReport(report);
    expect(text).toContain('Owners found by: 1 tag, 1 group, 1 path, 1 stack, 1 creator, 1 fallback');
    expect(text).toMatch(/U0DEPLOY \(group\)/);
  });
});

describe("an organization's account and OU owner tags", () => {
  it("name each account's owner: its own tag, else its nearest OU's", async () => {
    const organizations = createOrganizationsClient();
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const root = (await organizations.send(new ListRootsCommand({}))).Roots?.[0]?.Id as string;
    const ou = async (Name: string, ParentId: string) =>
      (await organizations.send(new CreateOrganizationalUnitCommand({ ParentId, Name }))).OrganizationalUnit
        ?.Id as string;
    const platform = await ou('platform', root);
    const payments = await ou('payments', platform);
    const tag = (ResourceId: string, owner: string) =>
      organizations.send(new TagResourceCommand({ ResourceId, Tags: [{ Key: 'owner', Value: owner }] }));
    await tag(platform, 'U0PLATFORM');
    const created = async (name: string, parent: string) => {
      const id = (
        await organizations.send(
          new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
        )
      ).CreateAccountStatus?.AccountId as string;
      await organizations.send(
        new MoveAccountCommand({ AccountId: id, SourceParentId: root, DestinationParentId: parent }),
      );
      return id;
    };
    const card = await created('card', payments);
    const ledger = await created('ledger', payments);
    await tag(ledger, 'U0LEDGER');

    const { accounts } = await listOrganizationAccounts(organizations);
    const owned = await withAccountOwners(organizations, accounts, policy.ownerTagKeys);
    const ownerOfAccount = (id: string) => owned.find((a) => a.accountId === id)?.owner;
    expect(ownerOfAccount(card)).toEqual({ owner: 'U0PLATFORM', via: platform });
    expect(ownerOfAccount(ledger)).toEqual({ owner: 'U0LEDGER', via: ledger });
    // The management account, under the root, which no tag names.
    expect(ownerOfAccount(ACCOUNT)).toBeUndefined();
  });
});
