import { createHash } from 'node:crypto';
import * as z from 'zod';
import { SSH_LISTING } from './credential';
import { OwnersSchema } from './owners';

/**
 * When reauth ends the sessions a user's or a role's credential handed out (temporary credentials from
 * GetSessionToken, AssumeRole sessions): `disable` (a disable by deadline or by the owner), `rotate`
 * (the replaced key deactivated when its rotation's grace period ends), and, named as the triggers
 * are, `owner-departed` and `scope-changed`: when a trust-change event opens a request for that
 * trigger. A scope change opens a request only when it widens access (one that only reduces it is an
 * `observe`), so `scope-changed` ends sessions on a widening alone. Then the credential stays usable
 * for new sessions while its owner is asked.
 */
export const SESSION_REVOCATION_MOMENTS = ['disable', 'rotate', 'owner-departed', 'scope-changed'] as const;
export type SessionRevocationMoment = (typeof SESSION_REVOCATION_MOMENTS)[number];
const DEFAULT_REVOKE_SESSIONS_ON: SessionRevocationMoment[] = ['disable', 'rotate'];

/**
 * A console password unused this long is idle unless the tier says otherwise: the 45 days of Security
 * Hub IAM.22 and CIS 1.12. Optional, so tiers written before passwords were credentials still parse.
 */
export const DEFAULT_PASSWORD_IDLE_DAYS = 45;

/** How long a credential may go unused or unrotated, and how long owners have to answer. */
export const TierSchema = z.strictObject({
  idleDays: z.number().int().positive().describe('Unused this many days → idle.'),
  maxAgeDays: z
    .number()
    .int()
    .positive()
    .describe('Not rotated this many days → max-age (access keys and secrets).'),
  graceDays: z.number().int().positive().describe('Days an owner has to answer before the deadline.'),
  reauthorizeForDays: z
    .number()
    .int()
    .positive()
    .describe('A reauthorization vouches for the credential this many days.'),
  passwordIdleDays: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      `A console password unused this many days → idle (a never-used one: newCredentialGraceDays). Default ${DEFAULT_PASSWORD_IDLE_DAYS}, as Security Hub IAM.22 and CIS 1.12 ask.`,
    ),
  userCredentialMaxAgeDays: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      "A signing certificate, SSH public key or service-specific credential older than this → max-age (IAM records no last use of these, so age is all reauth can judge). Default: the tier's maxAgeDays.",
    ),
  newCredentialGraceDays: z
    .number()
    .int()
    .nonnegative()
    .describe('A credential never used is tolerated this many days after its creation, then it is idle.'),
  usageLearningDays: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      'Days from the first sighting of a credential in use during which the services and regions it is used from are learned; after them a new one opens a usage-changed request. Default 30.',
    ),
  allowedRegions: z
    .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region (eu-west-1)'))
    .min(1)
    .optional()
    .describe(
      'Regions its credentials may be used from: a use from another opens a usage-changed request at once, learning or not.',
    ),
  usageWindowDays: z
    .number()
    .int()
    .positive()
    .max(400)
    .optional()
    .describe(
      'Days of IAM\'s service last-accessed data a request shows ("uses 3 of 41 services granted in the last 90 days"). Default 90; IAM keeps 400.',
    ),
  maxUnusedServiceShare: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe(
      "Opt-in: a credential whose user or role left more than this share of its granted services unused in usageWindowDays opens an over-privileged request (0.8: fewer than 1 in 5 used), once the data covers the window and after usageLearningDays. Costs IAM's last-accessed job per principal of the tier, at most once every 7 days (see docs/triggers.md). Off when absent.",
    ),
  /**
   * Slack user ids of the approvers group. When set, an owner's *Still needed* is only a proposal:
   * it counts once a member of the group other than the owner confirms it.
   */
  approvers: z
    .array(z.string().regex(/^[UW][A-Z0-9]+$/, 'a Slack user id (U…)'))
    .min(1)
    .optional(),
});
export type Tier = z.infer<typeof TierSchema>;

/**
 * Characters that make a `match` a pattern. An exemption's `match` is compared for equality with the
 * credential id and the principal name (`activeExemption` in evaluate.ts), unlike
 * `protectedPrincipals`, which go through `matchesPattern` (where `*` is any run of characters).
 *
 * Why refuse every wildcard rather than only the patterns that cover every principal: under
 * `matchesPattern` only a pattern made of nothing but `*` (`*`, `**`) matches every name, yet `*-*`,
 * `*e*` or a glob's `?*` match nearly every name reauth will ever see, and no cut-off between "broad"
 * and "too broad" is sound. A wildcard, though, can never be part of what an exemption is compared
 * with: IAM user and role names are made of letters, digits and `+=,.@_-`, secret names add `/`,
 * credential ids add `:` (account id, kind, key id or secret ARN). So a `match` with `*` or `?` exempts
 * nothing today, and would exempt everything it covers the day exemptions took patterns: refusing it
 * loses no working exemption, and an exemption always names one credential, with its approver.
 */
const EXEMPTION_WILDCARDS = /[*?]/;

const ExemptionSchema = z.strictObject({
  /**
   * The credential id (`<accountId>:<kind>:<id>`) or the principal (user, secret or role name),
   * exactly: no wildcards, so one exemption never covers every principal.
   */
  match: z
    .string()
    .min(1)
    .refine((match) => !EXEMPTION_WILDCARDS.test(match), {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is a pattern, but an exemption names one credential id or principal exactly (a pattern such as "*" would exempt every principal, so reauth would ask nobody)`,
    }),
  until: z.iso.datetime({ offset: true }).or(z.iso.date()),
  approver: z.string().min(1),
  reason: z.string().min(1),
});
export type Exemption = z.infer<typeof ExemptionSchema>;

/** Whether an exemption still exempts at `now`: until its `until`, exclusive (a date alone: its midnight UTC). */
export function isExemptionInForce(exemption: Pick<Exemption, 'until'>, now: Date): boolean {
  return Date.parse(exemption.until) > now.getTime();
}

/** The built-in tiers. A configured tier of the same name changes only the fields it gives. */
export const DEFAULT_TIERS = {
  standard: {
    idleDays: 90,
    maxAgeDays: 365,
    graceDays: 14,
    reauthorizeForDays: 90,
    newCredentialGraceDays: 14,
  },
  critical: { idleDays: 30, maxAgeDays: 90, graceDays: 7, reauthorizeForDays: 30, newCredentialGraceDays: 7 },
} satisfies Record<string, Tier>;

/**
 * `tiers` as written: a built-in tier's name takes any of its fields (the rest stay built-in); any
 * other name is a new tier and gives every required field.
 */
const TiersInputSchema = z
  .object({ standard: TierSchema.partial().optional(), critical: TierSchema.partial().optional() })
  .catchall(TierSchema);

/** The fields a tier must give when no built-in or top-level tier of its name supplies them. */
const REQUIRED_TIER_FIELDS = Object.entries(TierSchema.shape)
  .filter(([, field]) => !field.safeParse(undefined).success)
  .map(([name]) => name);

/** The effective tiers: the built-in ones, each overlaid field by field with its configured fields, plus new ones. */
function mergeTiers(configured: z.output<typeof TiersInputSchema>): Record<string, Tier> {
  const tiers: Record<string, Tier> = { ...DEFAULT_TIERS };
  for (const [name, tier] of Object.entries(configured)) {
    if (tier) tiers[name] = { ...tiers[name], ...tier } as Tier;
  }
  return tiers;
}

/** An organizational unit (`ou-…`) or the organization's root (`r-…`), as the Organizations API names them. */
const OU_ID = /^(?:ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$/;
const ACCOUNT_ID = /^\d{12}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** Accounts named by OU (every account under it, at any depth) or by id. */
const AccountSelectionSchema = z.strictObject({
  ous: z.array(z.string().regex(OU_ID, 'an OU id (ou-…) or the root id (r-…)')).default([]),
  accounts: z.array(z.string().regex(ACCOUNT_ID, 'an AWS account id (12 digits)')).default([]),
});

/** What changes for the accounts an override selects: the mode, and tiers merged over the policy's. */
const AccountOverrideSchema = AccountSelectionSchema.extend({
  mode: z.enum(['report', 'enforce']).optional(),
  tiers: z.record(z.string().min(1), TierSchema.partial()).optional(),
  defaultTier: z.string().min(1).optional(),
}).refine((override) => override.ous.length + override.accounts.length > 0, {
  error: 'an override names at least one OU or account',
});

type AccountSelection = z.output<typeof AccountSelectionSchema>;

/**
 * Whether `exclude` leaves nothing of `selection`, as far as the config alone tells: it names the root
 * (every account is under it), or every OU and account `selection` names (`selection` naming none
 * means every account, which only a root in `exclude` leaves out).
 *
 * What the config cannot tell without the organization's listing (the OU tree and its accounts), and
 * so is not checked: an included account or OU that lies under an excluded OU, an included OU whose
 * accounts `exclude` names one by one, every OU or account of the organization excluded by name when
 * `include` names none, and named accounts that are not ACTIVE or not in the organization at all.
 */
export function excludesAllOf(selection: AccountSelection, exclude: AccountSelection): boolean {
  if (exclude.ous.some((ou) => ou.startsWith('r-'))) return true;
  if (selection.ous.length + selection.accounts.length === 0) return false;
  return (
    selection.ous.every((ou) => exclude.ous.includes(ou)) &&
    selection.accounts.every((account) => exclude.accounts.includes(account))
  );
}

/** The organization section's fields, each checked alone; `OrganizationSchema` checks them together. */
const OrganizationFieldsSchema = z.strictObject({
  include: AccountSelectionSchema.default({ ous: [], accounts: [] }).describe(
    'The accounts to cover; none named: every ACTIVE account of the organization.',
  ),
  exclude: AccountSelectionSchema.default({ ous: [], accounts: [] }).describe(
    'Accounts left out, even when include names them or their OU. One that leaves out everything include names (or the root) is refused.',
  ),
  readerRoleName: z
    .string()
    .regex(ROLE_NAME)
    .default('reauth-reader')
    .describe('The read-only role the StackSet creates in each member account.'),
  enforcerRoleName: z
    .string()
    .regex(ROLE_NAME)
    .default('reauth-enforcer')
    .describe(
      "The role with the enforce job's write actions, created only in enforce mode. Not readerRoleName (IAM names are not distinguished by case).",
    ),
  maxConcurrency: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    // From the quotas: each account's scan is seconds of waiting on its own IAM (whose rate is per
    // account), so accounts in parallel cost the hub only Lambda concurrency, 1,000 per region by
    // default and shared with every function: a fifth of it runs 10,000 accounts of about 10 s each
    // in about 8 minutes (README, Scale).
    .default(200)
    .describe(
      "Member accounts scanned at once (the Distributed Map's MaxConcurrency). The default, 200, is a fifth of Lambda's default concurrency quota (1,000 per region, shared by every function).",
    ),
  toleratedFailurePercentage: z
    .number()
    .min(0)
    .max(100)
    .default(10)
    .describe('The fan-out fails when more than this percentage of accounts fail; an alarm fires on any.'),
  maxActionsPerRun: z
    .number()
    .int()
    .nonnegative()
    .default(100)
    .describe(
      'Enforce mode disables at most this many credentials per run across the whole organization; each account also keeps actionBudget.',
    ),
  overrides: z
    .array(AccountOverrideSchema)
    .default([])
    .describe(
      'Per OU or per account: mode and tiers, e.g. enforce in the sandbox OU and report in production. Later entries win. A tier (or defaultTier) an override names is a tier of the policy, or one the override gives every field of.',
    ),
});

/**
 * One deployment for a whole AWS Organization (absent: the single account reauth is deployed in).
 * The hub fans out to every member account it selects, assuming the member roles a StackSet deploys.
 */
export const OrganizationSchema = OrganizationFieldsSchema.superRefine((organization, ctx) => {
  // IAM names are not distinguished by case: "Reauth-Reader" and "reauth-reader" are one role.
  if (organization.readerRoleName.toLowerCase() === organization.enforcerRoleName.toLowerCase()) {
    ctx.addIssue({
      code: 'custom',
      path: ['enforcerRoleName'],
      message: `"${organization.enforcerRoleName}" is also readerRoleName: the read-only and the enforcer member roles need two names (IAM role names are not distinguished by case)`,
    });
  }
  if (excludesAllOf(organization.include, organization.exclude)) {
    const root = organization.exclude.ous.find((ou) => ou.startsWith('r-'));
    ctx.addIssue({
      code: 'custom',
      path: ['exclude'],
      message: root
        ? `names the root ${root}, which every account is under: the organization section would cover no account`
        : 'names every OU and account that include names: the organization section would cover no account',
    });
  }
});
export type OrganizationConfig = z.output<typeof OrganizationSchema>;

/** A vendor's name is shown inline beside an account id: a name, not a description. */
const MAX_VENDOR_NAME = 64;
/** Longer than any platform's owner name (GitHub's 39, GitLab's 255-character paths, a 36-character UUID). */
const MAX_OWNER_NAME = 255;

/**
 * An override's tiers merge field by field over the policy's, so a tier only overrides define has no
 * fields but theirs: one that lacks any would never flag its credentials (every comparison with a
 * missing limit is false). And its `defaultTier` must name a tier the accounts it selects have, or
 * every scan of them fails. Each override is judged alone: whether an earlier one selects the same
 * accounts (and supplies the missing fields) depends on the OU tree, which only the organization's
 * listing tells.
 */
function refuseOverrideTiers(
  override: Pick<z.output<typeof AccountOverrideSchema>, 'tiers' | 'defaultTier'>,
  policyTiers: readonly string[],
  path: (string | number)[],
  ctx: z.RefinementCtx,
): void {
  const ownTiers = Object.entries(override.tiers ?? {}).filter(([name]) => !policyTiers.includes(name));
  for (const [name, tier] of ownTiers) {
    const missing = REQUIRED_TIER_FIELDS.filter((field) => !(field in tier));
    if (missing.length === 0) continue;
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'tiers', name],
      message: `is no tier of the policy (${policyTiers.join(', ')}), and this override gives only some of its fields: it lacks ${missing.join(', ')}, so its credentials would never be flagged. Define the tier in the top-level tiers, or give every field here`,
    });
  }
  const { defaultTier } = override;
  if (
    defaultTier !== undefined &&
    !policyTiers.includes(defaultTier) &&
    !(defaultTier in (override.tiers ?? {}))
  ) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'defaultTier'],
      message: `names no tier; tiers are: ${policyTiers.join(', ')} (and those this override defines in full)`,
    });
  }
}

/** reauth.config.json. Every field has a default, so `{}` is a working report-mode policy. */
export const PolicyConfigSchema = z
  .strictObject({
    $schema: z
      .string()
      .optional()
      .describe("The file's JSON Schema, for editors; not part of the policy (nor of its id)."),
    mode: z
      .enum(['report', 'enforce'])
      .default('report')
      .describe('report records and notifies only; enforce also disables and rotates.'),
    tierTagKey: z
      .string()
      .min(1)
      .default('reauth:tier')
      .describe('Tag on the principal that picks its tier.'),
    tiers: TiersInputSchema.default({})
      .describe(
        'Merged over the built-in standard and critical tiers: a built-in tier takes any of its fields, a new tier gives them all',
      )
      .transform(mergeTiers),
    defaultTier: z.string().min(1).default('standard').describe('Tier for principals without the tier tag.'),
    ownerTagKeys: z
      .array(z.string().min(1))
      .min(1)
      .default(['reauth:owner', 'owner'])
      .describe('Tag keys that name the owner, first match wins (a Slack user id or an email).'),
    fallbackOwner: z
      .string()
      .min(1)
      .default('#security')
      .describe('Who hears about credentials with no owner: the security channel.'),
    // No default: a policy without it keeps the id it had before it existed (and reads as DEFAULT_OWNERS).
    owners: OwnersSchema.optional(),
    /**
     * Principals never touched: names or ARNs, `*` matches any run of characters.
     * reauth's own Slack secret (`reauth/slack`, or any under `reauth/slack/`) is always protected.
     */
    protectedPrincipals: z.array(z.string().min(1)).default(['break-glass-*']),
    exemptions: z
      .array(ExemptionSchema)
      .default([])
      .describe('Approved exemptions, each with an approver and an expiry.'),
    // No default: a policy without vendors keeps the PolicyId it had before vendors existed.
    vendors: z
      .record(z.string().regex(/^\d{12}$/), z.string().trim().min(1).max(MAX_VENDOR_NAME), {
        error: (issue) => (issue.code === 'invalid_key' ? 'not an AWS account id (12 digits)' : undefined),
      })
      .optional()
      .describe(
        'AWS account id → the name of the vendor that owns it: shown beside the accounts a third-party role trusts, in Slack and in reauth scan.',
      ),
    /*
     * Policy-wide, not per tier: which organizations are yours is a fact about you, the same for every
     * credential; a tier says how strict to be, not who you are. No default: a policy without it keeps
     * the PolicyId it had before it existed, and trusts no owner.
     */
    trustedOidcOwners: z
      .array(
        z
          .string()
          .trim()
          .min(1)
          .max(MAX_OWNER_NAME)
          // Compared as a name: a pattern would trust no owner, or, if it were one, every owner.
          .regex(/^[^*?]+$/, 'an owner name, not a pattern (`*` and `?` are not wildcards here)'),
      )
      .optional()
      .describe(
        'The owners on CI platforms that are yours, as their tokens name them: a GitHub organization or user, a GitLab top-level group, a Terraform Cloud or Buildkite organization, a Bitbucket workspace, a CircleCI organization id. A federated trust open to every repository, project or workspace of one of them (repo:acme/*:ref:refs/heads/main) is then a deliberate choice, not a trust-too-broad finding; a wildcard in the owner itself always is. Compared ignoring case. Absent: none.',
      ),
    /** Enforce mode acts on at most this many credentials, and this fraction of the inventory, per run. */
    actionBudget: z
      .strictObject({
        maxActions: z.number().int().nonnegative().default(25),
        maxFraction: z.number().min(0).max(1).default(0.05),
      })
      .default({ maxActions: 25, maxFraction: 0.05 }),
    // No default: a policy without it keeps the id it had before it existed (and lists SSH keys weekly).
    listSshPublicKeys: z
      .enum(SSH_LISTING)
      .optional()
      .describe(
        "How often the daily scan lists each IAM user's SSH public keys: IAM has no account-wide listing of them, so each costs one ListSSHPublicKeys call per user. weekly (default): a seventh of the users each day, every user once a week; daily: every user every day; never: SSH keys are not asked about (an account of many users and no CodeCommit). The hourly enforce job lists none: it re-checks a key itself at its deadline.",
      ),
    credentialReportMaxAgeMinutes: z
      .number()
      .int()
      .nonnegative()
      .default(60)
      .describe('A credential report younger than this is reused instead of generating a new one.'),
    /** Who may answer in Slack, and when owners are reminded. */
    slack: z
      .strictObject({
        delegates: z
          .record(z.string().min(1), z.array(z.string().min(1)))
          .default({})
          .describe('Owner (as the owner tag names them) → Slack user ids who may decide in their place.'),
        reminderFractions: z
          .array(z.number().gt(0).lt(1))
          .default([0.5])
          .describe(
            'Reminders, as the fraction of the grace period gone; another one a day before the deadline.',
          ),
        remindDayBefore: z.boolean().default(true),
      })
      .default({ delegates: {}, reminderFractions: [0.5], remindDayBefore: true }),
    /** The compliance exports of the decision table. */
    compliance: z
      .strictObject({
        exportRetentionDays: z
          .number()
          .int()
          .positive()
          .default(365)
          .describe('Exported objects are locked (S3 Object Lock, governance mode) this many days.'),
        fullExportEveryDays: z
          .number()
          .int()
          .positive()
          .default(7)
          .describe('A full export every this many days; incremental exports in between.'),
      })
      .default({ exportRetentionDays: 365, fullExportEveryDays: 7 }),
    /** What enforce mode does once a deadline passes. */
    enforcement: z
      .strictObject({
        restoreWindowDays: z
          .number()
          .int()
          .positive()
          .default(30)
          .describe('An owner can restore a disabled credential from Slack for this many days.'),
        freshnessMaxAgeHours: z
          .number()
          .positive()
          .default(4)
          .describe(
            'No action when the inventory is older than this: AWS refreshes a credential report every 4 hours.',
          ),
        // No default written into the parsed policy: a policy without it keeps the id it had before it
        // existed. Absent means ["disable", "rotate"] (see `revokesSessionsOn`).
        revokeSessionsOn: z
          .array(z.enum(SESSION_REVOCATION_MOMENTS))
          .optional()
          .describe(
            'When reauth also ends the sessions already issued (a deny on aws:TokenIssueTime before that moment, in the user\'s or role\'s reauth-revoke-sessions policy): disable (by deadline or by the owner), rotate (the replaced key\'s deactivation at the end of the grace period), owner-departed and scope-changed (when such an event opens a request; a scope change only when it widens access: the credential stays usable for new sessions while its owner is asked). Absent: ["disable", "rotate"]; []: never. Enforce mode only; a secret has no sessions.',
          ),
      })
      .default({ restoreWindowDays: 30, freshnessMaxAgeHours: 4 }),
    // No default: a policy without it is the single-account one, and keeps its id.
    organization: OrganizationSchema.optional().describe(
      'Cover a whole AWS Organization from this (delegated administrator) account; absent: this account only.',
    ),
  })
  .superRefine((config, ctx) => {
    // The built-in tiers are named too: when a configured tier is invalid, zod still runs this check
    // on the unmerged input.
    const names = [...new Set([...Object.keys(DEFAULT_TIERS), ...Object.keys(config.tiers)])];
    if (!names.includes(config.defaultTier)) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultTier'],
        message: `names no tier; tiers are: ${names.join(', ')}`,
      });
    }
    for (const [index, override] of (config.organization?.overrides ?? []).entries()) {
      refuseOverrideTiers(override, names, ['organization', 'overrides', index], ctx);
    }
  });

export type PolicyConfig = Omit<z.output<typeof PolicyConfigSchema>, '$schema'>;
/**
 * A policy as its file holds it: every field optional. A tier of another name than `standard` or
 * `critical` must give every field; the schema checks that (TypeScript cannot say "all but these keys").
 */
export type PolicyConfigInput = Omit<z.input<typeof PolicyConfigSchema>, 'tiers'> & {
  tiers?: { readonly [name: string]: Partial<Tier> };
};

/** The `$schema` URL of reauth.config.json, relative to the repository root. */
export const POLICY_CONFIG_SCHEMA_FILE = 'schemas/reauth.config.schema.json';

/**
 * The JSON Schema of reauth.config.json as a person writes it (every field optional, defaults shown),
 * generated from {@link PolicyConfigSchema}, so the two cannot drift (`npm run schemas` writes it).
 */
export function policyConfigJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://reauth.dev/schemas/reauth.config.schema.json',
    title: 'reauth policy (reauth.config.json)',
    ...z.toJSONSchema(PolicyConfigSchema, { io: 'input', unrepresentable: 'any' }),
  };
}

export class PolicyConfigError extends Error {
  override readonly name = 'PolicyConfigError';
}

/**
 * Validates a policy. The error names every bad field by its path, e.g.
 * `reauth.config.json: tiers.standard.idleDays: Too small: expected number to be >0` or
 * `reauth.config.json: exemptions[0].match: "*" is a pattern, …`.
 */
export function parsePolicyConfig(input: unknown, source = 'policy config'): PolicyConfig {
  const result = PolicyConfigSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${fieldPath(issue.path) || '(root)'}: ${issue.message}`,
    );
    throw new PolicyConfigError(`${source}: ${problems.join('; ')}`, { cause: result.error });
  }
  const { $schema: _editorsOnly, ...policy } = result.data;
  return policy;
}

/** `exemptions[0].match`, `tiers.standard.idleDays`: the path to a field as it reads in the JSON. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/** Parses the JSON text of a policy file; a syntax error is reported as such. */
export function parsePolicyConfigText(text: string, source = 'policy config'): PolicyConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PolicyConfigError(`${source}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return parsePolicyConfig(json, source);
}

/** Whether reauth ends the sessions already issued at this moment: in enforce mode, when the policy says so. */
export function revokesSessionsOn(policy: PolicyConfig, moment: SessionRevocationMoment): boolean {
  const moments = policy.enforcement.revokeSessionsOn ?? DEFAULT_REVOKE_SESSIONS_ON;
  return policy.mode === 'enforce' && moments.includes(moment);
}

/**
 * The tier a request was opened under (the state's `tier`), else the policy's default: a tier renamed
 * or removed since counts as the default.
 */
export function recordedTierOf(state: { tier?: string }, policy: PolicyConfig): Tier {
  return (policy.tiers[state.tier ?? policy.defaultTier] ?? policy.tiers[policy.defaultTier]) as Tier;
}

/** A short, stable id of the policy in force, recorded on every decision. */
export function policyIdOf(config: PolicyConfig): string {
  return `sha256:${createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16)}`;
}

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
