/**
 * The per-credential way of finding idle credentials, as a reference for `npm run bench`: one or more
 * calls per user, per key, per role and per secret. It applies reauth's idle rule (the tier named by
 * the principal's tier tag, else the default tier: unused for `idleDays`, or never used
 * `newCredentialGraceDays` after creation) to the same scope (active keys, secrets not pending
 * deletion, roles trusted by another account or tagged `reauth:*`), so it must find the same idle
 * credentials as `scanAccount`, only at a very different cost. Written independently of reauth's
 * inventory code on purpose: it is the cross-check.
 *
 * It records naively too: one unconditional PutItem per finding, on every run.
 */
import {
  GetAccessKeyLastUsedCommand,
  GetRoleCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListRolesCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  type Tag,
} from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  ListSecretsCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithConcurrency } from '../../lambdas/shared/concurrency';
import { type CredentialKind, credentialIdOf } from '../../lambdas/shared/domain/credential';
import { daysBetween } from '../../lambdas/shared/domain/evaluate';
import type { PolicyConfig, Tier } from '../../lambdas/shared/domain/policy';
import { credentialPk } from '../../lambdas/shared/table-layout';

export interface NaiveScanDependencies {
  iam: IAMClient;
  secretsManager: SecretsManagerClient;
  documents: DynamoDBDocumentClient;
  /** Where the naive scanner writes its findings (a table of its own, not reauth's). */
  tableName: string;
}

export interface NaiveScanOptions {
  accountId: string;
  policy: PolicyConfig;
  now: Date;
  /** Per-credential calls in flight. @default 8 */
  concurrency?: number;
}

export interface NaiveFinding {
  credentialId: string;
  kind: CredentialKind;
  principal: string;
  lastUsedAt: string | null;
  idleDays: number;
}

export interface NaiveScanReport {
  inventory: { accessKeys: number; secrets: number; roles: number };
  /** Idle credentials, sorted by credential id. */
  findings: NaiveFinding[];
  itemsWritten: number;
}

interface Seen {
  kind: CredentialKind;
  id: string;
  principal: string;
  createdAt: Date;
  lastUsedAt?: Date;
  tags: Record<string, string>;
}

export async function naiveScan(
  deps: NaiveScanDependencies,
  options: NaiveScanOptions,
): Promise<NaiveScanReport> {
  const concurrency = options.concurrency ?? 8;
  const [accessKeys, roles, secrets] = await Promise.all([
    listAccessKeys(deps.iam, concurrency),
    listThirdPartyRoles(deps.iam, options.accountId, concurrency),
    listSecrets(deps.secretsManager, concurrency),
  ]);

  const findings: NaiveFinding[] = [];
  for (const seen of [...accessKeys, ...roles, ...secrets]) {
    const tier = tierOf(seen.tags, options.policy);
    const idleDays = daysBetween(seen.lastUsedAt ?? seen.createdAt, options.now);
    const limit = seen.lastUsedAt ? tier.idleDays : tier.newCredentialGraceDays;
    if (idleDays < limit) continue;
    findings.push({
      credentialId: credentialIdOf({ accountId: options.accountId, kind: seen.kind, id: seen.id }),
      kind: seen.kind,
      principal: seen.principal,
      lastUsedAt: seen.lastUsedAt?.toISOString() ?? null,
      idleDays,
    });
  }
  findings.sort((a, b) => (a.credentialId < b.credentialId ? -1 : a.credentialId > b.credentialId ? 1 : 0));

  // No idea what it recorded last time: every finding is written again, on every run.
  const at = options.now.toISOString();
  await mapWithConcurrency(findings, concurrency, (finding) =>
    deps.documents.send(
      new PutCommand({
        TableName: deps.tableName,
        Item: { pk: credentialPk(finding.credentialId), sk: 'NAIVE', ...finding, at },
      }),
    ),
  );

  return {
    inventory: { accessKeys: accessKeys.length, secrets: secrets.length, roles: roles.length },
    findings,
    itemsWritten: findings.length,
  };
}

/** ListUsers (paged), then per user ListAccessKeys and ListUserTags, then per key GetAccessKeyLastUsed. */
async function listAccessKeys(iam: IAMClient, concurrency: number): Promise<Seen[]> {
  const userNames: string[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListUsersCommand({ Marker: marker, MaxItems: 1000 }));
    for (const user of page.Users ?? []) if (user.UserName) userNames.push(user.UserName);
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);

  const perUser = await mapWithConcurrency(userNames, concurrency, async (userName) => {
    const [keys, tags] = await Promise.all([
      iam.send(new ListAccessKeysCommand({ UserName: userName })),
      iam.send(new ListUserTagsCommand({ UserName: userName })),
    ]);
    return (keys.AccessKeyMetadata ?? [])
      .filter((key) => key.Status === 'Active' && key.AccessKeyId && key.CreateDate)
      .map((key) => ({
        userName,
        keyId: key.AccessKeyId as string,
        createdAt: key.CreateDate as Date,
        tags: tags.Tags,
      }));
  });

  return mapWithConcurrency(perUser.flat(), concurrency, async (key) => {
    const { AccessKeyLastUsed } = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.keyId }));
    return {
      kind: 'access-key' as const,
      id: key.keyId,
      principal: key.userName,
      createdAt: key.createdAt,
      ...(AccessKeyLastUsed?.LastUsedDate && { lastUsedAt: AccessKeyLastUsed.LastUsedDate }),
      tags: tagMap(key.tags),
    };
  });
}

/** ListRoles (paged), then GetRole per role for its last use, tags and trust policy. */
async function listThirdPartyRoles(iam: IAMClient, accountId: string, concurrency: number): Promise<Seen[]> {
  const roleNames: string[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListRolesCommand({ Marker: marker, MaxItems: 1000 }));
    for (const role of page.Roles ?? []) if (role.RoleName) roleNames.push(role.RoleName);
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);

  const roles = await mapWithConcurrency(
    roleNames,
    concurrency,
    async (roleName): Promise<Seen | undefined> => {
      const { Role } = await iam.send(new GetRoleCommand({ RoleName: roleName }));
      if (!Role?.CreateDate || Role.Path?.startsWith('/aws-service-role/')) return undefined;
      const tags = tagMap(Role.Tags);
      const optedIn = Object.keys(tags).some((key) => key.startsWith('reauth:'));
      if (!optedIn && trustedOtherAccounts(Role.AssumeRolePolicyDocument, accountId).length === 0)
        return undefined;
      return {
        kind: 'role',
        id: roleName,
        principal: roleName,
        createdAt: Role.CreateDate,
        ...(Role.RoleLastUsed?.LastUsedDate && { lastUsedAt: Role.RoleLastUsed.LastUsedDate }),
        tags,
      };
    },
  );
  return roles.filter((role): role is Seen => role !== undefined);
}

/** ListSecrets (paged) for the names only, then DescribeSecret per secret. */
async function listSecrets(secretsManager: SecretsManagerClient, concurrency: number): Promise<Seen[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await secretsManager.send(new ListSecretsCommand({ NextToken: nextToken, MaxResults: 100 }));
    for (const secret of page.SecretList ?? []) if (secret.Name) names.push(secret.Name);
    nextToken = page.NextToken;
  } while (nextToken);

  const secrets = await mapWithConcurrency(names, concurrency, async (name): Promise<Seen | undefined> => {
    const secret = await secretsManager.send(new DescribeSecretCommand({ SecretId: name }));
    if (!secret.ARN || !secret.CreatedDate || secret.DeletedDate) return undefined;
    return {
      kind: 'secret',
      id: secret.ARN,
      principal: secret.Name ?? name,
      createdAt: secret.CreatedDate,
      ...(secret.LastAccessedDate && { lastUsedAt: secret.LastAccessedDate }),
      tags: tagMap(secret.Tags),
    };
  });
  return secrets.filter((secret): secret is Seen => secret !== undefined);
}

function tierOf(tags: Record<string, string>, policy: PolicyConfig): Tier {
  const requested = tags[policy.tierTagKey];
  const name = requested && requested in policy.tiers ? requested : policy.defaultTier;
  return policy.tiers[name] as Tier;
}

function tagMap(
  tags: readonly { Key?: string; Value?: string }[] | Tag[] | undefined,
): Record<string, string> {
  return Object.fromEntries((tags ?? []).flatMap((t) => (t.Key ? [[t.Key, t.Value ?? '']] : [])));
}

/** Accounts other than `accountId` (`*`: anyone) that a trust policy, URL-encoded as IAM returns it, lets assume the role. */
function trustedOtherAccounts(document: string | undefined, accountId: string): string[] {
  if (!document) return [];
  let policy: { Statement?: unknown };
  try {
    policy = JSON.parse(
      document.trimStart().startsWith('{') ? document : decodeURIComponent(document.replace(/\+/g, ' ')),
    );
  } catch {
    return [];
  }
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  const accounts = new Set<string>();
  for (const statement of statements as { Effect?: string; Action?: unknown; Principal?: unknown }[]) {
    if (statement?.Effect !== 'Allow') continue;
    const actions = [statement.Action ?? []].flat() as unknown[];
    if (!actions.some((a) => typeof a === 'string' && /^(\*|sts:\*|sts:AssumeRole)$/i.test(a))) continue;
    const principal = statement.Principal;
    const aws = principal === '*' ? '*' : (principal as { AWS?: unknown } | undefined)?.AWS;
    for (const entry of [aws ?? []].flat()) {
      if (typeof entry !== 'string') continue;
      const account =
        entry === '*'
          ? '*'
          : (/^(\d{12})$/.exec(entry)?.[1] ?? /^arn:aws[\w-]*:(?:iam|sts)::(\d{12}):/.exec(entry)?.[1]);
      if (account && account !== accountId) accounts.add(account);
    }
  }
  return [...accounts];
}
