import {
  type AccessKeyMetadata,
  GenerateCredentialReportCommand,
  GetAccountAuthorizationDetailsCommand,
  GetCredentialReportCommand,
  type GetCredentialReportCommandOutput,
  type IAMClient,
  ListAccessKeysCommand,
  type RoleDetail,
  type Tag,
} from '@aws-sdk/client-iam';
import { mapWithConcurrency } from '../concurrency';
import type { Credential, StatusCredentialKind } from '../domain/credential';
import { isRoleDisablePolicyArn, revokedBeforeOfArn } from '../domain/reauth-marks';
import { classifyTrust, type TrustZone } from '../domain/role-trust';
import { withContentAsCdata } from './credential-report-body';
import {
  listAllServiceCredentials,
  listStatusCredentials,
  type StatusCredential,
} from './status-credentials';

/** One credential report line, keyed by the report's own column names (AWS may add columns). */
export type CredentialReportRow = Readonly<Record<string, string>>;

export interface CredentialReportOptions {
  now: Date;
  /** A report generated less than this long before `now` is reused instead of generating a new one. */
  maxAgeMinutes: number;
  /** Injected by tests; @default a real timer */
  sleep?: (ms: number) => Promise<void>;
  /** Total time spent waiting for IAM to generate the report before giving up. @default 300_000 (5 min) */
  maxWaitMs?: number;
}

/** IAM never produced a credential report within the allowed wait. */
export class CredentialReportUnavailableError extends Error {
  override name = 'CredentialReportUnavailableError';
}

const ROOT_ACCOUNT_ROW = '<root_account>';
/**
 * How often a report being generated is asked for: fixed and short, since AWS takes 3 to 9 seconds to
 * generate one and every second of overshoot is a second the account's scan waits (doubling from 1 s
 * overshot by about 3 s on average).
 */
const POLL_INTERVAL_MS = 1_000;
/** IAM's LimitExceeded on GenerateCredentialReport backs off, doubling from this up to MAX_DELAY_MS. */
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 16_000;
const DEFAULT_MAX_WAIT_MS = 300_000;

// The SDK names errors after its exception classes; the raw IAM codes are accepted too (other clients, fakes).
const REPORT_IN_PROGRESS = ['CredentialReportNotReadyException', 'ReportInProgress'];
const REPORT_NOT_PRESENT = ['CredentialReportNotPresentException', 'ReportNotPresent'];
const REPORT_EXPIRED = ['CredentialReportExpiredException', 'ReportExpired'];
const LIMIT_EXCEEDED = ['LimitExceededException', 'LimitExceeded'];
const NO_SUCH_ENTITY = ['NoSuchEntityException', 'NoSuchEntity'];

export interface CredentialReport {
  rows: CredentialReportRow[];
  /** When IAM generated it: how fresh the inventory built on it is. */
  generatedAt: Date;
}

/**
 * The account's credential report as rows, `<root_account>` left out: one call when a report younger
 * than `maxAgeMinutes` exists, otherwise generate it (unless one is being generated already) and poll
 * every POLL_INTERVAL_MS (backing off only when IAM says its limit is exceeded).
 */
export async function readCredentialReport(
  iam: IAMClient,
  options: CredentialReportOptions,
): Promise<CredentialReport> {
  const existing = await getReport(iam);
  if (existing.kind === 'ready' && isFresh(existing.output, options)) return parseReport(existing.output);

  const wait = createWaits(options.sleep ?? realSleep, options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
  // A report already being generated (the organization's list step starts them ahead) is waited for,
  // not asked for again.
  let generate = existing.kind !== 'in-progress';
  if (!generate) await wait.poll('report generation started ahead');
  for (;;) {
    if (generate) {
      const state = await generateReport(iam, wait.backoff);
      if (state !== 'COMPLETE') await wait.poll(`report generation ${state ?? 'pending'}`);
    }
    generate = true;
    // Once IAM says the report is complete it is the newest IAM will give (it reuses one under 4 hours
    // old), so its age is not checked again.
    for (;;) {
      const report = await getReport(iam);
      if (report.kind === 'ready') return parseReport(report.output);
      await wait.poll(report.reason);
      if (report.kind === 'missing') break; // expired or gone meanwhile: generate again
    }
  }
}

type ReportResult =
  | { kind: 'ready'; output: GetCredentialReportCommandOutput }
  | { kind: 'in-progress' | 'missing'; reason: string };

async function getReport(iam: IAMClient): Promise<ReportResult> {
  try {
    return { kind: 'ready', output: await iam.send(withContentAsCdata(new GetCredentialReportCommand({}))) };
  } catch (error) {
    if (hasName(error, REPORT_IN_PROGRESS)) return { kind: 'in-progress', reason: 'report in progress' };
    if (hasName(error, REPORT_NOT_PRESENT)) return { kind: 'missing', reason: 'no report present' };
    if (hasName(error, REPORT_EXPIRED)) return { kind: 'missing', reason: 'report expired' };
    throw error;
  }
}

async function generateReport(
  iam: IAMClient,
  wait: (reason: string) => Promise<void>,
): Promise<string | undefined> {
  for (;;) {
    try {
      const { State } = await iam.send(new GenerateCredentialReportCommand({}));
      return State;
    } catch (error) {
      if (!hasName(error, LIMIT_EXCEEDED)) throw error;
      await wait('GenerateCredentialReport limit exceeded');
    }
  }
}

function isFresh(output: GetCredentialReportCommandOutput, options: CredentialReportOptions): boolean {
  if (!output.GeneratedTime) return false;
  return options.now.getTime() - output.GeneratedTime.getTime() < options.maxAgeMinutes * 60_000;
}

/**
 * The two waits of a report's reading, with one bounded total (past it they throw instead of
 * sleeping): `poll`, a fixed short interval while the report is generated, and `backoff`, doubling,
 * when IAM says its limit is exceeded (throttling the SDK retries itself).
 */
function createWaits(
  sleep: (ms: number) => Promise<void>,
  maxWaitMs: number,
): { poll: (reason: string) => Promise<void>; backoff: (reason: string) => Promise<void> } {
  let delay = FIRST_DELAY_MS;
  let waited = 0;
  const waitFor = async (ms: number, reason: string) => {
    if (waited + ms > maxWaitMs) {
      throw new CredentialReportUnavailableError(
        `IAM credential report not available after waiting ${Math.round(waited / 1000)}s (last: ${reason})`,
      );
    }
    await sleep(ms);
    waited += ms;
  };
  return {
    poll: (reason) => waitFor(POLL_INTERVAL_MS, reason),
    backoff: async (reason) => {
      await waitFor(delay, reason);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    },
  };
}

function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseReport(output: GetCredentialReportCommandOutput): CredentialReport {
  if (!output.Content || !output.GeneratedTime)
    throw new CredentialReportUnavailableError('IAM returned a credential report without content or time');
  return {
    rows: parseCredentialReportCsv(new TextDecoder().decode(output.Content)),
    generatedAt: output.GeneratedTime,
  };
}

/** The report's CSV as rows keyed by its header, `<root_account>` left out. */
export function parseCredentialReportCsv(csv: string): CredentialReportRow[] {
  const [header, ...lines] = parseCsv(csv);
  if (!header) return [];
  return lines
    .map((fields) => Object.fromEntries(header.map((column, i) => [column, fields[i] ?? ''])))
    .filter((row) => row.user !== ROOT_ACCOUNT_ROW);
}

/**
 * RFC 4180: IAM user names may contain commas, so quoted fields are honoured. Each field is one
 * `slice` of the text (found with `indexOf`), never built a character at a time: at 20,000 credentials
 * the character-by-character version made a string per character and added 140 MB of garbage.
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    // A field is unquoted and quoted stretches up to a comma or a line end: a quote opens a quoted
    // stretch wherever it stands, and a doubled quote inside one is a quote.
    let field = '';
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === COMMA || c === LF || c === CR) break;
      if (c === QUOTE) {
        let from = i + 1;
        for (;;) {
          const close = text.indexOf('"', from);
          if (close < 0) {
            field += text.slice(from);
            i = n;
            break;
          }
          field += text.slice(from, close);
          if (text.charCodeAt(close + 1) !== QUOTE) {
            i = close + 1;
            break;
          }
          field += '"';
          from = close + 2;
        }
      } else {
        const end = unquotedEnd(text, i);
        field += text.slice(i, end);
        i = end;
      }
    }
    record.push(field);
    if (i >= n) break;
    if (text.charCodeAt(i) === COMMA) {
      i += 1;
      if (i === n) record.push('');
      continue;
    }
    if (text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF) i += 1;
    i += 1;
    records.push(record);
    record = [];
  }
  if (record.length > 0) records.push(record);
  return records.filter((r) => !(r.length === 1 && r[0] === ''));
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

/** Where an unquoted stretch ends: at the next comma, quote, line end or the text's end. */
function unquotedEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === COMMA || c === QUOTE || c === LF || c === CR) return i;
  }
  return text.length;
}

/**
 * One access-key credential per active key slot of the report. The report has no key ids: `id` stays
 * undefined and `keySlot` says which key it is (see `resolveAccessKeyIds`). Each slot reads only its
 * own columns.
 */
export function accessKeysFromReport(rows: readonly CredentialReportRow[], accountId: string): Credential[] {
  const keys: Credential[] = [];
  for (const row of rows) {
    const user = row.user;
    if (!user || user === ROOT_ACCOUNT_ROW) continue;
    for (const slot of [1, 2] as const) {
      if (row[`access_key_${slot}_active`] !== 'true') continue;
      // An active key's last_rotated is its creation; were it ever missing, the user's creation is the
      // oldest the key can be, so it is reviewed rather than spared.
      const createdAt =
        reportDate(row[`access_key_${slot}_last_rotated`]) ?? reportDate(row.user_creation_time);
      if (!createdAt) continue;
      keys.push({
        accountId,
        kind: 'access-key',
        keySlot: slot,
        principal: user,
        principalArn: row.arn ?? '',
        createdAt,
        lastRotatedAt: createdAt,
        lastUsedAt: reportDate(row[`access_key_${slot}_last_used_date`]),
        ...usedWhere(row[`access_key_${slot}_last_used_service`], row[`access_key_${slot}_last_used_region`]),
        tags: {},
      });
    }
  }
  return keys;
}

/**
 * One password credential per user whose console password is enabled (`password_enabled`), id the
 * user name: its last sign-in is `password_last_used` (`no_information` when it never signed in), and
 * it was set at `password_last_changed` (the user's creation when the report has no date).
 */
export function passwordsFromReport(rows: readonly CredentialReportRow[], accountId: string): Credential[] {
  const passwords: Credential[] = [];
  for (const row of rows) {
    const user = row.user;
    if (!user || user === ROOT_ACCOUNT_ROW || row.password_enabled !== 'true') continue;
    const createdAt = reportDate(row.password_last_changed) ?? reportDate(row.user_creation_time);
    if (!createdAt) continue;
    passwords.push({
      accountId,
      kind: 'password',
      id: user,
      principal: user,
      principalArn: row.arn ?? '',
      createdAt,
      lastRotatedAt: createdAt,
      lastUsedAt: reportDate(row.password_last_used),
      tags: {},
    });
  }
  return passwords;
}

/** The report's last-used service and region; `N/A` (never used) and `not_supported` mean none. */
function usedWhere(
  service: string | undefined,
  region: string | undefined,
): Pick<Credential, 'lastUsedService' | 'lastUsedRegion'> {
  const known = (value: string | undefined) => (value && /^[a-z0-9-]+$/.test(value) ? value : undefined);
  const lastUsedService = known(service);
  const lastUsedRegion = known(region);
  return { ...(lastUsedService && { lastUsedService }), ...(lastUsedRegion && { lastUsedRegion }) };
}

/** Report dates are ISO-8601; `N/A`, `no_information`, `not_supported` and empty mean none. */
function reportDate(value: string | undefined): Date | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** What evaluation reads of an IAM user: what can name its keys' owner. */
export interface UserDetail {
  tags: Record<string, string>;
  groups: string[];
  path: string;
}

export interface AuthorizationDetails {
  /** Every IAM user, by user name. */
  users: Map<string, UserDetail>;
  roles: RoleDetail[];
  sessionRevocations: SessionRevocations;
}

/**
 * Where reauth's `reauth-sessions-before-…` policy is attached, and from when (ISO: sessions issued
 * before it end): by user name and by role name. Read from the listing's attached policies, so the
 * drift check sees a revocation go without a call per user or role.
 */
export interface SessionRevocations {
  users: Map<string, string>;
  roles: Map<string, string>;
}

/** Users and roles of the account from GetAccountAuthorizationDetails: a page per 1000 entities. */
export async function readAuthorizationDetails(iam: IAMClient): Promise<AuthorizationDetails> {
  const users = new Map<string, UserDetail>();
  const roles: RoleDetail[] = [];
  const sessionRevocations: SessionRevocations = { users: new Map(), roles: new Map() };
  // The latest of reauth's session policies attached (their ARN names the moment).
  const revokedBefore = (attached: readonly { PolicyArn?: string }[] = []) =>
    attached
      .flatMap((p) => revokedBeforeOfArn(p.PolicyArn) ?? [])
      .sort()
      .at(-1);
  let marker: string | undefined;
  do {
    const page = await iam.send(
      new GetAccountAuthorizationDetailsCommand({ Filter: ['User', 'Role'], MaxItems: 1000, Marker: marker }),
    );
    for (const user of page.UserDetailList ?? []) {
      if (!user.UserName) continue;
      users.set(user.UserName, {
        tags: tagRecord(user.Tags),
        groups: user.GroupList ?? [],
        path: user.Path ?? '/',
      });
      const revoked = revokedBefore(user.AttachedManagedPolicies);
      if (revoked) sessionRevocations.users.set(user.UserName, revoked);
    }
    for (const role of page.RoleDetailList ?? []) {
      const revoked = revokedBefore(role.AttachedManagedPolicies);
      if (role.RoleName && revoked) sessionRevocations.roles.set(role.RoleName, revoked);
    }
    for (const role of page.RoleDetailList ?? []) roles.push(evaluatedPartOf(role));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return { users, roles, sessionRevocations };
}

/**
 * What `rolesInScope` reads of a role, and nothing else: a page holds every role's inline policies,
 * instance profiles and attached policies, which kept whole made the listing the scan's largest
 * holding. Of the attached policies only reauth's disable policy matters.
 */
function evaluatedPartOf(role: RoleDetail): RoleDetail {
  const disables = (role.AttachedManagedPolicies ?? []).filter((p) => isRoleDisablePolicyArn(p.PolicyArn));
  return {
    RoleName: role.RoleName,
    Arn: role.Arn,
    CreateDate: role.CreateDate,
    Path: role.Path,
    Tags: role.Tags,
    AssumeRolePolicyDocument: role.AssumeRolePolicyDocument,
    ...(disables.length > 0 && { AttachedManagedPolicies: disables }),
    ...(role.PermissionsBoundary && { PermissionsBoundary: role.PermissionsBoundary }),
    ...(role.RoleLastUsed && { RoleLastUsed: role.RoleLastUsed }),
  };
}

function tagRecord(tags: readonly Tag[] | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const tag of tags ?? []) {
    if (tag.Key !== undefined) record[tag.Key] = tag.Value ?? '';
  }
  return record;
}

const SERVICE_LINKED_PATH = '/aws-service-role/';
const REAUTH_TAG_PREFIX = 'reauth:';

/**
 * Roles reauth keeps honest: third-party connectors (trusted by an account outside the zone of trust,
 * or by an OIDC or SAML provider), or tagged `reauth:*` (an explicit opt-in, whoever the role trusts).
 * Service-linked roles are AWS's, never in scope.
 */
export function rolesInScope(
  roleDetails: readonly RoleDetail[],
  accountId: string,
  zone?: TrustZone,
): Credential[] {
  const roles: Credential[] = [];
  for (const role of roleDetails) {
    if (!role.RoleName || !role.Arn || !role.CreateDate) continue;
    if (role.Path?.startsWith(SERVICE_LINKED_PATH)) continue;
    const tags = tagRecord(role.Tags);
    const trust = classifyTrust(role.AssumeRolePolicyDocument, accountId, zone);
    const tagged = Object.keys(tags).some((key) => key.startsWith(REAUTH_TAG_PREFIX));
    if (trust.trustedAccounts.length === 0 && trust.federated.length === 0 && !tagged) continue;
    const disabledByReauth =
      (role.AttachedManagedPolicies ?? []).some((policy) => isRoleDisablePolicyArn(policy.PolicyArn)) ||
      isRoleDisablePolicyArn(role.PermissionsBoundary?.PermissionsBoundaryArn);
    roles.push({
      accountId,
      kind: 'role',
      id: role.RoleName,
      principal: role.RoleName,
      principalArn: role.Arn,
      createdAt: role.CreateDate,
      lastUsedAt: role.RoleLastUsed?.LastUsedDate,
      ...usedWhere(undefined, role.RoleLastUsed?.Region),
      tags,
      path: role.Path ?? '/',
      trustedAccounts: trust.trustedAccounts,
      requiresExternalId: trust.requiresExternalId,
      ...(trust.federated.length > 0 && { federated: trust.federated }),
      ...(disabledByReauth && { disabledByReauth }),
    });
  }
  return roles;
}

export interface IamInventoryOptions {
  accountId: string;
  /**
   * Read the users' status credentials too (absent: not read, and `statusCredentials` is empty: the
   * events consumer has no use for them). `sshKeysOf` says whose SSH keys to list: IAM has no
   * account-wide listing of them, so each costs one ListSSHPublicKeys call (see `listsSshKeysOf`).
   */
  statusCredentials?: { sshKeysOf: (userName: string) => boolean };
  now: Date;
  reportMaxAgeMinutes: number;
  /** The organization's accounts, whose trust is not a third party's; absent: single-account mode. */
  zone?: TrustZone;
  sleep?: (ms: number) => Promise<void>;
}

export interface IamInventory {
  /** One per active key slot, `id` undefined until resolved. */
  accessKeys: Credential[];
  /** One per user with a console password. */
  passwords: Credential[];
  /** The users' Active signing certificates, SSH public keys and service-specific credentials, when asked for. */
  statusCredentials: Credential[];
  roles: Credential[];
  /** When IAM generated the credential report the access keys come from. */
  reportGeneratedAt: Date;
  sessionRevocations: SessionRevocations;
}

/**
 * Access keys, console passwords, status credentials and in-scope roles of the account: the credential
 * report and GetAccountAuthorizationDetails pages, and for the status credentials one paged
 * ListServiceSpecificCredentials of all users, ListSigningCertificates for each user the report shows
 * with a certificate, and ListSSHPublicKeys for each user (IAM has no other way to find SSH keys).
 */
export async function readIamInventory(iam: IAMClient, options: IamInventoryOptions): Promise<IamInventory> {
  // One after the other: each read's peak (a page of authorization details parsed from XML, the report
  // decoded and split) is garbage once its result is kept, and two at once add their peaks. The report
  // is usually ready (generated ahead), so this costs the listing's few pages of latency.
  const details = await readAuthorizationDetails(iam);
  const report = await readCredentialReport(iam, {
    now: options.now,
    maxAgeMinutes: options.reportMaxAgeMinutes,
    sleep: options.sleep,
  });
  // A user's keys and password name the same owner: the user's tags, groups and path.
  const withUserDetail = (credential: Credential): Credential => {
    const user = details.users.get(credential.principal);
    return user ? { ...credential, tags: user.tags, groups: user.groups, path: user.path } : credential;
  };
  return {
    accessKeys: accessKeysFromReport(report.rows, options.accountId).map(withUserDetail),
    passwords: passwordsFromReport(report.rows, options.accountId).map(withUserDetail),
    statusCredentials: options.statusCredentials
      ? (
          await readStatusCredentials(iam, report.rows, {
            accountId: options.accountId,
            sshKeysOf: options.statusCredentials.sshKeysOf,
          })
        ).map(withUserDetail)
      : [],
    roles: rolesInScope(details.roles, options.accountId, options.zone),
    reportGeneratedAt: report.generatedAt,
    sessionRevocations: details.sessionRevocations,
  };
}

/** Users' certificate and SSH key listings in flight at once: IAM throttles per account. */
const LIST_USER_CREDENTIALS_CONCURRENCY = 4;

/**
 * The Active status credentials of the report's users. A certificate shows in the report
 * (`cert_N_active`) but without its id, so only users with an active one are listed; inactive ones
 * (reauth's disables among them) are not credentials to ask about, and the enforcer reads them itself.
 */
export async function readStatusCredentials(
  iam: IAMClient,
  rows: readonly CredentialReportRow[],
  options: { accountId: string; sshKeysOf: (userName: string) => boolean },
): Promise<Credential[]> {
  const users = rows.flatMap((row) => (row.user && row.user !== ROOT_ACCOUNT_ROW ? [row] : []));
  const arnOf = new Map(users.map((row) => [row.user as string, row.arn ?? '']));
  const listings: [StatusCredentialKind, string][] = [
    ...users
      .filter((row) => row.cert_1_active === 'true' || row.cert_2_active === 'true')
      .map((row): [StatusCredentialKind, string] => ['signing-certificate', row.user as string]),
    ...users
      .filter((row) => options.sshKeysOf(row.user as string))
      .map((row): [StatusCredentialKind, string] => ['ssh-key', row.user as string]),
  ];
  const perUser = await mapWithConcurrency(
    listings,
    LIST_USER_CREDENTIALS_CONCURRENCY,
    async ([kind, user]) => (await listStatusCredentials(iam, kind, user)) ?? [],
  );
  const listed = [...perUser.flat(), ...(await listAllServiceCredentials(iam))];
  return listed
    .filter((c) => c.status === 'Active')
    .map((c) => statusCredentialOf(c, options.accountId, arnOf.get(c.userName) ?? ''));
}

function statusCredentialOf(c: StatusCredential, accountId: string, principalArn: string): Credential {
  return {
    accountId,
    kind: c.kind,
    id: c.id,
    principal: c.userName,
    principalArn,
    createdAt: c.createdAt,
    // Replaced, never changed in place: its age is its rotation's.
    lastRotatedAt: c.createdAt,
    ...(c.serviceName && { serviceName: c.serviceName }),
    tags: {},
  };
}

export interface ResolvedAccessKeys {
  /** The keys given, each access key with its `id`. */
  credentials: Credential[];
  /** Report slots with no matching key any more (rotated or deleted since the report), and why. */
  unresolved: (Credential & { reason: string })[];
}

/** Users' key listings in flight at once: findings are few, and IAM throttles per account. */
const LIST_KEYS_CONCURRENCY = 4;

/**
 * Gives each report slot its access key id: ListAccessKeys once per distinct user, a slot matching the
 * key created in the same second. Only for findings — this is the per-credential cost.
 */
export async function resolveAccessKeyIds(
  iam: IAMClient,
  keys: readonly Credential[],
): Promise<ResolvedAccessKeys> {
  const pending = keys.filter((key) => key.kind === 'access-key' && !key.id);
  const users = [...new Set(pending.map((key) => key.principal))];
  const listings = new Map<string, AccessKeyMetadata[] | undefined>(
    await mapWithConcurrency(
      users,
      LIST_KEYS_CONCURRENCY,
      async (user) => [user, await listAccessKeys(iam, user)] as const,
    ),
  );

  const credentials: Credential[] = [];
  const unresolved: ResolvedAccessKeys['unresolved'] = [];
  for (const key of keys) {
    if (key.kind !== 'access-key' || key.id) {
      credentials.push(key);
      continue;
    }
    const listed = listings.get(key.principal);
    if (!listed) {
      unresolved.push({ ...key, reason: 'user no longer exists' });
      continue;
    }
    const second = toSecond(key.createdAt);
    const matches = listed.filter((meta) => meta.CreateDate && toSecond(meta.CreateDate) === second);
    const [match, ...others] = matches;
    if (!match?.AccessKeyId) {
      unresolved.push({ ...key, reason: 'no key created at that time (rotated since the report?)' });
    } else if (others.length > 0) {
      // Two keys created in the same second: guessing could act on the busy key instead of the idle one.
      unresolved.push({ ...key, reason: 'two keys created in the same second' });
    } else {
      credentials.push({ ...key, id: match.AccessKeyId });
    }
  }
  return { credentials, unresolved };
}

async function listAccessKeys(iam: IAMClient, userName: string): Promise<AccessKeyMetadata[] | undefined> {
  const keys: AccessKeyMetadata[] = [];
  let marker: string | undefined;
  try {
    do {
      const page = await iam.send(new ListAccessKeysCommand({ UserName: userName, Marker: marker }));
      keys.push(...(page.AccessKeyMetadata ?? []));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
  } catch (error) {
    if (hasName(error, NO_SUCH_ENTITY)) return undefined;
    throw error;
  }
  return keys;
}

function toSecond(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function hasName(error: unknown, names: readonly string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}
