import * as z from 'zod';
import type { OrganizationConfig, PolicyConfig, Tier } from './policy';

const AccountIdSchema = z.string().regex(/^\d{12}$/, 'an AWS account id (12 digits)');

/** One member account to cover: the Distributed Map's item. */
export const TargetAccountSchema = z.object({
  accountId: AccountIdSchema,
  name: z.string(),
  /** OU ids from the root down, the root's id (`r-…`) first: an organization nests OUs five deep at most. */
  ouPath: z.array(z.string().min(1)).max(6),
  /**
   * Who the account's owner tag names, else its nearest OU's (the `account` owner source), and which
   * of them named it (`via`: the account or OU id); absent when none does.
   */
  owner: z.object({ owner: z.string().min(1), via: z.string().min(1) }).optional(),
});
export type TargetAccount = z.infer<typeof TargetAccountSchema>;

/**
 * Where a run keeps something that grows with the organization (its account list, the organization's
 * account ids, its failures): an S3 object. A state passes this reference, never the data, so no state's
 * input or output grows with the number of accounts (Step Functions caps each at 256 KiB).
 */
export const RunObjectSchema = z.object({
  Bucket: z.string().min(1),
  Key: z.string().min(1),
});
export type RunObject = z.infer<typeof RunObjectSchema>;

/**
 * What the fan-out's list step returns, which every later state carries: references and counts, so
 * its size is the same for 10 accounts and 10,000 (test/infra holds every state to that).
 */
export const OrgRunSchema = z.object({
  /** Names this run: in member sessions (`reauth-<job>-<runId>`) and in the org-wide budget's key. */
  runId: z.string().min(1).max(128),
  at: z.iso.datetime(),
  /** The Distributed Map's items (a JSON array of TargetAccount, its ItemReader's object): the ACTIVE accounts selected. */
  accounts: RunObjectSchema,
  /** How many accounts `accounts` holds. */
  selected: z.number().int().nonnegative(),
  /** Every account id of the organization, ACTIVE or not (an OrganizationListing): the zone of trust. */
  organization: RunObjectSchema,
  /** `o-…`, from the root's ARN. */
  organizationId: z.string().min(1),
});
export type OrgRun = z.infer<typeof OrgRunSchema>;

/** The object a run's `organization` reference names: the zone of trust, written once by the list step. */
export const OrganizationListingSchema = z.object({
  organizationId: z.string().min(1),
  /** Every account id of the organization, ACTIVE or not. */
  accounts: z.array(AccountIdSchema),
});
export type OrganizationListing = z.infer<typeof OrganizationListingSchema>;

/**
 * What an org-mode scan or enforce function is given for one member account (a Distributed Map item):
 * its own account, and references to what the run shares, never the whole organization.
 */
export const MemberRunEventSchema = z.object({
  account: TargetAccountSchema,
  /** The organization's account ids (the zone of trust), as the list step wrote them: read when needed. */
  organization: RunObjectSchema.optional(),
  /** Every account id of the organization, given inline by a caller that holds them (a test, the CLI). */
  organizationAccounts: z.array(AccountIdSchema).optional(),
  /** The run of the fan-out, shared by every account's child (the org-wide budget is keyed by it). */
  runId: z.string().min(1).max(128),
  /** The organization's id (`o-…`), when the caller has it: an `aws:PrincipalOrgID` condition names it. */
  organizationId: z.string().optional(),
});
export type MemberRunEvent = z.infer<typeof MemberRunEventSchema>;

type Selection = OrganizationConfig['include'];

function selects(selection: Selection, account: Pick<TargetAccount, 'accountId' | 'ouPath'>): boolean {
  return (
    selection.accounts.includes(account.accountId) || account.ouPath.some((ou) => selection.ous.includes(ou))
  );
}

/**
 * The accounts the organization section covers: those `include` names by id or by an OU anywhere above
 * them (none named: all), less those `exclude` names, which wins.
 */
export function selectAccounts<A extends Pick<TargetAccount, 'accountId' | 'ouPath'>>(
  accounts: readonly A[],
  organization: Pick<OrganizationConfig, 'include' | 'exclude'>,
): A[] {
  const includeAll = organization.include.ous.length + organization.include.accounts.length === 0;
  return accounts.filter(
    (account) =>
      (includeAll || selects(organization.include, account)) && !selects(organization.exclude, account),
  );
}

/**
 * The policy one member account runs under: the organization's overrides that name it (by id or by an
 * OU above it) applied in order, later ones winning. Each takes the mode, its tiers merged field by field
 * over the tiers so far, and the default tier. reauth's member roles are protected principals: disabling
 * them would lock reauth out of the account. Without an organization section: the policy as it is.
 */
export function policyForAccount(
  policy: PolicyConfig,
  account: Pick<TargetAccount, 'accountId' | 'ouPath'>,
): PolicyConfig {
  const organization = policy.organization;
  if (!organization) return policy;
  const tiers: Record<string, Tier> = { ...policy.tiers };
  let { mode, defaultTier } = policy;
  for (const override of organization.overrides.filter((o) => selects(o, account))) {
    mode = override.mode ?? mode;
    defaultTier = override.defaultTier ?? defaultTier;
    for (const [name, tier] of Object.entries(override.tiers ?? {}))
      tiers[name] = { ...tiers[name], ...tier } as Tier;
  }
  const ownRoles = [organization.readerRoleName, organization.enforcerRoleName];
  const protectedPrincipals = [...new Set([...policy.protectedPrincipals, ...ownRoles])];
  return { ...policy, mode, tiers, defaultTier, protectedPrincipals };
}

/** The member role the session policy writer assumes: `<enforcerRoleName>-sessions`. */
export function sessionsRoleName(enforcerRoleName: string): string {
  return `${enforcerRoleName}-sessions`;
}

/** Where the list step keeps the organization's listing between runs, in the fan-out's results bucket. */
export const LISTING_CACHE_KEY = 'listing/organization.json';
/** Where the list step notes when it last started every member's credential report, in that bucket. */
export const REPORTS_STARTED_KEY = 'listing/reports-started.json';
