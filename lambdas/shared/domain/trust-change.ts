import type { Credential } from './credential';
import {
  type CredentialState,
  type DecisionInput,
  type StateInput,
  stateInputOf,
  type Transition,
} from './decision';
import type { Evaluation } from './evaluate';
import { identify } from './identification';
import { newRequest, openRequestOf } from './lifecycle';
import type { PolicyConfig, Tier } from './policy';
import type { RevokedSessions } from './reauth-marks';
import { planDrift } from './reauthorization';
import type { TrustChange } from './trust-event';

/** SQS keeps a message 14 days at most: an event id remembered a day longer outlives every redelivery. */
export const EVENT_ID_RETENTION_DAYS = 15;
const DAY_MS = 24 * 3600 * 1000;

export interface DecisionContext {
  now: Date;
  policy: PolicyConfig;
  policyId: string;
  mode: 'report' | 'enforce';
  actor: string;
}

/**
 * What a trust change records on one credential, given its state: a new request (or a new reason on
 * an open one) when the change widens access, an `observe` when it only reduces it, a `drift` when it
 * turns back on a credential recorded as disabled before it happened; nothing when this event was
 * already recorded for it, or the credential is disabled, deleted, protected or exempt. The event id
 * goes into the state the decision's transaction writes, so no delivery of it records it again.
 * `revokedSessions`: the sessions reauth ended as the request opens (`revokeSessionsOn`), recorded in
 * the flag's evidence and on the request; ignored when the change opens none.
 */
export function planTrustChange(
  credentialId: string,
  credential: Credential,
  evaluation: Evaluation,
  current: CredentialState | undefined,
  change: TrustChange,
  context: DecisionContext,
  revokedSessions?: RevokedSessions,
): Transition | undefined {
  if (current && change.eventId in recordedEventIds(current)) return undefined;
  if (current?.status === 'disabled') return planDriftChange(current, change, context);
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
  const decision = (
    action: DecisionInput['action'],
    reason: string,
    more: Record<string, unknown> = {},
  ): DecisionInput => ({
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
      ...(change.by && { by: change.by }),
      ...more,
    },
  });
  if (!change.widens) {
    return {
      state: withEventId(base, current, change.eventId, context.now),
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
    state: withEventId(
      {
        ...base,
        status: 'pending',
        triggers,
        ...request,
        why,
        lastUsedAt: credential.lastUsedAt?.toISOString() ?? null,
        identification: identify(credential, context.policy.vendors),
        ...(revokedSessions && { revokedSessions }),
      },
      current,
      change.eventId,
      context.now,
    ),
    decision: decision('flag', `${change.what}: trust changed, the owner must reauthorize`, {
      ...(revokedSessions && { revokedSessions }),
    }),
  };
}

/**
 * A change that turns back on a credential recorded as disabled (since before the change) is drift:
 * recorded, and the request reopens (`planDrift`); reauth does not disable it again by itself. Only the
 * state is needed: a key reauth disabled is Inactive, so the inventory may not list it.
 */
export function planDriftChange(
  current: CredentialState | undefined,
  change: TrustChange,
  context: DecisionContext,
): Transition | undefined {
  if (!current || current.status !== 'disabled' || !change.turnsBackOn) return undefined;
  if (change.eventId in recordedEventIds(current) || happenedBefore(change.at, current.disabledAt)) {
    return undefined;
  }
  const drift = planDrift(
    current,
    { what: change.what, by: change.by ?? null, seenBy: change.eventId },
    context.policy,
    context,
  );
  return { ...drift, state: withEventId(drift.state, current, change.eventId, context.now) };
}

/** The trust-change events recorded on a state, id → ISO time (an old item's `lastEventId` as one of them). */
export function recordedEventIds(state: CredentialState): Record<string, string> {
  return {
    ...(state.lastEventId !== undefined && { [state.lastEventId]: state.updatedAt }),
    ...state.eventIds,
  };
}

/**
 * `next` remembering `eventId` with those `current` remembers, less any older than SQS can redeliver;
 * the old single `lastEventId` is folded in and no longer written.
 */
function withEventId(
  next: StateInput,
  current: CredentialState | undefined,
  eventId: string,
  now: Date,
): StateInput {
  const { lastEventId: _folded, ...rest } = next;
  const keepFrom = now.getTime() - EVENT_ID_RETENTION_DAYS * DAY_MS;
  const kept = Object.entries(current ? recordedEventIds(current) : {}).filter(
    ([, at]) => Date.parse(at) >= keepFrom,
  );
  return { ...rest, eventIds: { ...Object.fromEntries(kept), [eventId]: now.toISOString() } };
}

/**
 * Whether a change happened before the disable it would undo: then the disable came after it and put
 * reauth's mark back, and the change is no drift (a late or repeated delivery). CloudTrail's eventTime
 * has whole seconds, so a change in the disable's own second counts as after it.
 */
function happenedBefore(at: string, disabledAt: string | undefined): boolean {
  const changed = Date.parse(at);
  const disabled = Date.parse(disabledAt ?? '');
  return (
    Number.isFinite(changed) && Number.isFinite(disabled) && changed < Math.floor(disabled / 1000) * 1000
  );
}

function tierNameOf(credential: Credential, policy: PolicyConfig): string {
  const tagged = credential.tags[policy.tierTagKey];
  return tagged && tagged in policy.tiers ? tagged : policy.defaultTier;
}
