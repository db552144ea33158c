import { CloudTrailDetailSchema, type CloudTrailIdentity } from '../events/schemas';
import { type CreatorHint, creatorSubject, DEFAULT_OWNERS, type OwnersConfig } from './owners';

/**
 * Who created a credential, read from CloudTrail: the events consumer reads each creation as it
 * happens, the backfill reads the last 90 days from LookupEvents. Pure. A creation names an owner only
 * when its caller is a person (or a pipeline role the policy maps to a team): anyone else's creation
 * is no hint, and the owner comes from the other sources or the fallback.
 */

/** IAM is a global service: its CloudTrail events are in us-east-1 only (EventBridge's and the history's). */
export const IAM_EVENTS_REGION = 'us-east-1';

/** The IAM calls that create a credential or its principal; the IAM rules match them too. */
export const IAM_CREATION_EVENTS = [
  'CreateUser',
  'CreateAccessKey',
  'CreateRole',
  'CreateLoginProfile',
] as const;
/** The Secrets Manager call that creates a secret. */
export const SECRET_CREATION_EVENTS = ['CreateSecret'] as const;
export const CREATION_EVENTS: readonly string[] = [...IAM_CREATION_EVENTS, ...SECRET_CREATION_EVENTS];

export function isCreationEvent(eventName: unknown): boolean {
  return typeof eventName === 'string' && CREATION_EVENTS.includes(eventName);
}

export function isIamCreation(eventName: string): boolean {
  return (IAM_CREATION_EVENTS as readonly string[]).includes(eventName);
}

/** IAM Identity Center's roles: a session of one is a person, named by the session name. */
const SSO_ROLE_PREFIX = 'AWSReservedSSO_';
const EMAIL = /^[^@\s/]+@[^@\s/]+\.[^@\s/]+$/;

/**
 * The creator hint of a CloudTrail record (an EventBridge event's `detail`, or LookupEvents'
 * `CloudTrailEvent` parsed), or why it names nobody. `accountId`: the account the credential is in.
 */
export function creatorHintOf(
  record: unknown,
  context: { accountId: string; owners?: OwnersConfig },
): { hint: CreatorHint } | { none: string } {
  const parsed = CloudTrailDetailSchema.safeParse(record);
  if (!parsed.success) return { none: 'not a CloudTrail record of IAM or Secrets Manager' };
  const detail = parsed.data;
  const name = detail.eventName;
  if (!isCreationEvent(name)) return { none: `${name} creates nothing reauth keeps a creator for` };
  if (detail.errorCode) return { none: `${name} failed (${detail.errorCode}): nothing was created` };
  const identity = detail.userIdentity;
  const subject = subjectOf(name, detail.requestParameters ?? {}, detail.responseElements ?? {}, identity);
  if (!subject) return { none: `${name} names no user, key, role or secret` };
  const caller = ownerOfCaller(identity, context.owners ?? DEFAULT_OWNERS);
  if ('none' in caller) return { none: `${name} of ${subject}: ${caller.none}` };
  if (!detail.eventTime) return { none: `${name} of ${subject} has no eventTime` };
  return {
    hint: {
      accountId: context.accountId,
      subject,
      owner: caller.owner,
      eventName: name,
      at: detail.eventTime,
      by: identity?.arn ?? '',
    },
  };
}

/** What a creation created: the hint is kept under it (`creatorSubject`). */
function subjectOf(
  name: string,
  params: Record<string, unknown>,
  response: Record<string, unknown>,
  identity: CloudTrailIdentity | undefined,
): string | undefined {
  // A user's call on their own key or login profile names no user: it is the caller's.
  const userName =
    text(params.userName) ?? (identity?.type === 'IAMUser' ? text(identity.userName) : undefined);
  switch (name) {
    case 'CreateUser':
      return maybe('user', text(params.userName));
    case 'CreateLoginProfile':
      // A console password is the user's: a hint on the user, kept only if none came first (CreateUser's).
      return maybe('user', userName);
    case 'CreateAccessKey': {
      // The key's id is in the response only: without it the hint could not be told from the user's.
      const key = response.accessKey as { accessKeyId?: unknown } | undefined;
      return maybe('access-key', text(key?.accessKeyId));
    }
    case 'CreateRole':
      return maybe('role', text(params.roleName));
    case 'CreateSecret':
      return maybe('secret', text(params.name));
    default:
      return undefined;
  }
}

/**
 * The person (or team) behind a call, or why there is none:
 * - a source identity (`sessionContext.sourceIdentity`), which the person set when assuming the role
 *   and which stays with every role the session chains to: that person, whatever the role;
 * - an IAM Identity Center session (a role named `AWSReservedSSO_…`) named by an email: that person;
 * - an IAM user named by an email: that person;
 * - any other role: the team `owners.byCreatorRole` maps it to, or nobody (a pipeline, a service);
 * - the root user: nobody. Whoever holds the root password is not recorded, and a root call is
 *   usually the account's break-glass, so it names no one to ask.
 */
export function ownerOfCaller(
  identity: CloudTrailIdentity | undefined,
  owners: OwnersConfig,
): { owner: string } | { none: string } {
  if (!identity) return { none: 'the caller is not recorded' };
  const type = identity.type;
  if (type === 'Root') return { none: 'the root user is no person reauth can ask' };
  if (type === 'IAMUser') {
    const userName = text(identity.userName) ?? identity.arn?.split('/').pop();
    return userName && EMAIL.test(userName)
      ? { owner: userName }
      : { none: `IAM user ${userName ?? '(unnamed)'} is not named by an email` };
  }
  if (type === 'AssumedRole') {
    const context = identity.sessionContext as { sourceIdentity?: unknown } | undefined;
    const source = text(context?.sourceIdentity);
    if (source) return { owner: source };
    const [, roleName, session] =
      /:assumed-role\/([^/]+)\/(.+)$/.exec(identity.arn ?? '') ?? ([] as (string | undefined)[]);
    const role = text(identity.sessionContext?.sessionIssuer?.userName) ?? roleName;
    if (!role) return { none: 'the role is not recorded' };
    if (role.startsWith(SSO_ROLE_PREFIX) && session && EMAIL.test(session)) return { owner: session };
    const team = owners.byCreatorRole[role];
    return team
      ? { owner: team }
      : { none: `role ${role} is not a person, and owners.byCreatorRole does not map it` };
  }
  return { none: `a ${type ?? 'caller of unknown type'} is no person reauth can ask` };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function maybe(
  kind: 'user' | 'access-key' | 'role' | 'secret',
  name: string | undefined,
): string | undefined {
  return name ? creatorSubject(kind, name) : undefined;
}
