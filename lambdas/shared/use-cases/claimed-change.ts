import type { DecisionStore } from '../adapters/decision-store';
import {
  DisableRefused,
  type EnforcementTarget,
  type Enforcer,
  RightSizeRefused,
} from '../adapters/enforcement';
import { parseCredentialId } from '../domain/credential';
import type { Claim, CredentialState, Decision, Transition } from '../domain/decision';
import { type PolicyConfig, revokesSessionsOn, type SessionRevocationMoment } from '../domain/policy';
import {
  type AnswerContext,
  checkAnswer,
  type OwnerAction,
  recordedRevocationOf,
} from '../domain/reauthorization';
import { principalLeaseOf } from '../domain/right-size';

/**
 * How long a claim holds when its holder never releases it (a crash): the longest a Lambda runs. A
 * holder that knows its own deadline passes less (`leaseMs`), so its claim frees sooner after a crash.
 */
export const CLAIM_LEASE_MS = 15 * 60_000;

export interface ClaimedChange<T> {
  credentialId: string;
  target: EnforcementTarget;
  /**
   * This attempt, unique: never shared by two deliveries of one message, since SQS may hand a message
   * to a second worker while the first still runs it.
   */
  holder: string;
  /** How long the claim holds if this attempt stops: at most until its Lambda cannot run any more. @default CLAIM_LEASE_MS */
  leaseMs?: number;
  action: Claim['action'];
  now: Date;
  /** Whether the change is still due on the state read now. */
  isDue: (state: CredentialState) => boolean;
  /** The change in IAM or Secrets Manager, on the claimed state. */
  act: (claimed: CredentialState) => Promise<T>;
  /** The decision that records it, on the state read at write time; undefined: it is no longer due. */
  confirm: (current: CredentialState | undefined, result: T) => Transition | undefined;
  /** Whether `act` may have changed whether the credential is usable (a rotation does not). */
  changesUsability: (result: T) => boolean;
}

export type ClaimedOutcome<T> =
  | { recorded: Decision; result: T }
  /** Someone else's decision came first; IAM now says what that decision says. */
  | { superseded: CredentialState | undefined; result: T }
  /**
   * This holder's claim expired while it acted and another took it: nothing recorded, and IAM made to
   * say what the record says (the state given), unless another holder is changing it now.
   */
  | { lostClaim: CredentialState | undefined; result: T }
  | { notDue: CredentialState | undefined }
  | { busy: Claim };

/**
 * Claim, act, confirm: the one way reauth changes IAM or Secrets Manager. The claim (a lease on the
 * credential) keeps two jobs from acting on it at once; the confirming write is conditional, so a
 * decision that came first (an owner's *Still needed* while a disable ran) wins; and then IAM is made
 * to say what the record says, never undoing the winner. A failure or crash leaves the claim to
 * expire; whoever finds it expired first (the next change, or the enforce job's sweep) converges what
 * it guarded (`repairAbandonedClaim`).
 *
 * The confirming write also requires that this holder still holds the claim. A holder paused past its
 * lease (a long GC, a throttled call retried) may find that another took the expired claim over and
 * put IAM back to what the record says; recording its own change then would record a disable over a
 * key that is Active. So a holder that lost its claim records nothing: it takes the claim again and
 * makes IAM say what the record now says, which undoes only its own late change. This rests on the
 * conditional write, not on the lease outlasting the Lambda's timeout.
 */
export async function changeUnderClaim<T>(
  deps: { store: DecisionStore; enforcer: Enforcer },
  change: ClaimedChange<T>,
): Promise<ClaimedOutcome<T>> {
  const { store } = deps;
  const { credentialId, holder } = change;
  const claimed = await store.claim(credentialId, {
    holder,
    action: change.action,
    now: change.now,
    leaseMs: change.leaseMs ?? CLAIM_LEASE_MS,
    isDue: change.isDue,
  });
  if ('notDue' in claimed) {
    // Nothing to do here, but an abandoned claim may have left IAM half-done.
    if (isAbandoned(claimed.notDue, change.now))
      await repairAbandonedClaim(deps, credentialId, { holder, now: change.now });
    return claimed;
  }
  if ('heldBy' in claimed) return { busy: claimed.heldBy };

  // An expired claim taken over: whatever its holder left half-done is put right before acting.
  if (claimed.tookOver)
    await convergeToRecord(
      deps.enforcer,
      change.target,
      claimed.claimed,
      change.now,
      claimed.tookOver.action,
    );
  // A failure here leaves the claim: the change may have been applied before the error (a lost
  // response), and only a converge under the claim may decide what IAM should say.
  const result = await change.act(claimed.claimed);
  const written = await store.transition(credentialId, (current) => change.confirm(current, result), {
    release: holder,
  });
  if (written) return { recorded: written, result };
  const current = await store.getState(credentialId);
  if (current?.claim?.holder !== holder) {
    const converged = change.changesUsability(result) ? await convergeAfterLostClaim(deps, change) : current;
    return { lostClaim: converged, result };
  }
  if (change.changesUsability(result))
    await convergeToRecord(deps.enforcer, change.target, current, change.now);
  await store.release(credentialId, holder);
  return { superseded: current, result };
}

/**
 * After a holder lost its claim while acting: the claim taken again (as `converge`) and IAM made to say
 * what the record says, which undoes this holder's late change and nothing recorded. Returns the state
 * converged to. When another holder has the claim now, IAM is left to it, since converging under it
 * could undo its change: a disable or restore it makes replaces this late one, but one that leaves
 * usability alone (a rotation, a revocation) does not, and nothing here waits for it to end.
 */
async function convergeAfterLostClaim<T>(
  deps: { store: DecisionStore; enforcer: Enforcer },
  change: ClaimedChange<T>,
): Promise<CredentialState | undefined> {
  const { credentialId, holder } = change;
  const taken = await deps.store.claim(credentialId, {
    holder,
    action: 'converge',
    now: change.now,
    leaseMs: CLAIM_LEASE_MS,
    isDue: () => true,
  });
  if ('heldBy' in taken) return deps.store.getState(credentialId);
  if ('notDue' in taken) return taken.notDue; // no state: nothing to converge
  await convergeToRecord(deps.enforcer, change.target, taken.claimed, change.now);
  await deps.store.release(credentialId, holder);
  return taken.claimed;
}

/**
 * A claim whose holder stopped (it expired): taken over, IAM made to say what the record says, and
 * given back. The record itself was never wrong: a change is recorded only once made. True when one
 * was repaired.
 */
export async function repairAbandonedClaim(
  deps: { store: DecisionStore; enforcer: Enforcer },
  credentialId: string,
  options: { holder: string; now: Date },
): Promise<boolean> {
  // A right-size or widen left half-done is put right under its principal's lease, as it was made:
  // while another answer on the same user or role runs, that answer sets its right-size, and this
  // repair waits for the next sweep.
  const abandoned = await deps.store.getState(credentialId);
  if (!abandoned || !isAbandoned(abandoned, options.now)) return false;
  const principalLease = changesRightSize(abandoned.claim?.action) ? principalLeaseOf(abandoned) : undefined;
  const leaseUntil = new Date(options.now.getTime() + CLAIM_LEASE_MS);
  // Its own holder: a change that holds the lease itself and finds its claim abandoned leaves the
  // repair to the next sweep rather than giving back its lease here.
  const leaseHolder = `${options.holder}:repair`;
  if (principalLease && !(await deps.store.lease(principalLease, leaseHolder, leaseUntil, options.now)))
    return false;
  try {
    const taken = await deps.store.claim(credentialId, {
      holder: options.holder,
      action: 'converge',
      now: options.now,
      leaseMs: CLAIM_LEASE_MS,
      isDue: (state) => isAbandoned(state, options.now),
    });
    if (!('claimed' in taken)) return false;
    const { claimed, tookOver } = taken;
    await convergeToRecord(deps.enforcer, targetOf(claimed), claimed, options.now, tookOver?.action);
    await deps.store.release(credentialId, options.holder);
    return true;
  } finally {
    if (principalLease) await deps.store.unlease(principalLease, leaseHolder);
  }
}

/** Whether a claim of this action may have changed the principal's right-size deny. */
function changesRightSize(action: Claim['action'] | undefined): boolean {
  return action === 'right-size' || action === 'widen';
}

/** Whether the state carries a claim whose holder has stopped (it expired). */
export function isAbandoned(state: CredentialState | undefined, now: Date): boolean {
  return state?.claim !== undefined && state.claim.until <= now.toISOString();
}

/** The enforcer's disable option that also ends the sessions issued before `now`, when the policy says so at this moment. */
export function sessionsEndingAt(
  policy: PolicyConfig,
  moment: SessionRevocationMoment,
  now: Date,
): { revokeSessionsBefore?: string } {
  return revokesSessionsOn(policy, moment) ? { revokeSessionsBefore: now.toISOString() } : {};
}

/** What the enforcer acts on for a credential. */
export function targetOf(state: CredentialState): EnforcementTarget {
  return { kind: state.kind, id: parseCredentialId(state.credentialId).id, principal: state.principal };
}

/**
 * Makes IAM or Secrets Manager say what the record says: disabled, or usable; with the sessions the
 * record says were revoked (by the disable, or when the open request's trust change came) revoked
 * again from the same moment, and otherwise without reauth's revocation. After a right-size or widen
 * (`halfDone`, the stopped claim's action), also the principal's right-size deny the record holds, or
 * none: the principal's other credentials' records follow the one answered, so this record is the
 * principal's.
 */
export async function convergeToRecord(
  enforcer: Enforcer,
  target: EnforcementTarget,
  state: CredentialState | undefined,
  now: Date,
  halfDone?: Claim['action'],
): Promise<void> {
  if (!state || state.status === 'deleted') return;
  if (changesRightSize(halfDone)) await enforcer.rightSizeAs(target, state.rightSize?.policyArn ?? null);
  const revoked = recordedRevocationOf(state, now);
  const options = { ...(revoked && { revokeSessionsBefore: revoked.issuedBefore }) };
  if (state.status === 'disabled') await enforcer.disable(target, options);
  else await enforcer.restore(target, options);
}

/**
 * A disable's or right-size's receipt, or why reauth refused it (`DisableRefused`, `RightSizeRefused`:
 * it would need a grant that can widen access, or IAM's quota stands in the way; nothing was changed).
 * A refusal is an outcome to tell, not a failure to retry.
 */
export async function refusedOr<T>(change: Promise<T>): Promise<T | { refused: string }> {
  try {
    return await change;
  } catch (error) {
    if (error instanceof DisableRefused || error instanceof RightSizeRefused)
      return { refused: error.message };
    throw error;
  }
}

/**
 * The claim an owner's answer acts under (the Slack worker's disable, restore, rotate, right-size):
 * due while the request it answers is still open to that answer (`checkAnswer`), so an answer that
 * came first wins. `stillOpen` is that test, for the answer's confirm.
 */
export function answerClaim(
  job: { credentialId: string; action: OwnerAction; requestSeq: number },
  state: CredentialState,
  context: AnswerContext,
  holder: string,
  leaseMs: number | undefined,
) {
  const stillOpen = (current: CredentialState | undefined): current is CredentialState =>
    !checkAnswer(current, job.action, job.requestSeq, context);
  return {
    stillOpen,
    claim: {
      credentialId: job.credentialId,
      target: targetOf(state),
      holder,
      now: context.now,
      ...(leaseMs !== undefined && { leaseMs }),
      isDue: stillOpen,
    },
  };
}
