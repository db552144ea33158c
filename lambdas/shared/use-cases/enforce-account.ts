import { randomUUID } from 'node:crypto';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DecisionStore } from '../adapters/decision-store';
import type { Enforcer } from '../adapters/enforcement';
import type { SlackClient } from '../adapters/slack-client';
import type { StackOwnerReader } from '../adapters/stack-owners';
import type { CheckpointSigner } from '../domain/checkpoint';
import { planDeadline, planEnforcement } from '../domain/deadlines';
import type { CredentialState, DisableReceipt } from '../domain/decision';
import { type PolicyConfig, policyIdOf } from '../domain/policy';
import {
  planDisable,
  planDrift,
  planInUseAtDeadline,
  planRefusedDisable,
  planRequestStep,
  recordedRevocationOf,
} from '../domain/reauthorization';
import { escalationMessage } from '../slack/messages';
import {
  changeUnderClaim,
  isAbandoned,
  refusedOr,
  repairAbandonedClaim,
  sessionsEndingAt,
  targetOf,
} from './claimed-change';
import {
  escalateBackdoors,
  escalateToFallback,
  type NotifyContext,
  notifyNewRequests,
  outcomeMessage,
  requestItemOf,
  sendReminders,
} from './notify-owners';
import { recordRightSizeDrift } from './right-size';
import { inventorySize, type ScanOptions, type ScanReport, scanAccount } from './scan-account';
import { refreshMessage } from './slack-actions';
import { type SlackFailure, type SlackSetupProblem, slackFailureOf, slackSetupProblems } from './slack-setup';

export interface EnforceDependencies {
  iam: IAMClient;
  secretsManager: SecretsManagerClient;
  store: DecisionStore;
  /** The scan it runs first reads stacks' owner tags as the daily scan does. */
  stacks: StackOwnerReader;
  /** The scan it runs first signs its population record with it (`ScanDependencies.signer`). */
  signer?: CheckpointSigner;
  enforcer: Enforcer;
  /** Absent: nobody is told (Slack not configured); deadlines still apply. */
  slack?: SlackClient;
  /**
   * A budget shared with other accounts (an organization's run): asked for this run's actions once
   * they passed this account's rails; false holds them all back. Absent: this account's budget only.
   */
  reserveActions?: (count: number) => Promise<boolean>;
  /**
   * An organization's run: owners are told of new requests and reminded once across every account, by
   * the fan-out's summary, so this account's run leaves them be (it still tells the fallback owner).
   */
  ownersToldBySummary?: boolean;
}

export interface EnforceReport {
  scan: Pick<ScanReport, 'inventory' | 'inventoryAt' | 'decisionsWritten'> & { findings: number };
  notified: number;
  reminded: number;
  escalated: number;
  disabled: string[];
  /** Deadline passed but the credential was used after the request opened: not disabled, and why. */
  cancelled: string[];
  /** Keys replaced by a rotation, deactivated after their grace period. */
  deactivated: string[];
  /** Credentials gone from AWS before their deadline: recorded as deleted. */
  gone: string[];
  /** Recorded as disabled but found usable again, changed outside reauth: recorded as drift, reopened. */
  drifted: string[];
  /**
   * Still disabled (or pending on a request that ended its sessions), but the session revocation
   * recorded on the user or role was taken away outside reauth: put back (the same moment) and
   * recorded, since the record says those sessions ended.
   */
  revokedAgain: string[];
  /** Changes a crashed job left half-done (its claim expired): IAM made to say what the record says. */
  repaired: string[];
  /**
   * Destructive actions held back, and why (`stale-inventory`, `budget-exceeded`, `org-budget-exceeded`,
   * `protected`).
   */
  heldBack: { reason: string; credentialIds: string[] }[];
  budget: { limit: number; planned: number; exceeded: boolean };
  /** Messages Slack did not take; `slackSetupProblems` picks out those only a person can mend. */
  slackFailures: SlackFailure[];
  /** Of those, the app's setup problems (a channel the bot is not in…), once per channel and code. */
  slackSetup: SlackSetupProblem[];
}

/**
 * The hourly job: a fresh scan, owners told of new requests and reminded, unanswered deadlines
 * escalated (report mode) or acted on (enforce mode) behind the safety rails — freshness, the
 * action budget, protected principals — with each credential re-checked before it is disabled.
 */
export async function enforceAccount(
  deps: EnforceDependencies,
  options: Pick<ScanOptions, 'accountId' | 'policy' | 'now' | 'organizationAccounts' | 'organizationId'>,
): Promise<EnforceReport> {
  const { accountId, policy, now } = options;
  const policyId = policyIdOf(policy);
  const notifyContext: NotifyContext = { policy, policyId, now, job: 'enforce' };
  const system = { now, policyId, mode: policy.mode, actor: 'system:enforce' };

  // The same zone of trust as the daily scan's: a role only the organization trusts is not asked about.
  const scan = await scanAccount(deps, { ...options, job: 'enforce' });
  const report: EnforceReport = {
    scan: {
      inventory: scan.inventory,
      inventoryAt: scan.inventoryAt,
      decisionsWritten: scan.decisionsWritten,
      findings: scan.rows.filter((row) => row.outcome === 'finding').length,
    },
    notified: 0,
    reminded: 0,
    escalated: 0,
    disabled: [],
    cancelled: [],
    deactivated: [],
    gone: [],
    drifted: [],
    revokedAgain: [],
    repaired: [],
    heldBack: [],
    budget: { limit: 0, planned: 0, exceeded: false },
    slackFailures: [],
    slackSetup: [],
  };

  const run = `enforce:${randomUUID()}`;
  if (policy.mode === 'enforce') {
    // Report mode changes nothing and holds no claim, and its grants are the scan's reads: a
    // credential disabled under an earlier enforce deployment is watched by the CloudTrail rule.
    const known = [...(await deps.store.loadStates(accountId)).values()];
    report.repaired = await repairAbandoned(deps, known, { now, holder: run });
    const suspects = new Set(scan.driftSuspects);
    ({ drifted: report.drifted, revokedAgain: report.revokedAgain } = await recordDrift(
      deps,
      known.filter((s) => suspects.has(s.credentialId)),
      { policy, context: system, holder: run },
    ));
    // A right-size taken off outside reauth: one read of the principal's attached policies per
    // right-sized credential (none for the others).
    report.drifted.push(
      ...(await recordRightSizeDrift(
        deps,
        known.filter((s) => s.rightSize !== undefined),
        { policy, context: system },
      )),
    );
  }

  if (deps.slack) {
    const slackDeps = { store: deps.store, slack: deps.slack };
    const states = [...(await deps.store.loadStates(accountId)).values()];
    // Security first, and from every account's run (the organization's summary tells owners only): a
    // likely backdoor is named as such even when its owner is the security channel.
    const warned = await escalateBackdoors(slackDeps, states, notifyContext);
    report.escalated += warned.recorded;
    report.slackFailures.push(...warned.failures);
    if (!deps.ownersToldBySummary) {
      const told = await notifyNewRequests(slackDeps, states, notifyContext);
      report.notified = told.recorded;
      report.slackFailures.push(...told.failures);
    }
  }

  const plan = planEnforcement((await deps.store.loadStates(accountId)).values(), policy, now, {
    size: inventorySize(scan.inventory),
    generatedAt: new Date(scan.inventoryAt),
  });
  // All of this account's actions or none, as its own budget holds them.
  if (plan.actions.length > 0 && deps.reserveActions && !(await deps.reserveActions(plan.actions.length))) {
    plan.heldBack.push({ reason: 'org-budget-exceeded', states: plan.actions.map((a) => a.state) });
    plan.actions = [];
  }
  report.budget = plan.budget;
  report.heldBack = plan.heldBack.map((h) => ({
    reason: h.reason,
    credentialIds: h.states.map((s) => s.credentialId),
  }));

  if (deps.slack) {
    const slackDeps = { store: deps.store, slack: deps.slack };
    const reminded = deps.ownersToldBySummary
      ? { recorded: 0, failures: [] }
      : await sendReminders(slackDeps, plan.reminders, notifyContext);
    const escalated = await escalateToFallback(
      slackDeps,
      plan.escalations,
      'deadline-passed',
      'no answer by the deadline; report mode: nothing was disabled',
      notifyContext,
    );
    const drift = await escalateToFallback(
      slackDeps,
      plan.drift,
      'drift',
      'Recorded as disabled by reauth, and found usable again: someone turned them back on outside reauth. reauth did not disable them again; their owners are asked to reauthorize them.',
      notifyContext,
    );
    report.reminded = reminded.recorded;
    report.escalated += escalated.recorded + drift.recorded;
    report.slackFailures.push(...reminded.failures, ...escalated.failures, ...drift.failures);
    const overBudget = plan.heldBack.find((h) => h.reason === 'budget-exceeded');
    if (overBudget) {
      const { maxActions, maxFraction } = policy.actionBudget;
      const told = await escalateToFallback(
        slackDeps,
        overBudget.states,
        'budget-exceeded',
        `${overBudget.states.length} credentials are due to be disabled, over this run's budget of ${plan.budget.limit} (at most ${maxActions}, and ${maxFraction * 100}% of the inventory): nothing was done. Check the findings, then raise the budget or answer them.`,
        notifyContext,
      );
      report.slackFailures.push(...told.failures);
    }
  } else {
    // Without Slack the deadline escalation is still recorded, so the record shows who was not asked.
    for (const state of plan.escalations) {
      const written = await deps.store.transition(state.credentialId, (current) =>
        current &&
        current.requestSeq === state.requestSeq &&
        planDeadline(current, policy, now)?.step === 'escalate'
          ? planRequestStep(
              current,
              { escalatedAt: now.toISOString() },
              {
                action: 'escalate',
                reason: 'no answer by the deadline (report mode: nothing disabled)',
                evidence: {},
              },
              system,
            )
          : undefined,
      );
      if (written) report.escalated++;
    }
  }

  const disabledStates: CredentialState[] = [];
  const refused: { state: CredentialState; why: string }[] = [];
  for (const { state, step } of plan.actions) {
    const target = targetOf(state);
    const claim = { credentialId: state.credentialId, target, holder: run, now };
    if (step === 'deactivate-replaced' && state.rotation) {
      const rotation = state.rotation;
      const isDue = (s: CredentialState) =>
        s.rotation?.newKeyId === rotation.newKeyId &&
        planDeadline(s, policy, now)?.step === 'deactivate-replaced';
      const outcome = await changeUnderClaim(deps, {
        ...claim,
        action: 'deactivate-replaced',
        isDue,
        act: async (): Promise<DisableReceipt> => {
          await deps.enforcer.deactivateReplacedKey(state.principal, target.id);
          // The key's sessions end with it: those its replacement got before now end too (IAM cannot
          // tell which key issued a session), and its holders get new ones with the new key.
          const { revokeSessionsBefore } = sessionsEndingAt(policy, 'rotate', now);
          const revokedSessions = revokeSessionsBefore
            ? await deps.enforcer.revokeSessions(target, revokeSessionsBefore)
            : undefined;
          return { kind: 'access-key', keyId: target.id, ...(revokedSessions && { revokedSessions }) };
        },
        confirm: (current, receipt) =>
          current && isDue(current)
            ? planDisable(current, receipt, {
                ...system,
                reason: `replaced by ${rotation.newKeyId} (stored in ${rotation.storedIn}); its grace period ended`,
              })
            : undefined,
        changesUsability: () => true,
      });
      if ('recorded' in outcome) report.deactivated.push(state.credentialId);
      continue;
    }

    const isDue = (s: CredentialState) =>
      s.requestSeq === state.requestSeq && planDeadline(s, policy, now)?.step === 'disable';
    const outcome = await changeUnderClaim(deps, {
      ...claim,
      action: 'disable',
      isDue,
      act: async (claimed): Promise<DeadlineAct> => {
        // The last word before anything is disabled: the credential's own API, not the day-old inventory.
        const recheck = await deps.enforcer.recheck(target);
        if (!recheck.exists) return { kind: 'gone' };
        const requestedAt = Date.parse(claimed.requestedAt ?? claimed.deadlineAt ?? '');
        if (recheck.lastUsedAt && recheck.lastUsedAt.getTime() > requestedAt) {
          return { kind: 'used', lastUsedAt: recheck.lastUsedAt };
        }
        const receipt = await refusedOr(
          deps.enforcer.disable(target, sessionsEndingAt(policy, 'disable', now)),
        );
        return 'refused' in receipt
          ? { kind: 'refused', why: receipt.refused }
          : { kind: 'disabled', receipt };
      },
      confirm: (current, act) => {
        if (!current || !isDue(current)) return undefined;
        switch (act.kind) {
          case 'gone':
            return planRequestStep(
              current,
              { status: 'deleted', triggers: [] },
              {
                action: 'delete',
                reason: 'no longer exists in AWS: nothing to disable',
                evidence: { recheck: 'not found' },
              },
              system,
            );
          case 'used':
            return planInUseAtDeadline(current, act.lastUsedAt, policy, system);
          case 'refused':
            return planRefusedDisable(current, act.why, policy, system);
          case 'disabled':
            return planDisable(current, act.receipt, {
              ...system,
              reason: `no answer by the deadline ${current.deadlineAt?.slice(0, 10)}; not used since the request (re-checked)`,
            });
        }
      },
      changesUsability: (act) => act.kind === 'disabled',
    });
    if ('superseded' in outcome || 'lostClaim' in outcome) {
      const deleted = await recordDeletedPassword(deps.store, state.credentialId, outcome.result, system);
      if (deleted) {
        report.disabled.push(state.credentialId);
        disabledStates.push(deleted);
      }
      continue;
    }
    if (!('recorded' in outcome)) continue;
    if (outcome.result.kind === 'refused') {
      // Nothing changed, and a person has to act: held back (it alarms) and escalated, saying why.
      report.heldBack.push({ reason: 'disable-refused', credentialIds: [state.credentialId] });
      report.escalated++;
      const held = await deps.store.getState(state.credentialId);
      if (held) refused.push({ state: held, why: outcome.result.why });
      continue;
    }
    const list = { gone: report.gone, used: report.cancelled, disabled: report.disabled }[
      outcome.result.kind
    ];
    list.push(state.credentialId);
    if (outcome.result.kind !== 'disabled') continue;
    const disabled = await deps.store.getState(state.credentialId);
    if (disabled) disabledStates.push(disabled);
  }

  if (deps.slack && disabledStates.length > 0) {
    const slack = deps.slack;
    for (const state of disabledStates) {
      try {
        await slack.postMessage(
          state.ownerSlackId ?? state.message?.channel ?? state.owner,
          outcomeMessage(state),
        );
        await refreshMessage({ store: deps.store, slack, policy, policyId }, state.credentialId);
      } catch (error) {
        report.slackFailures.push(slackFailureOf(state.owner, error));
      }
    }
    await slack
      .postMessage(
        policy.fallbackOwner,
        escalationMessage({
          items: disabledStates.map((state) => requestItemOf(state, policy.mode)),
          reason: 'deadline-passed',
          detail: `Disabled: nobody vouched for these by their deadline. Their owners can restore them for ${policy.enforcement.restoreWindowDays} days.`,
        }),
      )
      .catch((error: unknown) => report.slackFailures.push(slackFailureOf(policy.fallbackOwner, error)));
  }
  if (deps.slack && refused.length > 0) {
    await deps.slack
      .postMessage(
        policy.fallbackOwner,
        escalationMessage({
          items: refused.map(({ state }) => requestItemOf(state, policy.mode)),
          reason: 'deadline-passed',
          detail: `Not disabled, though nobody vouched for them by their deadline: ${refused.map(({ why }) => why).join('; ')}. Their requests stay open with a new deadline.`,
        }),
      )
      .catch((error: unknown) => report.slackFailures.push(slackFailureOf(policy.fallbackOwner, error)));
  }
  report.slackSetup = slackSetupProblems(report.slackFailures);
  return report;
}

/** What the deadline's claimed change found and did. */
type DeadlineAct =
  | { kind: 'gone' }
  | { kind: 'used'; lastUsedAt: Date }
  | { kind: 'disabled'; receipt: DisableReceipt }
  | { kind: 'refused'; why: string };

/** The expired claims among `states` (their holders stopped): each repaired (see `repairAbandonedClaim`). */
async function repairAbandoned(
  deps: EnforceDependencies,
  states: CredentialState[],
  options: { now: Date; holder: string },
): Promise<string[]> {
  const repaired: string[] = [];
  for (const state of states) {
    if (!isAbandoned(state, options.now)) continue;
    if (await repairAbandonedClaim(deps, state.credentialId, options)) repaired.push(state.credentialId);
  }
  return repaired;
}

/**
 * Drift: a credential recorded as disabled that is usable again, turned back on outside reauth. The
 * inventory names the suspects; each is re-checked on its own API before anything is recorded. It is
 * recorded, the request reopens and the fallback owner is told; reauth never silently disables it again.
 * A credential under a claim is skipped (a restore may be under way), and the write is conditional on
 * the state checked, so a restore recorded meanwhile is not mistaken for drift.
 *
 * A credential still disabled (or pending, its request opened by a trust change that ended its
 * sessions) whose recorded session revocation is gone is not usable again: the revocation is put back
 * from the same moment, under its claim, and an `observe` says so (the record said those sessions had
 * ended).
 */
async function recordDrift(
  deps: EnforceDependencies,
  states: CredentialState[],
  options: {
    policy: PolicyConfig;
    context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string };
    holder: string;
  },
): Promise<{ drifted: string[]; revokedAgain: string[] }> {
  const drifted: string[] = [];
  const revokedAgain: string[] = [];
  for (const state of states) {
    if (state.claim) continue;
    const disabled = state.status === 'disabled';
    if (!disabled && !recordedRevocationOf(state, options.context.now)) continue;
    const recheck = await deps.enforcer.recheck(targetOf(state));
    if (!recheck.exists) continue;
    if (!disabled || recheck.disabled !== false) {
      if (await revokeAgain(deps, state, recheck.sessionsRevokedBefore, options)) {
        revokedAgain.push(state.credentialId);
      }
      continue;
    }
    const written = await deps.store.transition(state.credentialId, (current) =>
      current?.status === 'disabled' && !current.claim && current.seq === state.seq
        ? planDrift(
            current,
            { what: DRIFT_SEEN[state.kind], by: null, seenBy: 'recheck' },
            options.policy,
            options.context,
          )
        : undefined,
    );
    if (written) drifted.push(state.credentialId);
  }
  return { drifted, revokedAgain };
}

/** Puts back the session revocation the record holds when IAM no longer has it; true when recorded. */
async function revokeAgain(
  deps: EnforceDependencies,
  state: CredentialState,
  found: string | undefined,
  options: {
    context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string };
    holder: string;
  },
): Promise<boolean> {
  const revokedSessions = recordedRevocationOf(state, options.context.now);
  if (!revokedSessions) return false;
  if (found !== undefined && Date.parse(found) >= Date.parse(revokedSessions.issuedBefore)) return false;
  const target = targetOf(state);
  const isDue = (s: CredentialState) => s.status === state.status && s.seq === state.seq;
  const where = target.kind === 'role' ? `role ${target.id}` : `user ${target.principal}`;
  const outcome = await changeUnderClaim(deps, {
    credentialId: state.credentialId,
    target,
    holder: options.holder,
    now: options.context.now,
    action: 'revoke-sessions',
    isDue,
    act: () => deps.enforcer.revokeSessions(target, revokedSessions.issuedBefore),
    confirm: (current, revoked) =>
      current && isDue(current) && revoked
        ? planRequestStep(
            current,
            {},
            {
              action: 'observe',
              reason: `reauth's session revocation on ${where} was ${found ? `changed to ${found}` : 'removed'} outside reauth while ${state.status}: put back (sessions issued before ${revokedSessions.issuedBefore} end again)`,
              evidence: { revokedSessions: revoked, found: found ?? null, seenBy: 'recheck' },
            },
            options.context,
          )
        : undefined,
    changesUsability: () => false,
  });
  return 'recorded' in outcome;
}

const DRIFT_SEEN: Record<CredentialState['kind'], string> = {
  'access-key': 'the access key is Active again',
  secret: "reauth's deny is gone from the secret's resource policy",
  role: "reauth's deny policy is gone from the role",
  password: 'the user has a console password again',
  'signing-certificate': 'the signing certificate is Active again',
  'ssh-key': 'the SSH public key is Active again',
  'service-credential': 'the service-specific credential is Active again',
};

/**
 * A console password deleted at its deadline while its owner's answer came first in the record: IAM
 * keeps no deleted password, and reauth never makes one unasked (converging to the record could not
 * give it back), so the record is made to say what IAM says, disabled, with the receipt, and its owner
 * is told as for every disable: their *Restore* makes a new one. Any other kind was put back by the
 * converge. Returns the state recorded, if any.
 */
async function recordDeletedPassword(
  store: DecisionStore,
  credentialId: string,
  act: DeadlineAct,
  context: { now: Date; policyId: string; mode: 'report' | 'enforce'; actor: string },
): Promise<CredentialState | undefined> {
  if (act.kind !== 'disabled' || act.receipt.kind !== 'password') return undefined;
  const receipt = act.receipt;
  const written = await store.transition(credentialId, (current) =>
    current &&
    current.kind === 'password' &&
    current.claim === undefined &&
    current.status !== 'disabled' &&
    current.status !== 'deleted'
      ? planDisable(current, receipt, {
          ...context,
          reason:
            'its login profile was deleted at the deadline as its owner answered: IAM keeps no deleted password, so it is recorded disabled, and its owner can restore a new one',
        })
      : undefined,
  );
  return written ? store.getState(credentialId) : undefined;
}
