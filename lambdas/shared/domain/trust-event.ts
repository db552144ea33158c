import * as z from 'zod';
import {
  CLOUDTRAIL_DETAIL_TYPE,
  type CloudTrailDetail,
  CloudTrailDetailSchema,
  type EventEnvelope,
  REAUTH_EVENT_SOURCE,
  REAUTH_EVENTS,
} from '../events/schemas';
import { IAM_CREATION_EVENTS, SECRET_CREATION_EVENTS } from './creators';
import { TRIGGERS, type Trigger } from './decision';
import type { PolicyConfig } from './policy';
import { type Judgement, judgeAdded, judgeBoundary, judgeReplaced } from './policy-grants';
import {
  isReauthSecretDeny,
  isRoleDisablePolicyArn,
  REAUTH_DENY_SID,
  revokedBeforeOfArn,
  statementsOf,
} from './reauth-marks';
import { isRightSizePolicyArn } from './right-size';

/**
 * What an event on reauth's bus means for trust: which credentials a change touches, whether it
 * widens access, turns a disabled credential back on, or is reauth's own. Pure; `trust-change.ts`
 * decides what each credential's record says about it.
 */

/** Whose credentials a change touches. */
export type TrustTarget =
  | { kind: 'user'; userName: string }
  /** One access key; without `userName` (a user's call on their own key) the user is read from its state. */
  | { kind: 'access-key'; accessKeyId: string; userName?: string }
  | { kind: 'role'; roleName: string }
  /** Every member user of the group: each of their access keys. */
  | { kind: 'group'; groupName: string }
  /** Every user, group member and role a managed policy is attached to (`ListEntitiesForPolicy`). */
  | { kind: 'policy'; policyArn: string }
  /** A part of a group's or a policy's change: these users' keys and these roles (see `FanOutPart`). */
  | { kind: 'principals'; users: string[]; roles: string[] }
  | { kind: 'secret'; secretId: string }
  | { kind: 'owner'; owner: string }
  | { kind: 'credential'; credentialId: string }
  | { kind: 'tag'; key: string; value: string };

/** A change to the conditions a credential was trusted under. */
export interface TrustChange {
  /** CloudTrail's eventID, or the EventBridge event id of a custom event: one request per event. */
  eventId: string;
  trigger: Trigger;
  target: TrustTarget;
  /** false: the change only reduces access; recorded, nobody is asked. */
  widens: boolean;
  /** In words, for the record and the owner. */
  what: string;
  /** ISO: when it happened (CloudTrail's eventTime, else the event's time). */
  at: string;
  /** Who made the call: CloudTrail's `userIdentity.arn`, when it has one. */
  by?: string;
  /**
   * The change takes away what reauth put in place to disable a credential (the key made Active, its
   * `reauth-disabled` role policy deleted or replaced, its secret deny gone), and not by reauth: on a
   * credential recorded as disabled before it happened, that is drift.
   */
  turnsBackOn?: boolean;
  /**
   * The document the change grants is not in the event (a managed policy attached, a new default
   * version, a boundary put): `judgeChange` reads it and settles `widens`. Until then the change
   * counts as a widening.
   */
  grant?: GrantToJudge;
}

/** What must be read to judge a change by its content. */
export type GrantToJudge =
  /** A managed policy attached: its default version. */
  | { kind: 'managed-policy'; policyArn: string }
  /**
   * A managed policy's new default version, against the default before it: the document when the
   * event carries it (CreatePolicyVersion), else the version to read (SetDefaultPolicyVersion).
   */
  | { kind: 'policy-version'; policyArn: string; versionId?: string; document?: unknown }
  /** A permissions boundary put on a principal: its default version. */
  | { kind: 'boundary'; policyArn: string };

/** What was read for a {@link GrantToJudge}: the document (and the one it replaced), or why it could not be. */
export type GrantDocuments = { document: unknown; previous?: unknown } | { unreadable: string };

/**
 * A change settled by the documents it grants: a widening keeps its request, anything else is recorded
 * and asks nobody. A document that could not be read counts as a widening, and the record says so.
 */
export function judgeChange(change: TrustChange, read: GrantDocuments): TrustChange {
  const { grant, ...settled } = change;
  if (!grant) return change;
  const judged: Judgement =
    'unreadable' in read
      ? {
          widens: true,
          why: `its document could not be read (${read.unreadable}), so it counts as a widening`,
        }
      : grant.kind === 'policy-version'
        ? judgeReplaced(read.previous, read.document)
        : grant.kind === 'boundary'
          ? judgeBoundary(read.document)
          : judgeAdded(read.document);
  return { ...settled, widens: judged.widens, what: `${change.what}: ${judged.why}` };
}

/**
 * A change that reaches more principals than one delivery should record (a policy attached to 2,000
 * users) is split into parts, each a message of its own on the consumer's queue: each part records
 * its principals' credentials, as the whole would have, and SQS retries each part alone. A part is
 * already judged, and names its principals, so it is recorded without reading IAM beyond them. Its
 * change never turns anything back on (only a key's or a role's own change does).
 */
export const FanOutPartSchema = z.object({
  reauthFanOutPart: z.object({
    account: z.string().regex(/^\d{12}$/),
    part: z.number().int().positive(),
    of: z.number().int().positive(),
    change: z.object({
      eventId: z.string().min(1),
      trigger: z.enum(TRIGGERS),
      target: z.object({
        kind: z.literal('principals'),
        users: z.array(z.string().min(1)),
        roles: z.array(z.string().min(1)),
      }),
      widens: z.boolean(),
      what: z.string().min(1).max(2000),
      at: z.string().min(1),
      by: z.string().optional(),
    }),
  }),
});
export type FanOutPart = z.infer<typeof FanOutPartSchema>['reauthFanOutPart'];

/** Who reauth is in CloudTrail: the roles of its functions that change IAM and Secrets Manager. */
export interface ReauthCallers {
  /** `arn:aws:iam::<account>:role/<name>`, as CloudTrail's `sessionContext.sessionIssuer.arn` names them. */
  reauthRoleArns: readonly string[];
}

/** An event reauth cannot use: it goes to the dead-letter queue with this reason. */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
}

export type Interpretation = { change: TrustChange } | { ignored: string };

/**
 * IAM calls that change what a user, a group's members or a role may do, and how each is judged:
 * `adds` a policy (judged by its document), `removes` one, `joins` or `leaves` a group, puts or deletes
 * a permissions boundary. A group's change reaches every member's keys.
 */
/** The calls by which reauth puts its policies on and takes them off. */
const REAUTH_POLICY_CALLS = new Set([
  'AttachUserPolicy',
  'DetachUserPolicy',
  'AttachRolePolicy',
  'DetachRolePolicy',
  'PutRolePermissionsBoundary',
  'DeleteRolePermissionsBoundary',
]);

const GRANT_CALLS: Readonly<Record<string, { on: 'user' | 'group' | 'role'; does: GrantCall }>> = {
  AttachUserPolicy: { on: 'user', does: 'adds' },
  PutUserPolicy: { on: 'user', does: 'adds' },
  DetachUserPolicy: { on: 'user', does: 'removes' },
  DeleteUserPolicy: { on: 'user', does: 'removes' },
  AddUserToGroup: { on: 'user', does: 'joins' },
  RemoveUserFromGroup: { on: 'user', does: 'leaves' },
  PutUserPermissionsBoundary: { on: 'user', does: 'bounds' },
  DeleteUserPermissionsBoundary: { on: 'user', does: 'unbounds' },
  AttachGroupPolicy: { on: 'group', does: 'adds' },
  PutGroupPolicy: { on: 'group', does: 'adds' },
  DetachGroupPolicy: { on: 'group', does: 'removes' },
  DeleteGroupPolicy: { on: 'group', does: 'removes' },
  AttachRolePolicy: { on: 'role', does: 'adds' },
  PutRolePolicy: { on: 'role', does: 'adds' },
  DetachRolePolicy: { on: 'role', does: 'removes' },
  DeleteRolePolicy: { on: 'role', does: 'removes' },
  PutRolePermissionsBoundary: { on: 'role', does: 'bounds' },
  DeleteRolePermissionsBoundary: { on: 'role', does: 'unbounds' },
};
type GrantCall = 'adds' | 'removes' | 'joins' | 'leaves' | 'bounds' | 'unbounds';

/**
 * Every IAM call reauth reads a change from, and the creations it reads a creator from
 * (`creators.ts`): the EventBridge rules match exactly these.
 */
export const IAM_CHANGE_EVENTS = [
  ...Object.keys(GRANT_CALLS),
  'CreatePolicyVersion',
  'SetDefaultPolicyVersion',
  'UpdateAssumeRolePolicy',
  'UpdateAccessKey',
  'TagUser',
  'UntagUser',
  'TagRole',
  'UntagRole',
  ...IAM_CREATION_EVENTS,
] as const;

/** Every Secrets Manager call reauth reads a change from, and the creation it reads a creator from. */
export const SECRET_CHANGE_EVENTS = [
  'PutResourcePolicy',
  'DeleteResourcePolicy',
  'UpdateSecret',
  'TagResource',
  'UntagResource',
  ...SECRET_CREATION_EVENTS,
] as const;

/**
 * What an event means for trust. Pure. Throws InvalidEventError for an event that is malformed
 * (it must not be retried); returns `ignored` for a well-formed one that changes nothing reauth asks about.
 *
 * A CloudTrail event is reauth's own only when both the caller is one of reauth's roles and the change
 * is exactly what reauth writes: a name (`reauth-disabled`, `ReauthDisabled`) can be copied by anyone,
 * and only reauth's functions can assume reauth's roles (their trust policy admits Lambda alone).
 *
 * reauth's own restore (the key Active, `reauth-disabled` deleted, its deny taken out of a secret's
 * policy, or that policy deleted when the deny was all it held) is told from the caller and the change
 * alone, not from the credential's state: reauth's functions make those calls only while restoring
 * under the credential's claim, recording the restore right after the call, or to undo a disable whose
 * record lost a race (the record never said disabled). So the state may still read `disabled` when the
 * event is read, because the restore's record comes after the call, and that is no drift. A function
 * that dies between the call and its record leaves its claim behind, and once it expires the enforce
 * job makes IAM say what the record says.
 */
export function interpretEvent(
  envelope: EventEnvelope,
  policy: PolicyConfig,
  callers: ReauthCallers,
): Interpretation {
  if (envelope.source === REAUTH_EVENT_SOURCE) return { change: interpretReauthEvent(envelope) };
  if (envelope['detail-type'] !== CLOUDTRAIL_DETAIL_TYPE) {
    throw new InvalidEventError(
      `unsupported event: source ${envelope.source}, detail-type ${envelope['detail-type']}`,
    );
  }
  const parsed = CloudTrailDetailSchema.safeParse(envelope.detail);
  if (!parsed.success)
    throw new InvalidEventError(`malformed CloudTrail detail: ${describeIssues(parsed.error)}`);
  const detail = parsed.data;
  if (detail.errorCode)
    return { ignored: `${detail.eventName} failed (${detail.errorCode}): nothing changed` };
  const call: Call = {
    detail,
    params: detail.requestParameters ?? {},
    at: detail.eventTime ?? envelope.time,
    byReauth: isReauthCaller(detail, callers),
  };
  return detail.eventSource === 'iam.amazonaws.com'
    ? interpretIam(call, policy)
    : interpretSecrets(call, policy);
}

/** A CloudTrail call, with what every interpretation of it needs. */
interface Call {
  detail: CloudTrailDetail;
  params: Record<string, unknown>;
  at: string;
  /** Made by one of reauth's own roles (from a session of it: a function's). */
  byReauth: boolean;
}

function isReauthCaller(detail: CloudTrailDetail, callers: ReauthCallers): boolean {
  const identity = detail.userIdentity;
  const issuer = identity?.sessionContext?.sessionIssuer;
  return (
    identity?.type === 'AssumedRole' &&
    issuer?.type === 'Role' &&
    issuer.arn !== undefined &&
    callers.reauthRoleArns.includes(issuer.arn)
  );
}

/** The change a call makes, as reauth records it. */
function changeOf(
  call: Call,
  target: TrustTarget,
  trigger: Trigger,
  widens: boolean,
  what: string,
  turnsBackOn = false,
): Interpretation {
  const by = call.detail.userIdentity?.arn;
  return {
    change: {
      eventId: call.detail.eventID,
      trigger,
      target,
      widens,
      what,
      at: call.at,
      ...(by && { by }),
      ...(turnsBackOn && { turnsBackOn }),
    },
  };
}

function interpretReauthEvent(envelope: EventEnvelope): TrustChange {
  const type = envelope['detail-type'];
  if (!(type in REAUTH_EVENTS)) throw new InvalidEventError(`unknown reauth event type "${type}"`);
  const spec = REAUTH_EVENTS[type as keyof typeof REAUTH_EVENTS];
  const parsed = spec.detail.safeParse(envelope.detail);
  if (!parsed.success)
    throw new InvalidEventError(`malformed "${type}" detail: ${describeIssues(parsed.error)}`);
  const detail = parsed.data as {
    owner?: string;
    selector?: { credentialId?: string; tag?: { key: string; value: string } };
    reason?: string;
  };
  const target: TrustTarget = detail.owner
    ? { kind: 'owner', owner: detail.owner }
    : detail.selector?.credentialId
      ? { kind: 'credential', credentialId: detail.selector.credentialId }
      : { kind: 'tag', key: detail.selector?.tag?.key ?? '', value: detail.selector?.tag?.value ?? '' };
  return {
    eventId: envelope.id,
    trigger: spec.trigger,
    target,
    widens: true,
    what: `${type}${detail.reason ? `: ${detail.reason}` : ''}`,
    at: envelope.time,
  };
}

function interpretIam(call: Call, policy: PolicyConfig): Interpretation {
  const { params } = call;
  const name = call.detail.eventName;
  const userName = stringParam(params, 'userName');
  const roleName = stringParam(params, 'roleName');
  const change = (
    target: TrustTarget,
    trigger: Trigger,
    widens: boolean,
    what: string,
    turnsBackOn = false,
  ) => changeOf(call, target, trigger, widens, what, turnsBackOn);
  const role = (): TrustTarget => ({ kind: 'role', roleName: required(roleName, name, 'roleName') });
  const policyArn = stringParam(params, 'policyArn') ?? stringParam(params, 'permissionsBoundary');
  // DeleteRolePermissionsBoundary names no policy: reauth's grant admits it only on its own boundary.
  const reauthsPolicy =
    isRoleDisablePolicyArn(policyArn) ||
    revokedBeforeOfArn(policyArn) !== undefined ||
    isRightSizePolicyArn(policyArn) ||
    name === 'DeleteRolePermissionsBoundary';
  // reauth attaches and detaches only its own policies (under /reauth/, each a deny): its disables,
  // restores, session revocations and right-sizes (an owner's answer, recorded by its own decision).
  // Anyone else's attach of one is judged like any policy (a deny).
  if (call.byReauth && reauthsPolicy && REAUTH_POLICY_CALLS.has(name))
    return {
      ignored: `reauth's own ${name} of ${policyLabel(policyArn ?? '')} on ${userName ? `user ${userName}` : `role ${roleName}`}`,
    };
  if (name === 'UpdateAccessKey') {
    const accessKeyId = required(stringParam(params, 'accessKeyId'), name, 'accessKeyId');
    const status = stringParam(params, 'status') ?? 'unknown';
    const whose = `access key ${accessKeyId}${userName ? ` of user ${userName}` : ''}`;
    // reauth makes a key Inactive to disable it (or to retire one its rotation replaced) and Active
    // to restore it: its own either way.
    if (call.byReauth)
      return { ignored: `reauth's own ${status === 'Active' ? 'restore' : 'disable'} of ${whose}` };
    const target: TrustTarget = { kind: 'access-key', accessKeyId, ...(userName && { userName }) };
    return status === 'Active'
      ? change(target, 'scope-changed', true, `UpdateAccessKey made ${whose} Active`, true)
      : change(target, 'scope-changed', false, `UpdateAccessKey made ${whose} ${status}`);
  }
  if (name === 'DetachRolePolicy' && isRoleDisablePolicyArn(policyArn)) {
    // Someone else took reauth's deny off: a role reauth disabled is usable again.
    return change(
      role(),
      'scope-changed',
      false,
      `DetachRolePolicy on role ${roleName} (reauth-disabled)`,
      true,
    );
  }
  if (name === 'TagUser' || name === 'UntagUser') {
    if (!touchesOwnerTag(params, policy))
      return { ignored: `${name} on ${userName} left the owner tag alone` };
    return change(
      { kind: 'user', userName: required(userName, name, 'userName') },
      'owner-changed',
      true,
      `${name} changed the owner tag of user ${userName}`,
    );
  }
  if (name === 'UpdateAssumeRolePolicy') {
    return change(
      role(),
      'scope-changed',
      true,
      `UpdateAssumeRolePolicy changed who may assume role ${roleName}`,
    );
  }
  const grantCall = GRANT_CALLS[name];
  if (grantCall) return interpretGrant(call, grantCall.on, grantCall.does);
  if (name === 'CreatePolicyVersion' || name === 'SetDefaultPolicyVersion')
    return interpretPolicyVersion(call);
  if (name === 'TagRole' || name === 'UntagRole') {
    if (!touchesOwnerTag(params, policy))
      return { ignored: `${name} on ${roleName} left the owner tag alone` };
    return change(role(), 'owner-changed', true, `${name} changed the owner tag of role ${roleName}`);
  }
  return { ignored: `${name} is not a change reauth asks about` };
}

/**
 * A policy added to or removed from a user, group or role, a group joined or left, a boundary put or
 * deleted. An inline policy is judged by the document in the event; a managed policy or a boundary
 * by its default version, read before the change is recorded (`grant`).
 */
function interpretGrant(call: Call, on: 'user' | 'group' | 'role', does: GrantCall): Interpretation {
  const { params } = call;
  const name = call.detail.eventName;
  const principal = required(stringParam(params, `${on}Name`), name, `${on}Name`);
  const target: TrustTarget =
    on === 'user'
      ? { kind: 'user', userName: principal }
      : on === 'group'
        ? { kind: 'group', groupName: principal }
        : { kind: 'role', roleName: principal };
  const whom = `${on} ${principal}${on === 'group' ? ' (every member)' : ''}`;
  const policyArn = stringParam(params, 'policyArn');
  const policyName = stringParam(params, 'policyName');
  const policy = policyArn
    ? `managed policy ${policyLabel(policyArn)}`
    : `inline policy ${policyName ?? '(unnamed)'}`;
  const groupName = stringParam(params, 'groupName');
  const change = (widens: boolean, what: string, grant?: GrantToJudge): Interpretation => {
    const interpreted = changeOf(call, target, 'scope-changed', widens, `${name}: ${what}`);
    if (!grant || !('change' in interpreted)) return interpreted;
    return { change: { ...interpreted.change, grant } };
  };
  switch (does) {
    case 'adds': {
      if (policyArn)
        return change(true, `${policy} attached to ${whom}`, { kind: 'managed-policy', policyArn });
      const judged = judgeAdded(params.policyDocument);
      return change(judged.widens, `${policy} put on ${whom}: ${judged.why}`);
    }
    case 'removes':
      return change(false, `${policy} ${policyArn ? 'detached from' : 'deleted from'} ${whom}`);
    case 'joins':
      return change(
        true,
        `user ${principal} added to group ${groupName ?? '(unnamed)'}, with every policy it has`,
      );
    case 'leaves':
      return change(false, `user ${principal} removed from group ${groupName ?? '(unnamed)'}`);
    case 'bounds': {
      const boundary = required(stringParam(params, 'permissionsBoundary'), name, 'permissionsBoundary');
      return change(true, `permissions boundary ${policyLabel(boundary)} put on ${whom}`, {
        kind: 'boundary',
        policyArn: boundary,
      });
    }
    case 'unbounds':
      return change(true, `permissions boundary deleted from ${whom}: nothing limits its policies now`);
  }
}

/**
 * A managed policy's new default version reaches every principal it is attached to; it is judged
 * against the default before it. A version created but not made the default changes nothing yet.
 */
function interpretPolicyVersion(call: Call): Interpretation {
  const { params } = call;
  const name = call.detail.eventName;
  const policyArn = required(stringParam(params, 'policyArn'), name, 'policyArn');
  const label = policyLabel(policyArn);
  if (name === 'CreatePolicyVersion' && params.setAsDefault !== true && params.setAsDefault !== 'true') {
    return { ignored: `CreatePolicyVersion on ${label} did not make it the default: nothing changed yet` };
  }
  const versionId =
    stringParam(params, 'versionId') ?? versionIdOf(call.detail.responseElements) ?? undefined;
  const interpreted = changeOf(
    call,
    { kind: 'policy', policyArn },
    'scope-changed',
    true,
    `${name}: ${versionId ?? 'a new version'} made the default of managed policy ${label} (every principal it is attached to)`,
  );
  if (!('change' in interpreted)) return interpreted;
  const grant: GrantToJudge = {
    kind: 'policy-version',
    policyArn,
    ...(versionId && { versionId }),
    ...(params.policyDocument !== undefined && { document: params.policyDocument }),
  };
  return { change: { ...interpreted.change, grant } };
}

/** `AdministratorAccess` for an AWS-managed policy, `team/deploy` (path and name) for a customer one. */
function policyLabel(policyArn: string): string {
  const match = /^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/(.+)$/.exec(policyArn);
  return match?.[2] ?? policyArn;
}

function versionIdOf(responseElements: unknown): string | undefined {
  const version = (responseElements as { policyVersion?: { versionId?: unknown } } | null | undefined)
    ?.policyVersion?.versionId;
  return typeof version === 'string' ? version : undefined;
}

function interpretSecrets(call: Call, policy: PolicyConfig): Interpretation {
  const { params } = call;
  const name = call.detail.eventName;
  const secretId = stringParam(params, 'secretId');
  const change = (trigger: Trigger, widens: boolean, what: string, turnsBackOn = false) =>
    changeOf(
      call,
      { kind: 'secret', secretId: required(secretId, name, 'secretId') },
      trigger,
      widens,
      what,
      turnsBackOn,
    );
  switch (name) {
    case 'PutResourcePolicy': {
      const statements = statementsOf(params.resourcePolicy);
      const denies = statements.some(isReauthSecretDeny);
      const borrowsName = statements.some((s) => !isReauthSecretDeny(s) && sidOf(s) === REAUTH_DENY_SID);
      // reauth puts a secret's policy only to disable it (the policy as it was, plus its exact deny) or
      // to restore it (the policy as it is, less that deny). By its role, a document with its exact deny
      // is its disable and one with no statement of that name is its restore; a statement that only
      // borrows the name is not reauth's, whoever wrote it.
      if (call.byReauth && !borrowsName) {
        return { ignored: `reauth's own ${denies ? 'disable' : 'restore'} of secret ${secretId}` };
      }
      // Judged by what it allows: a policy of denies only (reauth's among them or not) takes access away.
      const judged = judgeAdded(params.resourcePolicy);
      return change(
        'scope-changed',
        judged.widens,
        `PutResourcePolicy on secret ${secretId}${borrowsName ? ` (a ${REAUTH_DENY_SID} statement that is not reauth's deny)` : denies ? '' : " (without reauth's deny)"}: ${judged.why}`,
        !denies,
      );
    }
    case 'DeleteResourcePolicy':
      // reauth deletes a secret's policy only to restore it, when its deny was all the policy held.
      if (call.byReauth) return { ignored: `reauth's own restore of secret ${secretId}` };
      // Removing a resource policy removes its grants: recorded, nobody asked; it also removes reauth's deny.
      return change('scope-changed', false, `DeleteResourcePolicy on secret ${secretId}`, true);
    case 'UpdateSecret':
      if (!stringParam(params, 'kmsKeyId'))
        return { ignored: `UpdateSecret on ${secretId} kept its KMS key` };
      return change('scope-changed', true, `UpdateSecret changed the KMS key of secret ${secretId}`);
    case 'TagResource':
    case 'UntagResource':
      if (!touchesOwnerTag(params, policy))
        return { ignored: `${name} on ${secretId} left the owner tag alone` };
      return change('owner-changed', true, `${name} changed the owner tag of secret ${secretId}`);
    default:
      return { ignored: `${name} is not a change reauth asks about` };
  }
}

function sidOf(statement: unknown): unknown {
  return typeof statement === 'object' && statement !== null
    ? (statement as { Sid?: unknown }).Sid
    : undefined;
}

/** Whether a tagging call's tags (or untagging call's tag keys) include an owner tag key. */
function touchesOwnerTag(params: Record<string, unknown>, policy: PolicyConfig): boolean {
  const keys = [
    ...z
      .array(z.object({ key: z.string() }).or(z.object({ Key: z.string() })))
      .catch([])
      .parse(params.tags)
      .map((t) => ('key' in t ? t.key : t.Key)),
    ...z.array(z.string()).catch([]).parse(params.tagKeys),
  ];
  return keys.some((key) => policy.ownerTagKeys.includes(key));
}

function stringParam(params: Record<string, unknown>, key: string): string | undefined {
  const value = params[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function required(value: string | undefined, eventName: string, param: string): string {
  if (!value) throw new InvalidEventError(`${eventName} without requestParameters.${param}`);
  return value;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(detail)'}: ${issue.message}`).join('; ');
}
