import {
  type Account,
  DescribeAccountCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListParentsCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { mapWithConcurrency } from '../concurrency';
import { selectAccounts, type TargetAccount } from '../domain/organization';
import { ownerTagOf } from '../domain/owners';
import type { OrganizationConfig } from '../domain/policy';
import type { TrustZone } from '../domain/role-trust';

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

/**
 * Organizations' tag reads at once. Its API is rate-limited per organization at an unpublished rate
 * (the SDK's adaptive retry slows down on throttling); 16 at once read 10,000 accounts' tags in about
 * 95 s at 150 ms a call (`npm run bench:org`).
 */
export const TAG_READ_CONCURRENCY = 16;

/**
 * Each account's owner (the `account` owner source): its own owner tag, else its nearest OU's, up to
 * the root. One ListTagsForResource per account and per OU (every page), made when the organization is
 * listed afresh: the kept listing carries the owners, and a tag change on an account or OU forgets it.
 */
export async function withAccountOwners(
  client: OrganizationsClient,
  accounts: readonly OrganizationAccount[],
  ownerTagKeys: readonly string[],
): Promise<OrganizationAccount[]> {
  const resources = [...new Set(accounts.flatMap((account) => [account.accountId, ...account.ouPath]))];
  const owners = new Map<string, string>();
  await mapWithConcurrency(resources, TAG_READ_CONCURRENCY, async (ResourceId) => {
    const tags = await allPages((NextToken) =>
      client
        .send(new ListTagsForResourceCommand({ ResourceId, NextToken }))
        .then((page) => ({ items: page.Tags ?? [], next: page.NextToken })),
    );
    const owner = ownerTagOf(Object.fromEntries(tags.map((t) => [t.Key ?? '', t.Value ?? ''])), ownerTagKeys);
    if (owner) owners.set(ResourceId, owner.owner);
  });
  return accounts.map((account) => {
    const via = [account.accountId, ...[...account.ouPath].reverse()].find((id) => owners.has(id));
    return via ? { ...account, owner: { owner: owners.get(via) as string, via } } : account;
  });
}

/** The organization as a function acting on one account at a time sees it. */
export interface OrganizationView {
  /** Every account id of the organization, ACTIVE or not. */
  all: Set<string>;
  /** The ACTIVE accounts the organization section selects, by id, with their OU path. */
  targets: Map<string, TargetAccount>;
  /** The zone of trust for evaluation. */
  zone: TrustZone;
}

/** How long a listing is reused: an account that joins (or moves OU) is seen within this. */
export const ORGANIZATION_TTL_MS = 5 * 60_000;

/**
 * The organization, listed at most once per `ttlMs` (and per cold start at least), for the functions
 * that act on one account at a time from an event or a click (the events consumer, the Slack functions).
 */
export function cachedOrganization(
  client: OrganizationsClient,
  organization: Pick<OrganizationConfig, 'include' | 'exclude'>,
  ttlMs = ORGANIZATION_TTL_MS,
): (now: Date) => Promise<OrganizationView> {
  let listed: { at: number; view: Promise<OrganizationView> } | undefined;
  return (now) => {
    if (!listed || now.getTime() - listed.at > ttlMs) {
      const view = listOrganizationAccounts(client).then(({ accounts, organizationId }) => ({
        all: new Set(accounts.map((account) => account.accountId)),
        targets: new Map(
          selectAccounts(
            accounts.filter((account) => account.status === 'ACTIVE'),
            organization,
          ).map(({ accountId, name, ouPath }) => [accountId, { accountId, name, ouPath }]),
        ),
        zone: { accounts: accounts.map((account) => account.accountId), organizationId },
      }));
      listed = { at: now.getTime(), view };
      // A failed listing is not kept: the next caller lists again.
      view.catch(() => {
        if (listed?.view === view) listed = undefined;
      });
    }
    return listed.view;
  };
}

/** One account as the Slack functions need it: is it in the organization, and is it one reauth covers. */
export interface LocatedAccount {
  inOrganization: boolean;
  /** The account with its OU path, when the organization section covers it (ACTIVE and selected). */
  target?: TargetAccount;
}

/**
 * Where one account sits, looked up alone (DescribeAccount, then ListParents up to the root: at most
 * seven calls, whatever the organization's size) and kept `ttlMs` per account. For the Slack functions,
 * which act on one credential at a time and must answer Slack within 3 seconds: listing a large
 * organization on a cold click would not fit.
 */
export function accountLocator(
  client: OrganizationsClient,
  organization: Pick<OrganizationConfig, 'include' | 'exclude'>,
  ttlMs = ORGANIZATION_TTL_MS,
): (accountId: string, now: Date) => Promise<LocatedAccount> {
  const located = new Map<string, { at: number; found: Promise<LocatedAccount> }>();
  const locate = async (accountId: string): Promise<LocatedAccount> => {
    let account: Account | undefined;
    try {
      account = (await client.send(new DescribeAccountCommand({ AccountId: accountId }))).Account;
    } catch (error) {
      if ((error as Error).name === 'AccountNotFoundException') return { inOrganization: false };
      throw error;
    }
    if (!account) return { inOrganization: false };
    const ouPath: string[] = [];
    for (let child = accountId; ; ) {
      const parent = (await client.send(new ListParentsCommand({ ChildId: child }))).Parents?.[0];
      if (!parent?.Id) break;
      ouPath.unshift(parent.Id);
      if (parent.Type === 'ROOT') break;
      child = parent.Id;
    }
    const found = toAccount(account, ouPath);
    const [target] = found.status === 'ACTIVE' ? selectAccounts([found], organization) : [];
    return {
      inOrganization: true,
      ...(target && { target: { accountId: target.accountId, name: target.name, ouPath: target.ouPath } }),
    };
  };
  return (accountId, now) => {
    const kept = located.get(accountId);
    if (kept && now.getTime() - kept.at <= ttlMs) return kept.found;
    const found = locate(accountId);
    located.set(accountId, { at: now.getTime(), found });
    // A failed lookup is not kept: the next caller looks again.
    found.catch(() => {
      if (located.get(accountId)?.found === found) located.delete(accountId);
    });
    return found;
  };
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
