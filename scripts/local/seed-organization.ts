/**
 * Seeds the local emulator with an AWS Organization: the emulator's default account (123456789012) as
 * its management account and reauth's hub, nested OUs, and member accounts, each with reauth's member
 * roles (as the StackSet creates them, trusting the hub) and its own lived-in inventory (seed.ts).
 * moto runs every call made with a role's assumed credentials in that role's account.
 */

import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  MoveAccountCommand,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mapWithConcurrency } from '../../lambdas/shared/concurrency';
import { sessionsRoleName } from '../../lambdas/shared/domain/organization';
import type { EmulatorControl } from '../emulator/emulator';
import { type AccountSpec, planAccount, runSteps, type Seeded } from './seed';

export const HUB_ACCOUNT = '123456789012';

/** One idle key (created 200 days ago, last used 120 days ago) owned by `owner`. */
export function idleKey(user: string, owner: string): AccountSpec {
  return {
    users: [
      { name: user, tags: { 'reauth:owner': owner }, keys: [{ createdDaysAgo: 200, usedDaysAgo: 120 }] },
    ],
    secrets: [],
    roles: [],
  };
}

export interface OrganizationSpec {
  /** OUs by name, parents before children; no parent: under the root. */
  ous: { name: string; parent?: string }[];
  accounts: {
    name: string;
    /** Its OU's name; absent: the root. */
    ou?: string;
    /** Create reauth's member roles in it. @default true */
    memberRoles?: boolean;
    inventory: AccountSpec;
  }[];
  /** @default { reader: 'reauth-reader', enforcer: 'reauth-enforcer' } */
  roleNames?: { reader: string; enforcer: string };
}

export interface SeededOrganization {
  organizationId: string;
  rootId: string;
  /** OU ids by name. */
  ous: Map<string, string>;
  /** By account name: its id and what seedAccount created there. */
  accounts: Map<string, { accountId: string; seeded: Seeded }>;
}

/** IAM and Secrets Manager clients in a member account, through the role Organizations created in it. */
export async function memberClients(
  accountId: string,
  roleName = 'OrganizationAccountAccessRole',
): Promise<{ iam: IAMClient; secretsManager: SecretsManagerClient }> {
  const { Credentials } = await new STSClient({}).send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${accountId}:role/${roleName}`,
      RoleSessionName: 'reauth-seed',
    }),
  );
  if (!Credentials?.AccessKeyId || !Credentials.SecretAccessKey)
    throw new Error(`cannot assume ${roleName} in ${accountId}`);
  const credentials = {
    accessKeyId: Credentials.AccessKeyId,
    secretAccessKey: Credentials.SecretAccessKey,
    sessionToken: Credentials.SessionToken,
  };
  return {
    iam: new IAMClient({ region: 'us-east-1', credentials }),
    secretsManager: new SecretsManagerClient({ credentials }),
  };
}

export async function seedOrganization(
  emulator: EmulatorControl,
  organizations: OrganizationsClient,
  spec: OrganizationSpec,
  now: Date,
  /** AWS calls in flight at once while seeding. @default 8 */
  concurrency = 8,
): Promise<SeededOrganization> {
  const roleNames = spec.roleNames ?? { reader: 'reauth-reader', enforcer: 'reauth-enforcer' };
  const { Organization } = await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const root = (await organizations.send(new ListRootsCommand({}))).Roots?.[0];
  if (!Organization?.Id || !root?.Id) throw new Error('the emulator created no organization');
  const ous = new Map<string, string>();
  for (const ou of spec.ous) {
    const parent = ou.parent ? ous.get(ou.parent) : root.Id;
    if (!parent) throw new Error(`OU ${ou.name}: its parent ${ou.parent} comes later or is missing`);
    const { OrganizationalUnit } = await organizations.send(
      new CreateOrganizationalUnitCommand({ ParentId: parent, Name: ou.name }),
    );
    if (!OrganizationalUnit?.Id) throw new Error(`no OU ${ou.name}`);
    ous.set(ou.name, OrganizationalUnit.Id);
  }

  // Accounts are created in parallel; their inventories are seeded together, one clock freeze per day.
  const created = await mapWithConcurrency(spec.accounts, concurrency, async (account) => {
    const { CreateAccountStatus } = await organizations.send(
      new CreateAccountCommand({ AccountName: account.name, Email: `${account.name}@example.com` }),
    );
    const accountId = CreateAccountStatus?.AccountId;
    if (!accountId) throw new Error(`no account ${account.name}`);
    if (account.ou) {
      const ou = ous.get(account.ou);
      if (!ou) throw new Error(`account ${account.name}: no OU ${account.ou}`);
      await organizations.send(
        new MoveAccountCommand({ AccountId: accountId, SourceParentId: root.Id, DestinationParentId: ou }),
      );
    }
    const clients = await memberClients(accountId);
    if (account.memberRoles ?? true) {
      // As the StackSet's roles: trusted by the hub (moto does not evaluate trust or permissions).
      const trust = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${HUB_ACCOUNT}:root` },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:PrincipalOrgID': Organization.Id } },
          },
        ],
      });
      for (const RoleName of [roleNames.reader, roleNames.enforcer, sessionsRoleName(roleNames.enforcer)])
        await clients.iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: trust }));
    }
    return { name: account.name, accountId, ...planAccount(clients, account.inventory) };
  });
  await runSteps(
    emulator,
    created.flatMap((account) => account.steps),
    now,
    concurrency,
  );
  const accounts = new Map(
    created.map(({ name, accountId, seeded }) => [name, { accountId, seeded }] as const),
  );
  return { organizationId: Organization.Id, rootId: root.Id, ous, accounts };
}
