import type { ActionJob } from '../adapters/action-queue';
import type { DecisionStore } from '../adapters/decision-store';
import type { Enforcer } from '../adapters/enforcement';
import type { SlackClient } from '../adapters/slack-client';
import { parseCredentialId } from '../domain/credential';
import type { CredentialState, Decision } from '../domain/decision';
import type { PolicyConfig } from '../domain/policy';
import { checkAnswer, planDisable, planRestore, planRotation } from '../domain/reauthorization';
import { approvalRequestMessage } from '../slack/messages';
import { notifyNewRequests, outcomeMessage, requestItemOf, requestMessageOf } from './notify-owners';
import { answerContext, tell } from './slack-interactions';

export interface WorkerDependencies {
  store: DecisionStore;
  slack: SlackClient;
  enforcer: Enforcer;
  policy: PolicyConfig;
  policyId: string;
  now: () => Date;
}

/** What a job did, for the log; `recorded` names the change when one was made and recorded. */
export interface ActionJobOutcome {
  summary: string;
  recorded?: 'rotate' | 'disable' | 'restore';
}

/**
 * Does what a click asked for (the IAM or Secrets Manager change), records it, and updates the
 * message. Safe to run twice for one job (a redelivery): the state decides whether anything is left to do.
 */
export async function runActionJob(deps: WorkerDependencies, job: ActionJob): Promise<ActionJobOutcome> {
  if (job.action === 'refresh-message') {
    await refreshMessage(deps, job.credentialId, job.responseUrl);
    return { summary: 'message refreshed' };
  }
  if (job.action === 'request-approval') return { summary: await requestApproval(deps, job.credentialId) };
  const context = answerContext(deps, job.slackUserId);
  const state = await deps.store.getState(job.credentialId);
  const refusal = checkAnswer(state, job.action, job.requestSeq, context);
  if (refusal || !state) {
    await tell(deps.slack, job.responseUrl, refusal?.reply ?? 'Nothing to do.');
    return { summary: `refused: ${refusal?.why ?? 'no state'}` };
  }
  const target = {
    kind: state.kind,
    id: parseCredentialId(state.credentialId).id,
    principal: state.principal,
  };
  const stillOpen = (current: CredentialState | undefined): current is CredentialState =>
    !checkAnswer(current, job.action, job.requestSeq, context);
  let written: Decision | undefined;

  switch (job.action) {
    case 'disable': {
      const receipt = await deps.enforcer.disable(target);
      written = await deps.store.transition(job.credentialId, (current) =>
        stillOpen(current)
          ? planDisable(current, receipt, {
              now: context.now,
              policyId: deps.policyId,
              mode: deps.policy.mode,
              actor: `slack:${job.slackUserId}`,
              reason: `disabled now at the request of ${job.slackUserId}`,
            })
          : undefined,
      );
      // Answered otherwise while the disable ran (e.g. Still needed): put it back as it was.
      if (!written) await deps.enforcer.restore(target);
      break;
    }
    case 'restore': {
      if (!state.disableReceipt)
        throw new Error(`${state.credentialId} is disabled but has no receipt to restore from`);
      await deps.enforcer.restore(target);
      written = await deps.store.transition(job.credentialId, (current) =>
        stillOpen(current) ? planRestore(current, context) : undefined,
      );
      const restored = await deps.store.getState(job.credentialId);
      if (written && restored) {
        await notifyNewRequests(deps, [restored], { ...deps, now: context.now, job: 'slack' });
      }
      break;
    }
    case 'rotate': {
      const result = await deps.enforcer.rotate(target, { owner: state.owner, now: context.now });
      if (result.kind !== 'access-key' && !result.rotated) {
        await tell(deps.slack, job.responseUrl, `${state.principal} was not rotated: ${result.why}`);
        return { summary: `not rotated: ${result.why}` };
      }
      written = await deps.store.transition(job.credentialId, (current) =>
        stillOpen(current)
          ? planRotation(
              current,
              result.kind === 'access-key'
                ? { newKeyId: result.newKeyId, storedIn: result.storedIn }
                : { ...(result.rotated && result.versionId && { versionId: result.versionId }) },
              context,
            )
          : undefined,
      );
      break;
    }
  }
  if (!written) {
    await tell(deps.slack, job.responseUrl, 'Someone answered this request first; nothing else was changed.');
    return { summary: 'superseded' };
  }
  await refreshMessage(deps, job.credentialId, job.responseUrl);
  return { summary: `${job.action} recorded (seq ${written.seq})`, recorded: job.action };
}

/** Asks each member of the tier's approvers group, in Slack, to confirm an owner's *Still needed*. */
async function requestApproval(deps: WorkerDependencies, credentialId: string): Promise<string> {
  const state = await deps.store.getState(credentialId);
  const proposal = state?.proposal;
  if (!state || state.status !== 'pending' || !proposal) return 'nothing to approve';
  const approvers = (deps.policy.tiers[state.tier ?? deps.policy.defaultTier]?.approvers ?? []).filter(
    (id) => `slack:${id}` !== proposal.by && id !== state.ownerSlackId,
  );
  const message = approvalRequestMessage({
    item: requestItemOf(state),
    proposedBy: proposal.by.replace(/^slack:/, ''),
    reason: proposal.reason,
    days: proposal.days,
  });
  for (const approver of approvers) await deps.slack.postMessage(approver, message);
  return `asked ${approvers.length} approvers`;
}

/** Rewrites the request message a credential was posted in to show who decided what. */
export async function refreshMessage(
  deps: { store: DecisionStore; slack: SlackClient },
  credentialId: string,
  responseUrl: string | undefined,
): Promise<void> {
  const state = await deps.store.getState(credentialId);
  if (!state) return;
  const where = state.message;
  const siblings = where
    ? [...(await deps.store.loadStates(state.accountId)).values()].filter(
        (s) => s.message?.channel === where.channel && s.message.ts === where.ts,
      )
    : [state];
  const message =
    siblings.length > 1
      ? requestMessageOf(state.ownerSlackId ?? state.owner, siblings)
      : outcomeMessage(state);
  if (responseUrl) await deps.slack.respond(responseUrl, { replace_original: true, ...message });
  else if (where) await deps.slack.updateMessage(where.channel, where.ts, message);
}
