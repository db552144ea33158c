import {
  type Account,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListRootsCommand,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import type { TargetAccount } from '../domain/organization';

/** Every account of the organization with where it sits, ACTIVE or not. */
export interface OrganizationAccount extends TargetAccount {
  /** ACTIVE, SUSPENDED, PENDING_CLOSURE… as Organizations reports it. */
  status: string;
}

/**
 * The organization's accounts, each with its OU path, read from the root down: ListRoots, then per
 * parent ListOrganizationalUnitsForParent and ListAccountsForParent, every page. Only those three calls,
 * so the management or delegated-administrator account needs only their read permissions (no
 * DescribeOrganization, no ListParents per account).
 */
export async function listOrganizationAccounts(
  client: OrganizationsClient,
): Promise<{ organizationId: string; accounts: OrganizationAccount[] }> {
  const roots = await allPages((NextToken) =>
    client
      .send(new ListRootsCommand({ NextToken }))
      .then((page) => ({ items: page.Roots ?? [], next: page.NextToken })),
  );
  // A root's ARN names its organization: arn:aws:organizations::<management>:root/o-…/r-…
  const organizationId = roots[0]?.Arn?.match(/:root\/(o-[a-z0-9]+)\//)?.[1];
  // Every member's scan needs it (an aws:PrincipalOrgID condition names it): no run goes on without it.
  if (!organizationId) throw new Error(`Organizations ListRoots gave no root ARN naming the organization`);

  const found: OrganizationAccount[] = [];
  // Depth first, one parent at a time: an organization has at most five OU levels below its root.
  const visit = async (path: string[]): Promise<void> => {
    const parent = path.at(-1) as string;
    for (const account of await allPages((NextToken) =>
      client
        .send(new ListAccountsForParentCommand({ ParentId: parent, NextToken }))
        .then((page) => ({ items: page.Accounts ?? [], next: page.NextToken })),
    ))
      if (account.Id) found.push(toAccount(account, path));
    const children = await allPages((NextToken) =>
      client
        .send(new ListOrganizationalUnitsForParentCommand({ ParentId: parent, NextToken }))
        .then((page) => ({ items: page.OrganizationalUnits ?? [], next: page.NextToken })),
    );
    for (const child of children) if (child.Id) await visit([...path, child.Id]);
  };
  for (const root of roots) if (root.Id) await visit([root.Id]);
  return { organizationId, accounts: found };
}

function toAccount(account: Account, ouPath: string[]): OrganizationAccount {
  return {
    accountId: account.Id as string,
    name: account.Name ?? '',
    ouPath,
    // `State` replaces the deprecated `Status`; either may be the one filled in.
    status: String(account.State ?? account.Status ?? 'UNKNOWN'),
  };
}

async function allPages<T>(
  read: (token: string | undefined) => Promise<{ items: T[]; next?: string }>,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await read(token);
    items.push(...page.items);
    token = page.next;
  } while (token);
  return items;
}
