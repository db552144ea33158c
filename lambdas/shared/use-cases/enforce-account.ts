import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DecisionStore } from '../adapters/decision-store';
import type { Enforcer } from '../adapters/enforcement';
import type { SlackClient } from '../adapters/slack-client';
import { parseCredentialId } from '../domain/credential';
import type { CredentialState } from '../domain/decision';
import { type PolicyConfig, policyIdOf } from '../domain/policy';
import {
  planDisable,
  planEnforcement,
  planInUseAtDeadline,
  planRequestStep,
} from '../domain/reauthorization';
import { escalationMessage } from '../slack/messages';
import {
  escalateToFallback,
  type NotifyContext,
  notifyNewRequests,
  outcomeMessage,
  requestItemOf,
  sendReminders,
} from './notify-owners';
import { type ScanReport, scanAccount } from './scan-account';
import { refreshMessage } from './slack-actions';

export interface EnforceDependencies {
  iam: IAMClient;
  secretsManager: SecretsManagerClient;
  store: DecisionStore;
  enforcer: Enforcer;
  /** Absent: nobody is told (Slack not configured); deadlines still apply. */
  slack?: SlackClient;
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
  /** Destructive actions held back, and why (`stale-inventory`, `budget-exceeded`, `protected`). */
  heldBack: { reason: string; credentialIds: string[] }[];
  budget: { limit: number; planned: number; exceeded: boolean };
  slackFailures: { owner: string; error: string }[];
}

/**
 * The hourly job: a fresh scan, owners told of new requests and reminded, unanswered deadlines
 * escalated (report mode) or acted on (enforce mode) behind the safety rails — freshness, the
 * action budget, protected principals — with each credential re-checked before it is disabled.
 */
export async function enforceAccount(
  deps: EnforceDependencies,
  options: { accountId: string; policy: PolicyConfig; now: Date },
): Promise<EnforceReport> {
  const { accountId, policy, now } = options;
  const policyId = policyIdOf(policy);
  const notifyContext: NotifyContext = { policy, policyId, now, job: 'enforce' };
  const system = { now, policyId, mode: policy.mode, actor: 'system:enforce' };

  const scan = await scanAccount(deps, { accountId, policy, now, job: 'enforce' });
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
    heldBack: [],
    budget: { limit: 0, planned: 0, exceeded: false },
    slackFailures: [],
  };

  if (deps.slack) {
    const told = await notifyNewRequests(
      { store: deps.store, slack: deps.slack },
      (await deps.store.loadStates(accountId)).values(),
      notifyContext,
    );
    report.notified = told.recorded;
    report.slackFailures.push(...told.failures);
  }

  const plan = planEnforcement((await deps.store.loadStates(accountId)).values(), policy, now, {
    size: scan.inventory.accessKeys + scan.inventory.secrets + scan.inventory.roles,
    generatedAt: new Date(scan.inventoryAt),
  });
  report.budget = plan.budget;
  report.heldBack = plan.heldBack.map((h) => ({
    reason: h.reason,
    credentialIds: h.states.map((s) => s.credentialId),
  }));

  if (deps.slack) {
    const slackDeps = { store: deps.store, slack: deps.slack };
    const reminded = await sendReminders(slackDeps, plan.reminders, notifyContext);
    const escalated = await escalateToFallback(
      slackDeps,
      plan.escalations,
      'deadline-passed',
      'no answer by the deadline; report mode: nothing was disabled',
      notifyContext,
    );
    report.reminded = reminded.recorded;
    report.escalated = escalated.recorded;
    report.slackFailures.push(...reminded.failures, ...escalated.failures);
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
        current?.status === 'pending' && current.requestSeq === state.requestSeq
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
  for (const { state, step } of plan.actions) {
    const target = {
      kind: state.kind,
      id: parseCredentialId(state.credentialId).id,
      principal: state.principal,
    };
    if (step === 'deactivate-replaced' && state.rotation) {
      const rotation = state.rotation;
      await deps.enforcer.deactivateReplacedKey(state.principal, target.id);
      const written = await deps.store.transition(state.credentialId, (current) =>
        current?.status === 'active' && current.rotation?.newKeyId === rotation.newKeyId
          ? planDisable(
              current,
              { kind: 'access-key', keyId: target.id },
              {
                ...system,
                reason: `replaced by ${rotation.newKeyId} (stored in ${rotation.storedIn}); its grace period ended`,
              },
            )
          : undefined,
      );
      if (written) report.deactivated.push(state.credentialId);
      continue;
    }

    // The last word before anything is disabled: the credential's own API, not the day-old inventory.
    const recheck = await deps.enforcer.recheck(target);
    const stillDue = (current: CredentialState | undefined): current is CredentialState =>
      current?.status === 'pending' && current.requestSeq === state.requestSeq;
    if (!recheck.exists) {
      const written = await deps.store.transition(state.credentialId, (current) =>
        stillDue(current)
          ? planRequestStep(
              current,
              { status: 'deleted', triggers: [] },
              {
                action: 'delete',
                reason: 'no longer exists in AWS: nothing to disable',
                evidence: { recheck: 'not found' },
              },
              system,
            )
          : undefined,
      );
      if (written) report.gone.push(state.credentialId);
      continue;
    }
    const requestedAt = Date.parse(state.requestedAt ?? state.deadlineAt ?? '');
    if (recheck.lastUsedAt && recheck.lastUsedAt.getTime() > requestedAt) {
      const lastUsedAt = recheck.lastUsedAt;
      const written = await deps.store.transition(state.credentialId, (current) =>
        stillDue(current) ? planInUseAtDeadline(current, lastUsedAt, policy, system) : undefined,
      );
      if (written) report.cancelled.push(state.credentialId);
      continue;
    }
    const receipt = await deps.enforcer.disable(target);
    const written = await deps.store.transition(state.credentialId, (current) =>
      stillDue(current)
        ? planDisable(current, receipt, {
            ...system,
            reason: `no answer by the deadline ${state.deadlineAt?.slice(0, 10)}; not used since the request (re-checked)`,
          })
        : undefined,
    );
    if (!written) {
      // Answered while it was being disabled: the answer wins.
      await deps.enforcer.restore(target);
      continue;
    }
    report.disabled.push(state.credentialId);
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
        await refreshMessage({ store: deps.store, slack }, state.credentialId, undefined);
      } catch (error) {
        report.slackFailures.push({
          owner: state.owner,
          error: error instanceof Error ? error.message : 'unknown',
        });
      }
    }
    await slack
      .postMessage(
        policy.fallbackOwner,
        escalationMessage({
          items: disabledStates.map(requestItemOf),
          reason: 'deadline-passed',
          detail: `Disabled: nobody vouched for these by their deadline. Their owners can restore them for ${policy.enforcement.restoreWindowDays} days.`,
        }),
      )
      .catch((error: unknown) =>
        report.slackFailures.push({
          owner: policy.fallbackOwner,
          error: error instanceof Error ? error.message : 'unknown',
        }),
      );
  }
  return report;
}
