import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type DecisionStore, StaleStateError } from '../adapters/decision-store';
import type { EnforcementTarget, Enforcer } from '../adapters/enforcement';
import type { GrantReader } from '../adapters/iam-grants';
import { readIamInventory, resolveAccessKeyIds } from '../adapters/iam-inventory';
import { readSecretsInventory } from '../adapters/secrets-inventory';
import { mapWithConcurrency } from '../concurrency';
import { type Credential, credentialIdOf, parseCredentialId } from '../domain/credential';
import type { CredentialState, Decision, Transition } from '../domain/decision';
import { evaluateCredential } from '../domain/evaluate';
import {
  type PolicyConfig,
  policyIdOf,
  revokesSessionsOn,
  SESSION_REVOCATION_MOMENTS,
} from '../domain/policy';
import type { RevokedSessions } from '../domain/reauth-marks';
import type { TrustZone } from '../domain/role-trust';
import { planDriftChange, planTrustChange } from '../domain/trust-change';
import { judgeChange, type TrustChange, type TrustTarget } from '../domain/trust-event';

export interface TrustEventDependencies {
  iam: IAMClient;
  secretsManager: SecretsManagerClient;
  store: DecisionStore;
  /** Ends the sessions of a credential whose request opens (`enforcement.revokeSessionsOn`); it only ever puts that policy. */
  enforcer: Enforcer;
  /** Reads the documents a change grants and whom a group's or a policy's change reaches; one per account and batch. */
  grants: GrantReader;
}

/**
 * The credential is under another job's claim (a disable, restore, rotation or converge under way, or
 * one that stopped and awaits the enforce job's repair), and this event would end its sessions: the
 * event is retried (SQS) rather than acted on beside that job.
 */
export class CredentialBusyError extends Error {
  override readonly name = 'CredentialBusyError';
}

/** How long a session revocation's claim holds if the consumer stops: longer than the consumer runs. */
const REVOCATION_LEASE_MS = 2 * 60_000;
/** Reads of a state that keeps changing under a revocation before giving up (SQS retries the event). */
const REVOCATION_ATTEMPTS = 4;
/**
 * Credentials recorded at once when a change reaches many (a policy attached to 2,000 principals):
 * each is its own conditional write, so the order does not matter, and a redelivery after a partial
 * run records only those the first delivery did not reach.
 */
const FAN_OUT_CONCURRENCY = 16;
/**
 * Principals one delivery records at most: beyond it a change is split into parts (`FanOutPart`).
 * Each user costs a ListAccessKeys (the credential report names no key ids), so a part of 100 takes
 * seconds on AWS, and a batch of ten parts stays inside the consumer's minute.
 */
export const FAN_OUT_PART_SIZE = 100;

/** The account's credentials, read once per batch of events however many need them. */
export type InventoryLoader = () => Promise<Credential[]>;

export function inventoryLoader(
  deps: Pick<TrustEventDependencies, 'iam' | 'secretsManager'>,
  /** `zone`: the organization's accounts in organization mode (see `ScanOptions.organizationAccounts`). */
  options: { accountId: string; policy: PolicyConfig; now: Date; zone?: TrustZone },
): InventoryLoader {
  let loading: Promise<Credential[]> | undefined;
  return () => {
    loading ??= Promise.all([
      readIamInventory(deps.iam, {
        accountId: options.accountId,
        now: options.now,
        reportMaxAgeMinutes: options.policy.credentialReportMaxAgeMinutes,
        zone: options.zone,
      }),
      readSecretsInventory(deps.secretsManager, { accountId: options.accountId }),
    ]).then(([iam, secrets]) => [...iam.accessKeys, ...iam.passwords, ...iam.roles, ...secrets]);
    return loading;
  };
}

/** Sends the parts of a change too large for one delivery, each as its own message. */
export type SplitFanOut = (parts: TrustChange[]) => Promise<void>;

export interface TrustChangeOutcome {
  /** The change as judged (a managed policy's document read): what was recorded. */
  change: TrustChange;
  /** Every credential the change touches. */
  affected: string[];
  /** Those a decision was recorded for (a repeated event records none). */
  recorded: string[];
  /** The parts it was split into, when it reached more principals than one delivery records. */
  parts?: number;
}

/**
 * Records what `change` means on each credential it touches: a request, or an observation. A change
 * whose document is not in the event (a managed policy, a new default version, a boundary) is judged
 * first, from what the reader role reads of it.
 */
export async function applyTrustChange(
  deps: TrustEventDependencies,
  interpreted: TrustChange,
  options: {
    accountId: string;
    policy: PolicyConfig;
    now: Date;
    inventory: InventoryLoader;
    /** Unique to this delivery: the holder of any claim it takes. */
    holder: string;
    /** Where a change reaching more than FAN_OUT_PART_SIZE principals goes, in parts; absent: recorded here whole. */
    split?: SplitFanOut;
  },
): Promise<TrustChangeOutcome> {
  const { policy, now } = options;
  const judged = interpreted.grant
    ? judgeChange(interpreted, await deps.grants.documents(interpreted.grant))
    : interpreted;
  const reach = await principalsReached(deps.grants, judged.target);
  const change: TrustChange = reach ? { ...judged, target: reach } : judged;
  if (reach && options.split && reach.users.length + reach.roles.length > FAN_OUT_PART_SIZE) {
    const parts = splitReach(reach).map((target) => ({ ...change, target }));
    await options.split(parts);
    return { change, affected: [], recorded: [], parts: parts.length };
  }
  const credentials = await credentialsFor(deps, change.target, options);
  const context = { now, policy, policyId: policyIdOf(policy), mode: policy.mode, actor: 'system:events' };
  const outcome: Omit<TrustChangeOutcome, 'change'> = { affected: [], recorded: [] };
  const { target } = change;
  if (target.kind === 'access-key' && change.turnsBackOn) {
    // A key reauth disabled is Inactive, so the credential report may not list it yet: its state is
    // all a drift needs.
    const credentialId = credentialIdOf({
      accountId: options.accountId,
      kind: 'access-key',
      id: target.accessKeyId,
    });
    if (!credentials.some((c) => credentialIdOf(c) === credentialId)) {
      outcome.affected.push(credentialId);
      const written = await deps.store.transition(credentialId, (current) =>
        planDriftChange(current, change, context),
      );
      if (written) outcome.recorded.push(credentialId);
    }
  }
  const moment = SESSION_REVOCATION_MOMENTS.find((m) => m === change.trigger);
  await mapWithConcurrency(credentials, FAN_OUT_CONCURRENCY, async (credential) => {
    const credentialId = credentialIdOf(credential);
    outcome.affected.push(credentialId);
    const plan: PlannedChange = (current, revoked) =>
      planTrustChange(
        credentialId,
        credential,
        evaluateCredential(credential, current, policy, now, credentialId),
        current,
        change,
        context,
        revoked,
      );
    // A secret has no sessions. A console password's request ends none either: the revocation is the
    // user's keys' to record (they are their own credentials here), not recorded twice on one user.
    const revokes =
      moment !== undefined &&
      revokesSessionsOn(policy, moment) &&
      credential.kind !== 'secret' &&
      credential.kind !== 'password';
    const written = revokes
      ? await recordWithRevocation(deps, credentialId, plan, {
          target: { kind: credential.kind, id: credential.id, principal: credential.principal },
          now,
          holder: options.holder,
        })
      : await deps.store.transition(credentialId, (current) => plan(current));
    if (written) outcome.recorded.push(credentialId);
  });
  return { change, ...outcome };
}

/** What a trust change records on a state, with the sessions ended as its request opens, if any. */
type PlannedChange = (
  current: CredentialState | undefined,
  revoked?: RevokedSessions,
) => Transition | undefined;

const opensRequest = (transition: Transition | undefined) => transition?.decision.action === 'flag';

/**
 * Records a trust change whose request, when it opens, ends the credential's sessions: the revocation
 * is put (dated now) and then recorded on the request and in the flag's evidence. Nothing is put when
 * the change opens no request (a repeated event, a disabled or exempt credential): then it is recorded
 * as it would be anyway.
 *
 * The order cannot leave the record saying more than IAM: a revocation is put before the decision that
 * records it, and a crash between the two leaves only a revocation without a record, which ends no new
 * session and is recorded by the event's retry (with a later moment, overwriting it). What could undo
 * it between the two (a restore's or a converge's removal) runs under the credential's claim, so the
 * put and the record run under a claim of their own (`revoke-sessions`); a credential with no state
 * yet has nothing that could remove it (both need a state), and its record is written only while there
 * still is none. A claim held by another job makes the event retry (CredentialBusyError), except an
 * expired `revoke-sessions` claim, which is taken over: it can have left nothing but a revocation put.
 */
async function recordWithRevocation(
  deps: TrustEventDependencies,
  credentialId: string,
  plan: PlannedChange,
  options: { target: EnforcementTarget; now: Date; holder: string },
): Promise<Decision | undefined> {
  const { store, enforcer } = deps;
  const { target, now, holder } = options;
  const at = now.toISOString();
  const revoke = async () => enforcer.revokeSessions(target, at);
  const free = (state: CredentialState) =>
    !state.claim || (state.claim.action === 'revoke-sessions' && state.claim.until <= at);
  for (let attempt = 1; attempt <= REVOCATION_ATTEMPTS; attempt++) {
    const current = await store.getState(credentialId);
    if (!opensRequest(plan(current))) return store.transition(credentialId, (state) => plan(state));
    if (!current) {
      const revoked = await revoke();
      const written = await store.transition(credentialId, (state) =>
        state ? undefined : plan(state, revoked),
      );
      if (written) return written;
      continue; // a state appeared meanwhile: from now on, under its claim
    }
    if (!free(current))
      throw new CredentialBusyError(`${credentialId} is claimed (${current.claim?.action})`);
    const claimed = await store.claim(credentialId, {
      holder,
      action: 'revoke-sessions',
      now,
      leaseMs: REVOCATION_LEASE_MS,
      isDue: (state) => free(state) && opensRequest(plan(state)),
    });
    if ('heldBy' in claimed)
      throw new CredentialBusyError(`${credentialId} is claimed (${claimed.heldBy.action})`);
    if ('notDue' in claimed) continue;
    const revoked = await revoke();
    const written = await store.transition(
      credentialId,
      (state) => (state && opensRequest(plan(state)) ? plan(state, revoked) : undefined),
      { release: holder },
    );
    if (written) return written;
    // It opens no request any more (its event recorded meanwhile), or this holder outlived its claim
    // and another took it: recorded as it now reads; the revocation stays, unrecorded, and ends no new
    // session.
    await store.release(credentialId, holder);
    return store.transition(credentialId, (state) => plan(state));
  }
  throw new StaleStateError(
    `${credentialId}: the state changed under ${REVOCATION_ATTEMPTS} attempts to record a session revocation`,
  );
}

/**
 * The users and roles a group's or a policy's change reaches: a group's members; a policy's users,
 * its groups' members and its roles, each once. Undefined for any other target.
 */
async function principalsReached(
  grants: GrantReader,
  target: TrustTarget,
): Promise<Extract<TrustTarget, { kind: 'principals' }> | undefined> {
  if (target.kind === 'group') {
    return {
      kind: 'principals',
      users: [...new Set(await grants.groupMembers(target.groupName))],
      roles: [],
    };
  }
  if (target.kind !== 'policy') return undefined;
  const { users, groups, roles } = await grants.policyEntities(target.policyArn);
  const members = await Promise.all(groups.map((group) => grants.groupMembers(group)));
  return {
    kind: 'principals',
    users: [...new Set([...users, ...members.flat()])],
    roles: [...new Set(roles)],
  };
}

/** Principals in parts of FAN_OUT_PART_SIZE: users first, then roles. */
function splitReach(
  reach: Extract<TrustTarget, { kind: 'principals' }>,
): Extract<TrustTarget, { kind: 'principals' }>[] {
  const all = [
    ...reach.users.map((name) => ({ user: name })),
    ...reach.roles.map((name) => ({ role: name })),
  ];
  const parts: Extract<TrustTarget, { kind: 'principals' }>[] = [];
  for (let start = 0; start < all.length; start += FAN_OUT_PART_SIZE) {
    const slice = all.slice(start, start + FAN_OUT_PART_SIZE);
    parts.push({
      kind: 'principals',
      users: slice.flatMap((p) => ('user' in p ? [p.user] : [])),
      roles: slice.flatMap((p) => ('role' in p ? [p.role] : [])),
    });
  }
  return parts;
}

/** The credentials a target names, each with its id (access keys resolved for their users only). */
async function credentialsFor(
  deps: TrustEventDependencies,
  target: TrustTarget,
  options: { accountId: string; policy: PolicyConfig; now: Date; inventory: InventoryLoader },
): Promise<(Credential & { id: string })[]> {
  const all = await options.inventory();
  const ownerOf = (c: Credential) => evaluateCredential(c, undefined, options.policy, options.now).owner;
  let matches: Credential[];
  switch (target.kind) {
    case 'user':
      matches = all.filter((c) => c.kind === 'access-key' && c.principal === target.userName);
      break;
    case 'access-key': {
      // A user's call on their own key names no user: the key's state knows it.
      const id = credentialIdOf({ accountId: options.accountId, kind: 'access-key', id: target.accessKeyId });
      const userName = target.userName ?? (await deps.store.getState(id))?.principal;
      matches = all.filter((c) => c.kind === 'access-key' && c.principal === userName);
      break;
    }
    case 'role':
      matches = all.filter((c) => c.kind === 'role' && c.principal === target.roleName);
      break;
    case 'group':
    case 'policy':
      // applyTrustChange has made them `principals`.
      throw new Error(`${target.kind} target not resolved to its principals`);
    case 'principals': {
      const users = new Set(target.users);
      const roles = new Set(target.roles);
      matches = all.filter(
        (c) =>
          // A user's console password signs in with the same permissions as its keys.
          ((c.kind === 'access-key' || c.kind === 'password') && users.has(c.principal)) ||
          (c.kind === 'role' && roles.has(c.principal)),
      );
      break;
    }
    case 'secret':
      matches = all.filter(
        (c) =>
          c.kind === 'secret' &&
          (c.principal === target.secretId || c.id === target.secretId || c.principalArn === target.secretId),
      );
      break;
    case 'owner':
      matches = all.filter((c) => ownerOf(c) === target.owner);
      break;
    case 'tag':
      matches = all.filter((c) => c.tags[target.key] === target.value);
      break;
    case 'credential': {
      const { kind, id } = parseCredentialId(target.credentialId);
      // An access key's user is known from its state; otherwise every key must be resolved to find it.
      const known = kind === 'access-key' ? await deps.store.getState(target.credentialId) : undefined;
      matches = all.filter(
        (c) =>
          c.kind === kind &&
          (kind !== 'access-key' ? c.id === id : known === undefined || c.principal === known.principal),
      );
      break;
    }
  }
  const keys = matches.filter((c) => c.kind === 'access-key' && !c.id);
  const resolved = keys.length > 0 ? (await resolveAccessKeyIds(deps.iam, keys)).credentials : [];
  const withIds = [...matches.filter((c) => c.id), ...resolved].filter(
    (c): c is Credential & { id: string } => c.id !== undefined,
  );
  if (target.kind === 'access-key') return withIds.filter((c) => c.id === target.accessKeyId);
  return target.kind === 'credential'
    ? withIds.filter((c) => credentialIdOf(c) === target.credentialId)
    : withIds;
}
