import { z } from 'zod';
import {
  CLOUDTRAIL_DETAIL_TYPE,
  type CloudTrailDetail,
  CloudTrailDetailSchema,
  type EventEnvelope,
  REAUTH_EVENT_SOURCE,
  REAUTH_EVENTS,
} from '../events/schemas';
import type { Credential } from './credential';
import type { CredentialState, DecisionInput, StateInput, Transition, Trigger } from './decision';
import type { Evaluation } from './evaluate';
import { newRequest, openRequestOf } from './lifecycle';
import type { PolicyConfig, Tier } from './policy';
import { stateInputOf } from './reauthorization';

export interface DecisionContext {
  now: Date;
  policy: PolicyConfig;
  policyId: string;
  mode: 'report' | 'enforce';
  actor: string;
}

/** Whose credentials a change touches. */
export type TrustTarget =
  | { kind: 'user'; userName: string }
  | { kind: 'role'; roleName: string }
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
}

/** An event reauth cannot use: it goes to the dead-letter queue with this reason. */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
}

export type Interpretation = { change: TrustChange } | { ignored: string };

const IAM_USER_WIDENS = ['AttachUserPolicy', 'PutUserPolicy', 'AddUserToGroup'];
const IAM_USER_REDUCES = ['DetachUserPolicy', 'DeleteUserPolicy', 'RemoveUserFromGroup'];
const IAM_ROLE_WIDENS = ['UpdateAssumeRolePolicy', 'AttachRolePolicy', 'PutRolePolicy'];
/** reauth's own disable of a role and of a secret: never a trust change to ask about. */
export const REAUTH_ROLE_POLICY = 'reauth-disabled';
export const REAUTH_SECRET_STATEMENT = 'ReauthDisabled';

/**
 * What an event means for trust. Pure. Throws InvalidEventError for an event that is malformed
 * (it must not be retried); returns `ignored` for a well-formed one that changes nothing reauth asks about.
 */
export function interpretEvent(envelope: EventEnvelope, policy: PolicyConfig): Interpretation {
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
  return detail.eventSource === 'iam.amazonaws.com'
    ? interpretIam(detail, policy)
    : interpretSecrets(detail, policy);
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
  };
}

function interpretIam(detail: CloudTrailDetail, policy: PolicyConfig): Interpretation {
  const params = detail.requestParameters ?? {};
  const name = detail.eventName;
  const userName = stringParam(params, 'userName');
  const roleName = stringParam(params, 'roleName');
  const change = (target: TrustTarget, trigger: Trigger, widens: boolean, what: string): Interpretation => ({
    change: { eventId: detail.eventID, trigger, target, widens, what },
  });
  if (IAM_USER_WIDENS.includes(name) || IAM_USER_REDUCES.includes(name)) {
    const widens = IAM_USER_WIDENS.includes(name);
    const on =
      stringParam(params, 'policyArn') ??
      stringParam(params, 'policyName') ??
      stringParam(params, 'groupName');
    return change(
      { kind: 'user', userName: required(userName, name, 'userName') },
      'scope-changed',
      widens,
      `${name} on user ${userName}${on ? ` (${on})` : ''}`,
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
  if (IAM_ROLE_WIDENS.includes(name)) {
    if (name === 'PutRolePolicy' && stringParam(params, 'policyName') === REAUTH_ROLE_POLICY) {
      return { ignored: `reauth's own disable of role ${roleName}` };
    }
    const on = stringParam(params, 'policyArn') ?? stringParam(params, 'policyName');
    return change(
      { kind: 'role', roleName: required(roleName, name, 'roleName') },
      'scope-changed',
      true,
      `${name} on role ${roleName}${on ? ` (${on})` : ''}`,
    );
  }
  if (name === 'TagRole' || name === 'UntagRole') {
    if (!touchesOwnerTag(params, policy))
      return { ignored: `${name} on ${roleName} left the owner tag alone` };
    return change(
      { kind: 'role', roleName: required(roleName, name, 'roleName') },
      'owner-changed',
      true,
      `${name} changed the owner tag of role ${roleName}`,
    );
  }
  return { ignored: `${name} is not a change reauth asks about` };
}

function interpretSecrets(detail: CloudTrailDetail, policy: PolicyConfig): Interpretation {
  const params = detail.requestParameters ?? {};
  const name = detail.eventName;
  const secretId = stringParam(params, 'secretId');
  const change = (trigger: Trigger, widens: boolean, what: string): Interpretation => ({
    change: {
      eventId: detail.eventID,
      trigger,
      target: { kind: 'secret', secretId: required(secretId, name, 'secretId') },
      widens,
      what,
    },
  });
  switch (name) {
    case 'PutResourcePolicy':
      if ((stringParam(params, 'resourcePolicy') ?? '').includes(REAUTH_SECRET_STATEMENT)) {
        return { ignored: `reauth's own disable of secret ${secretId}` };
      }
      return change('scope-changed', true, `PutResourcePolicy on secret ${secretId}`);
    case 'DeleteResourcePolicy':
      // Removing a resource policy removes its grants: recorded, nobody asked.
      return change('scope-changed', false, `DeleteResourcePolicy on secret ${secretId}`);
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

/**
 * What a trust change records on one credential, given its state: a new request (or a new reason on
 * an open one) when the change widens access, an `observe` when it only reduces it; nothing when
 * this event was already recorded, or the credential is disabled, deleted, protected or exempt.
 */
export function planTrustChange(
  credentialId: string,
  credential: Credential,
  evaluation: Evaluation,
  current: CredentialState | undefined,
  change: TrustChange,
  context: DecisionContext,
): Transition | undefined {
  if (current?.lastEventId === change.eventId) return undefined;
  if (current && ['disabled', 'deleted', 'protected', 'exempt'].includes(current.status)) return undefined;
  if (evaluation.outcome === 'protected' || evaluation.outcome === 'exempt') return undefined;
  const tierName =
    evaluation.outcome === 'finding' ? evaluation.tierName : tierNameOf(credential, context.policy);
  const tier = context.policy.tiers[tierName] ?? context.policy.tiers[context.policy.defaultTier];
  const base: StateInput = current
    ? { ...stateInputOf(current), owner: evaluation.owner }
    : {
        credentialId,
        accountId: credential.accountId,
        kind: credential.kind,
        principal: credential.principal,
        owner: evaluation.owner,
        status: 'active',
        triggers: [],
        ...(credential.kind === 'access-key' && { keyCreatedAt: credential.createdAt.toISOString() }),
      };
  const decision = (action: DecisionInput['action'], reason: string): DecisionInput => ({
    credentialId,
    accountId: credential.accountId,
    kind: credential.kind,
    principal: credential.principal,
    owner: evaluation.owner,
    action,
    reason,
    actor: context.actor,
    at: context.now.toISOString(),
    mode: context.mode,
    policyId: context.policyId,
    evidence: {
      eventId: change.eventId,
      trigger: change.trigger,
      widens: change.widens,
      change: change.what,
    },
  });
  if (!change.widens) {
    return {
      state: { ...base, lastEventId: change.eventId },
      decision: decision('observe', `${change.what}: access only reduced, nothing to ask`),
    };
  }
  const triggers =
    base.status === 'pending' ? [...new Set([...base.triggers, change.trigger])] : [change.trigger];
  const request =
    current?.status === 'pending'
      ? openRequestOf(current)
      : newRequest(current, { tierName, tier: tier as Tier }, context.now);
  const why = base.status === 'pending' && base.why ? `${base.why}; ${change.what}` : change.what;
  return {
    state: {
      ...base,
      status: 'pending',
      triggers,
      ...request,
      why,
      lastUsedAt: credential.lastUsedAt?.toISOString() ?? null,
      lastEventId: change.eventId,
    },
    decision: decision('flag', `${change.what}: trust changed, the owner must reauthorize`),
  };
}

function tierNameOf(credential: Credential, policy: PolicyConfig): string {
  const tagged = credential.tags[policy.tierTagKey];
  return tagged && tagged in policy.tiers ? tagged : policy.defaultTier;
}
