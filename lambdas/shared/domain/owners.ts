import * as z from 'zod';
import type { CredentialKind } from './credential';

/**
 * Where an owner can come from, in the order the policy's `owners.sources` tries them (this one by
 * default); the fallback owner comes last, always:
 * - `assigned`: a security approver chose them in Slack (*Assign owner*), recorded on the state;
 * - `tag`: an owner tag on the credential's principal (the user, the secret, the role);
 * - `group`: an IAM group of the user, mapped in `owners.byGroup`;
 * - `path`: the user's or role's IAM path, mapped in `owners.byPath` (the longest prefix wins);
 * - `stack`: the owner tag of the CloudFormation stack that created the principal
 *   (its `aws:cloudformation:stack-name` tag);
 * - `account`: the owner tag of the account, then of its OUs from the nearest up, in AWS Organizations;
 *   in single-account mode, `owners.account`;
 * - `creator`: who created it, from CloudTrail (a person, or a pipeline role `owners.byCreatorRole` maps).
 */
export const OWNER_SOURCES = ['assigned', 'tag', 'group', 'path', 'stack', 'account', 'creator'] as const;
export type OwnerSource = (typeof OWNER_SOURCES)[number];

/** Where a request's owner came from, recorded on its flag (`evidence.ownerSource`) and its state. */
export interface OwnerOrigin {
  source: OwnerSource | 'fallback';
  /**
   * What names the owner there: the tag key, the group, the path prefix, the stack, the account or OU
   * id, or the creation (`CreateAccessKey on 2026-03-02`); who assigned them (`slack:U…`).
   */
  via?: string;
}

/** What a credential itself says of its owner (see `Credential`). */
export interface OwnerFacts {
  tags: Readonly<Record<string, string>>;
  groups?: readonly string[];
  path?: string;
}

/** The tags CloudFormation puts on what a stack creates, naming the stack (its id is an ARN with its region). */
export const STACK_NAME_TAG = 'aws:cloudformation:stack-name';
export const STACK_ID_TAG = 'aws:cloudformation:stack-id';

const OwnerSchema = z.string().trim().min(1).max(256);

/** The policy's `owners` section. No default: a policy without it keeps the id it had before it existed. */
export const OwnersSchema = z
  .strictObject({
    sources: z
      .array(z.enum(OWNER_SOURCES))
      .min(1)
      .refine((sources) => new Set(sources).size === sources.length, 'names a source twice')
      .default([...OWNER_SOURCES])
      .describe(
        'Where an owner is looked for, in order; the first that names one wins and the fallback owner comes last. assigned: chosen by a security approver in Slack; tag: an owner tag on the principal; group: byGroup; path: byPath; stack: the owner tag of the CloudFormation stack that created the principal; account: the owner tag of the account, then of its OUs (single-account mode: account); creator: who created it, from CloudTrail.',
      ),
    byGroup: z
      .record(z.string().min(1), OwnerSchema)
      .default({})
      .describe(
        "IAM group name → owner: a user's groups, in the order IAM lists them; the first mapped wins.",
      ),
    byPath: z
      .record(z.string().regex(/^\/(?:[\x21-\x7e]*\/)?$/), OwnerSchema, {
        error: (issue) => (issue.code === 'invalid_key' ? 'not an IAM path (/, or /…/)' : undefined),
      })
      .default({})
      .describe(
        'IAM path prefix (/teams/payments/) → owner of the users and roles under it; the longest wins.',
      ),
    account: OwnerSchema.optional().describe(
      "Single-account mode: the account's owner (in an organization, the account's and its OUs' owner tags name it).",
    ),
    byCreatorRole: z
      .record(z.string().min(1), OwnerSchema)
      .default({})
      .describe(
        'Role name (as CloudTrail names the caller) → owner: a pipeline role that creates credentials for a team. Any other role is not a person, and names no owner.',
      ),
  })
  .describe('How an owner is found for a credential with no owner tag.');
export type OwnersConfig = z.output<typeof OwnersSchema>;

/** `owners` as a policy without the section reads: every source, in the default order, nothing mapped. */
export const DEFAULT_OWNERS: OwnersConfig = {
  sources: [...OWNER_SOURCES],
  byGroup: {},
  byPath: {},
  byCreatorRole: {},
};

/**
 * What the scan knows of a credential's owner beyond the credential itself, each read once per run:
 * the stack's owner tag (DescribeStacks, once per stack), the account's or OU's (the organization's
 * listing), the creator (the events consumer's hints, loaded with the account's states).
 */
export interface OwnerClues {
  assigned?: { owner: string; by: string };
  stack?: { name: string; owner: string };
  account?: { owner: string; via: string };
  creator?: { owner: string; via: string };
}

/** The owner a credential resolves to, and where from: the first source in `sources` that names one. */
export function resolveOwner(
  credential: OwnerFacts,
  clues: OwnerClues,
  policy: { ownerTagKeys: readonly string[]; fallbackOwner: string; owners?: OwnersConfig },
): { owner: string; origin: OwnerOrigin } {
  const owners = policy.owners ?? DEFAULT_OWNERS;
  for (const source of owners.sources) {
    const found = fromSource(source, credential, clues, policy.ownerTagKeys, owners);
    if (found) return { owner: found.owner, origin: { source, via: found.via } };
  }
  return { owner: policy.fallbackOwner, origin: { source: 'fallback' } };
}

function fromSource(
  source: OwnerSource,
  credential: OwnerFacts,
  clues: OwnerClues,
  ownerTagKeys: readonly string[],
  owners: OwnersConfig,
): { owner: string; via: string } | undefined {
  switch (source) {
    case 'assigned':
      return clues.assigned && { owner: clues.assigned.owner, via: clues.assigned.by };
    case 'tag':
      return ownerTagOf(credential.tags, ownerTagKeys);
    case 'group': {
      const group = credential.groups?.find((name) => owners.byGroup[name]);
      return group ? { owner: owners.byGroup[group] as string, via: group } : undefined;
    }
    case 'path': {
      const path = credential.path;
      const prefix = path
        ? Object.keys(owners.byPath)
            .filter((p) => path.startsWith(p))
            .sort((a, b) => b.length - a.length)[0]
        : undefined;
      return prefix ? { owner: owners.byPath[prefix] as string, via: prefix } : undefined;
    }
    case 'stack':
      return clues.stack && { owner: clues.stack.owner, via: clues.stack.name };
    case 'account':
      return clues.account ?? (owners.account ? { owner: owners.account, via: 'owners.account' } : undefined);
    case 'creator':
      return clues.creator;
  }
}

/** The first of the policy's owner tag keys a set of tags gives a value to, and that value. */
export function ownerTagOf(
  tags: Readonly<Record<string, string>>,
  ownerTagKeys: readonly string[],
): { owner: string; via: string } | undefined {
  for (const key of ownerTagKeys) {
    const value = tags[key]?.trim();
    if (value) return { owner: value, via: key };
  }
  return undefined;
}

/**
 * Whether resolving needs `source`'s clue, given `clues` without it: no source before it names an
 * owner. The scan reads a clue that costs a call (a stack's tags) only then.
 */
export function needsSource(
  source: OwnerSource,
  credential: OwnerFacts,
  clues: OwnerClues,
  policy: { ownerTagKeys: readonly string[]; fallbackOwner: string; owners?: OwnersConfig },
): boolean {
  const sources = (policy.owners ?? DEFAULT_OWNERS).sources;
  if (!sources.includes(source)) return false;
  const found = resolveOwner(credential, clues, policy).origin.source;
  return found === 'fallback' || sources.indexOf(found) > sources.indexOf(source);
}

/** How a message shows a name (a tag key, a group, a stack) and a person (`slack:U…`, an email). */
export interface OriginFormat {
  name: (text: string) => string;
  person: (actor: string) => string;
}

const PLAIN: OriginFormat = { name: (text) => `\`${text}\``, person: (actor) => actor };

/** The owner's origin in words, for the one it names: "you created it (CreateAccessKey on 2026-03-02)". */
export function describeOwnerOrigin(origin: OwnerOrigin, format: OriginFormat = PLAIN): string {
  const via = origin.via ?? '';
  switch (origin.source) {
    case 'assigned':
      return `assigned to you by ${format.person(via)}`;
    case 'tag':
      return `its ${format.name(via)} tag names you`;
    case 'group':
      return `its user is in the IAM group ${format.name(via)}, which you own`;
    case 'path':
      return `it is under the IAM path ${format.name(via)}, which you own`;
    case 'stack':
      return `the CloudFormation stack ${format.name(via)}, which you own, created it`;
    case 'account':
      return via === 'owners.account'
        ? 'you own this account'
        : `you own ${/^(ou|r)-/.test(via) ? 'the OU' : 'the account'} ${format.name(via)} it is in`;
    case 'creator':
      return `you created it (${via})`;
    case 'fallback':
      return 'no tag, group, path, stack, account or creator names an owner: it comes to the fallback owner';
  }
}

/**
 * Who created a credential or its principal, from CloudTrail (the events consumer's `Create*` event,
 * or the backfill's LookupEvents): kept under the thing created (`creatorSubjectOf`), loaded with the
 * account's states, read as the `creator` source.
 */
export interface CreatorHint {
  accountId: string;
  /** `user/<name>`, `access-key/<id>`, `role/<name>`, `secret/<name>`. */
  subject: string;
  /** The owner it names: a person's email or Slack id, or the team `owners.byCreatorRole` maps a role to. */
  owner: string;
  /** `CreateAccessKey`, `CreateUser`, … */
  eventName: string;
  /** ISO: when it was created. */
  at: string;
  /** The caller's ARN, as CloudTrail gave it. */
  by: string;
}

/** What a creator hint of `kind` is kept under. */
export function creatorSubject(kind: 'user' | 'access-key' | 'role' | 'secret', name: string): string {
  return `${kind}/${name}`;
}

/**
 * The creator clue of a credential: its own creation (an access key's `CreateAccessKey`, a role's
 * `CreateRole`, a secret's `CreateSecret`), else its principal's (the user's `CreateUser`, for a key,
 * a password or a status credential: whoever made the user owns its console sign-in and its keys too).
 */
export function creatorClueOf(
  credential: { kind: CredentialKind; principal: string; id?: string },
  hints: ReadonlyMap<string, CreatorHint>,
): OwnerClues['creator'] {
  const subjects =
    credential.kind === 'access-key'
      ? [
          ...(credential.id ? [creatorSubject('access-key', credential.id)] : []),
          creatorSubject('user', credential.principal),
        ]
      : [
          creatorSubject(
            credential.kind === 'secret' || credential.kind === 'role' ? credential.kind : 'user',
            credential.principal,
          ),
        ];
  const hint = subjects.map((subject) => hints.get(subject)).find((h) => h !== undefined);
  return hint && { owner: hint.owner, via: `${hint.eventName} on ${hint.at.slice(0, 10)}` };
}
