import { randomUUID } from 'node:crypto';
import type { DecisionStore } from '../adapters/decision-store';
import { SlackApiError, type SlackClient } from '../adapters/slack-client';
import { planDeadline } from '../domain/deadlines';
import type { CredentialState, DecisionAction } from '../domain/decision';
import { isUntoldBackdoor } from '../domain/lifecycle';
import type { PolicyConfig } from '../domain/policy';
import { isUntoldDrift, planRequestStep } from '../domain/reauthorization';
import { SERVICE_USAGE_KINDS, summaryLine } from '../domain/usage-summary';
import {
  assignedMessage,
  type Block,
  decidedMessage,
  type EscalationReason,
  escalationMessage,
  MAX_ITEMS_PER_MESSAGE,
  ownerRequestMessage,
  type RequestItem,
  type SlackMessage,
} from '../slack/messages';
import { type SlackFailure, slackFailureOf } from './slack-setup';
import { lookupSlackUser } from './slack-user-lookup';

export interface NotifyDependencies {
  store: DecisionStore;
  slack: SlackClient;
}

export interface NotifyContext {
  policy: PolicyConfig;
  policyId: string;
  now: Date;
  /** Recorded as `system:<job>`. */
  job: string;
  /**
   * Org mode, where one pass tells owners of credentials in many accounts: each account's own mode
   * (`policyForAccount`), so a message says what that credential's deadline does.
   * @default every credential is under `policy.mode`
   */
  modeOf?: (accountId: string) => Mode;
}

type Mode = PolicyConfig['mode'];

/** The mode a credential is told under: its own account's. */
function modeIn(
  context: Pick<NotifyContext, 'policy' | 'modeOf'>,
  state: Pick<CredentialState, 'accountId'>,
): Mode {
  return context.modeOf?.(state.accountId) ?? context.policy.mode;
}

export interface NotifyReport {
  /** Slack messages posted. */
  messages: number;
  /** Decisions recorded: notify, remind and escalate. */
  recorded: number;
  /**
   * Owners whose message could not be posted (retried on the next run: nothing was recorded for them),
   * with Slack's code and the channel: `slackSetupProblems` picks out those only a person can mend.
   */
  failures: SlackFailure[];
}

/** Where an owner's message goes. */
interface Destination {
  channel: string;
  /** The owner's Slack user, when the owner is a person. */
  slackUserId?: string;
  /** Why it goes to the fallback owner instead of the owner; undefined when the owner is reached. */
  escalation?: string;
}

/**
 * How long a recipient's lease holds past its last renewal. The holder renews it as it goes, so it
 * can take as long as it needs; one that stopped gives way within a minute, in time for Lambda's
 * first retry of a failed asynchronous invocation (about a minute later).
 */
const OWNER_LEASE_MS = 60_000;
/** Records between two renewals of the lease: a few seconds of writes. */
const RENEW_EVERY = 25;

/**
 * Tells each owner about their credentials whose request has not been told yet, in messages of at
 * most MAX_ITEMS_PER_MESSAGE credentials each; credentials with no reachable owner go to the fallback
 * owner (the security channel), recorded as escalations. A credential is recorded as told only once
 * Slack took the message that shows it, with that message's channel and ts.
 */
export async function notifyNewRequests(
  deps: NotifyDependencies,
  states: Iterable<CredentialState>,
  context: NotifyContext,
): Promise<NotifyReport> {
  const isDue = (s: CredentialState) => s.status === 'pending' && !s.notifiedAt && s.requestSeq !== undefined;
  return sendByOwner(deps, [...states].filter(isDue), context, {
    isDue,
    send: async (owner, group) => {
      const destination = await destinationOf(deps, owner, context);
      const message = ownerRequestMessage({
        owner: destination.slackUserId ?? owner,
        items: group.map((state) => requestItemOf(state, modeIn(context, state))),
      });
      const posted = await deps.slack.postMessage(destination.channel, message);
      await remember(deps, posted, group, context);
      const at = context.now.toISOString();
      return {
        action: destination.escalation ? 'escalate' : 'notify',
        reason: destination.escalation ?? `asked ${destination.slackUserId ?? destination.channel} in Slack`,
        change: {
          notifiedAt: at,
          ...(destination.slackUserId && { ownerSlackId: destination.slackUserId }),
          ...(posted.ts && { message: posted }),
          ...(destination.escalation && { escalatedAt: at }),
        },
        evidence: { channel: posted.channel, ts: posted.ts || null },
      };
    },
  });
}

/**
 * Reminds each owner of the requests whose reminder is due, in new messages of at most
 * MAX_ITEMS_PER_MESSAGE credentials; each credential's buttons then live in the reminder that shows it
 * (its recorded message moves there), and a click rebuilds that message.
 */
export async function sendReminders(
  deps: NotifyDependencies,
  states: CredentialState[],
  context: NotifyContext,
): Promise<NotifyReport> {
  const reminderDue = (s: CredentialState) => {
    const step = planDeadline(s, context.policy, context.now);
    return step?.step === 'remind' ? step.reminder : undefined;
  };
  return sendByOwner(deps, states, context, {
    isDue: (s) => reminderDue(s) !== undefined,
    send: async (owner, group) => {
      const destination = group[0]?.message?.channel ?? group[0]?.ownerSlackId ?? owner;
      const message = ownerRequestMessage({
        owner: group[0]?.ownerSlackId ?? owner,
        items: group.map((state) => requestItemOf(state, modeIn(context, state))),
        reminder: true,
      });
      const posted = await deps.slack.postMessage(destination, message);
      await remember(deps, posted, group, context);
      return {
        action: 'remind',
        reason: `reminded ${group[0]?.ownerSlackId ?? owner}: the deadline is ${group[0]?.deadlineAt?.slice(0, 10)}`,
        change: (state) => ({
          remindersSent: reminderDue(state) ?? (state.remindersSent ?? 0) + 1,
          ...(posted.ts && { message: posted }),
        }),
        evidence: { channel: posted.channel, ts: posted.ts || null },
      };
    },
  });
}

/**
 * One message to the fallback owner about `states`, and an `escalate` decision on each: deadlines
 * passed in report mode, drift not yet told, or (nothing recorded) a run held back by the budget.
 */
export async function escalateToFallback(
  deps: NotifyDependencies,
  states: CredentialState[],
  reason: Exclude<EscalationReason, 'orphaned'>,
  detail: string,
  context: NotifyContext,
): Promise<NotifyReport> {
  if (reason === 'budget-exceeded') {
    // Nothing is decided about them, so nothing is recorded: a message, once per run.
    if (states.length === 0) return { messages: 0, recorded: 0, failures: [] };
    try {
      await deps.slack.postMessage(
        context.policy.fallbackOwner,
        escalationMessage({
          items: states.map((state) => requestItemOf(state, modeIn(context, state))),
          reason,
          detail,
        }),
      );
      return { messages: 1, recorded: 0, failures: [] };
    } catch (error) {
      return {
        messages: 0,
        recorded: 0,
        failures: [slackFailureOf(context.policy.fallbackOwner, error)],
      };
    }
  }
  const isDue =
    reason === 'drift'
      ? isUntoldDrift
      : reason === 'aws-service-account-trusted'
        ? isUntoldBackdoor
        : (s: CredentialState) => planDeadline(s, context.policy, context.now)?.step === 'escalate';
  return sendByOwner(
    deps,
    states.filter(isDue),
    context,
    {
      isDue,
      send: async (_owner, group) => {
        await deps.slack.postMessage(
          context.policy.fallbackOwner,
          escalationMessage({
            items: group.map((state) => requestItemOf(state, modeIn(context, state))),
            reason,
            detail,
          }),
        );
        return {
          action: 'escalate',
          reason: detail,
          change: { escalatedAt: context.now.toISOString() },
          evidence: { reason },
        };
      },
    },
    () => context.policy.fallbackOwner,
  );
}

/** What the security channel is told of a role trusted by an account AWS owns. */
export const BACKDOOR_DETAIL =
  "These roles trust an account AWS owns for one of its services (log delivery, ELB, Redshift, CloudTrail…). AWS never assumes a customer's role from such an account, so the trust is likely a backdoor someone added: find who changed it (CloudTrail UpdateAssumeRolePolicy, CreateRole) and remove the account. Their owners are asked too.";

/**
 * Tells the fallback owner (the security channel), once per request, of each open request for a role
 * trusted by an account AWS owns, recorded as an `escalate`. Run before the owners are told, so an
 * orphaned one (whose owner is the fallback owner) is named as a likely backdoor too.
 */
export function escalateBackdoors(
  deps: NotifyDependencies,
  states: Iterable<CredentialState>,
  context: NotifyContext,
): Promise<NotifyReport> {
  return escalateToFallback(deps, [...states], 'aws-service-account-trusted', BACKDOOR_DETAIL, context);
}

/**
 * A request message rebuilt from the current states of the credentials it shows (at most
 * MAX_ITEMS_PER_MESSAGE, ordered as when it was posted): the open ones keep their buttons, the
 * answered ones say who decided what. `modeOf`: each credential's account's mode. `shownSeq`: the
 * request each credential was shown with, where the message was noted; one whose owner was assigned
 * since (a newer request, asked of the new owner) says so instead of offering the old request's buttons.
 */
export function requestMessageOf(
  owner: string,
  states: CredentialState[],
  modeOf: (state: CredentialState) => Mode,
  shownSeq: ReadonlyMap<string, number> = new Map(),
): SlackMessage {
  const answered = new Map<string, Block[]>();
  for (const state of states) {
    const seq = shownSeq.get(state.credentialId);
    const assigned = state.assignedOwner;
    if (assigned && seq !== undefined && state.requestSeq !== seq) {
      answered.set(
        state.credentialId,
        assignedMessage({
          item: state,
          owner: assigned.owner,
          byUserId: assigned.by.replace(/^slack:/, ''),
          at: assigned.at,
        }).blocks,
      );
    } else if (state.status !== 'pending' || state.requestSeq === undefined)
      answered.set(state.credentialId, outcomeMessage(state).blocks);
  }
  return ownerRequestMessage({
    owner,
    items: sorted(states).map((state) => requestItemOf(state, modeOf(state))),
    answered,
  });
}

/** The order credentials are shown in, so a rebuilt message keeps each one in its place. */
function sorted(states: CredentialState[]): CredentialState[] {
  return [...states].sort((a, b) =>
    a.credentialId < b.credentialId ? -1 : a.credentialId > b.credentialId ? 1 : 0,
  );
}

/** What a decided credential's part of the message says: who decided what (and Restore while it can). */
export function outcomeMessage(state: CredentialState): SlackMessage {
  const actor = state.decidedBy?.startsWith('slack:') ? state.decidedBy.slice('slack:'.length) : 'reauth';
  const outcome =
    state.status === 'disabled'
      ? `*Disable* (${state.decidedBy === undefined || state.decidedBy.startsWith('system:') ? 'no answer by the deadline' : 'on request'})`
      : state.status === 'active' && state.rotation
        ? `*Rotate*: the new key is in ${state.rotation.storedIn}; this one is deactivated on ${state.rotation.deactivateAfter.slice(0, 10)}`
        : state.status === 'active' && state.rightSize
          ? `*Still needed, only what it uses*${state.reviewDueAt ? ` until ${state.reviewDueAt.slice(0, 10)}` : ''}: narrowed to ${state.rightSize.kept.join(', ')}`
          : state.status === 'active'
            ? `*Still needed*${state.reviewDueAt ? ` until ${state.reviewDueAt.slice(0, 10)}` : ''}`
            : state.status;
  return decidedMessage({
    item: state,
    outcome,
    actorUserId: actor,
    at: state.updatedAt,
    ...(state.status === 'disabled' &&
      state.requestSeq !== undefined && {
        restorable: { credentialId: state.credentialId, requestSeq: state.requestSeq },
      }),
    ...(state.rightSize && {
      widenable: { credentialId: state.credentialId, requestSeq: state.rightSize.seq },
    }),
  });
}

/** What a message shows of a credential, told under `mode`, its account's. */
export function requestItemOf(state: CredentialState, mode: Mode): RequestItem {
  return {
    mode,
    ...(state.rotatable !== undefined && { rotatable: state.rotatable }),
    credentialId: state.credentialId,
    kind: state.kind,
    principal: state.principal,
    accountId: state.accountId,
    lastUsedAt: state.lastUsedAt ?? null,
    why: state.why ?? state.triggers.join(', '),
    deadlineAt: state.deadlineAt ?? '',
    requestSeq: state.requestSeq ?? 0,
    ...(state.identification && { identification: state.identification }),
    ...(state.triggers.includes('orphaned') && { assignable: true }),
    ...(state.ownerSource && { ownerSource: state.ownerSource }),
    ...(state.serviceUsage &&
      SERVICE_USAGE_KINDS.includes(state.kind) && { usage: summaryLine(state.serviceUsage) }),
  };
}

interface Sent {
  action: DecisionAction;
  reason: string;
  change: Partial<CredentialState> | ((state: CredentialState) => Partial<CredentialState>);
  evidence: Record<string, unknown>;
}

interface Step {
  /** Whether the state still owes this step: checked on a fresh read under the lease, and when recording. */
  isDue: (state: CredentialState) => boolean;
  send: (owner: string, group: CredentialState[]) => Promise<Sent>;
}

/**
 * Groups by recipient and, per recipient, under a lease (so overlapping scans, enforce runs and event
 * consumers take turns): reads the group again, consistently, keeps what is still due, and sends it in
 * messages of at most MAX_ITEMS_PER_MESSAGE credentials, one after the other, recording a decision on
 * each credential of a message once Slack took it. A message Slack refuses stops that recipient: what
 * it would have shown stays due, for the next run. A run that finds the lease taken leaves that
 * recipient to the run holding it. Only a crash between a post and its records can resend.
 */
async function sendByOwner(
  deps: NotifyDependencies,
  states: CredentialState[],
  context: NotifyContext,
  step: Step,
  recipientOf: (state: CredentialState) => string = (state) => state.owner,
): Promise<NotifyReport> {
  const report: NotifyReport = { messages: 0, recorded: 0, failures: [] };
  const byRecipient = new Map<string, string[]>();
  for (const state of states) {
    const recipient = recipientOf(state);
    byRecipient.set(recipient, [...(byRecipient.get(recipient) ?? []), state.credentialId]);
  }
  const holder = `${context.job}:${randomUUID()}`;

  recipients: for (const [recipient, credentialIds] of byRecipient) {
    const lease = `slack:${recipient}`;
    // The wall clock, not the run's `now`: a lease measures how long its holder has been silent.
    const renew = () => {
      const at = new Date();
      return deps.store.lease(lease, holder, new Date(at.getTime() + OWNER_LEASE_MS), at);
    };
    if (!(await renew())) continue;
    try {
      const fresh = await deps.store.getStates(credentialIds);
      const due = sorted(
        credentialIds.flatMap((id) => {
          const state = fresh.get(id);
          return state && step.isDue(state) ? [state] : [];
        }),
      );
      for (let first = 0; first < due.length; first += MAX_ITEMS_PER_MESSAGE) {
        const shown = due.slice(first, first + MAX_ITEMS_PER_MESSAGE);
        if (first > 0) await renew();
        let sent: Sent;
        try {
          sent = await step.send(shown[0]?.owner ?? recipient, shown);
          report.messages++;
        } catch (error) {
          report.failures.push(slackFailureOf(recipient, error));
          // Out of time: nothing is recorded for the owners left, so the next run tells them.
          if (error instanceof SlackApiError && error.code === 'out_of_time') break recipients;
          break;
        }
        await renew();
        for (const [index, state] of shown.entries()) {
          if (index > 0 && index % RENEW_EVERY === 0) await renew();
          const change = typeof sent.change === 'function' ? sent.change(state) : sent.change;
          const written = await deps.store.transition(state.credentialId, (current) =>
            // Only the request the message was about: a newer one gets its own message.
            current && current.requestSeq === state.requestSeq && step.isDue(current)
              ? planRequestStep(
                  current,
                  change,
                  { action: sent.action, reason: sent.reason, evidence: sent.evidence },
                  decisionContext(context),
                )
              : undefined,
          );
          if (written) report.recorded++;
        }
      }
    } finally {
      await deps.store.unlease(lease, holder);
    }
  }
  return report;
}

async function destinationOf(
  deps: NotifyDependencies,
  owner: string,
  { policy, now }: NotifyContext,
): Promise<Destination> {
  const fallback = (why: string): Destination => ({ channel: policy.fallbackOwner, escalation: why });
  if (owner === policy.fallbackOwner)
    return fallback('no owner could be resolved (no owner tag): escalated to the fallback owner');
  if (/^[UW][A-Z0-9]{2,}$/.test(owner)) return { channel: owner, slackUserId: owner };
  if (/^#|^[CG][A-Z0-9]{2,}$/.test(owner)) return { channel: owner };
  if (owner.includes('@')) {
    let userId: string | undefined;
    try {
      userId = await lookupSlackUser(deps, owner, now);
    } catch (error) {
      // Webhook only (no bot token): every message goes to the webhook's channel, named for its owner.
      if (error instanceof SlackApiError && error.code === 'not_configured') return { channel: owner };
      throw error;
    }
    return userId
      ? { channel: userId, slackUserId: userId }
      : fallback(`owner ${owner} has no Slack account: escalated to the fallback owner`);
  }
  return fallback(`owner tag "${owner}" is neither a Slack user, a channel nor an email: escalated`);
}

/** Notes which credentials a posted message shows (a webhook's message has no ts: nothing to note). */
async function remember(
  deps: NotifyDependencies,
  posted: { channel: string; ts: string },
  shown: CredentialState[],
  context: NotifyContext,
): Promise<void> {
  if (posted.ts)
    await deps.store.rememberMessage(
      posted,
      shown.map((s) => ({ credentialId: s.credentialId, requestSeq: s.requestSeq ?? 0 })),
      context.now,
    );
}

function decisionContext(context: NotifyContext) {
  return {
    now: context.now,
    policyId: context.policyId,
    mode: context.policy.mode,
    actor: `system:${context.job}`,
  };
}
