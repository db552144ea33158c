import type { DecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { CredentialState } from '../../lambdas/shared/domain/decision';

const DAY_MS = 86_400_000;

/**
 * Records an idle access key's open request (a `flag`, request seq 1, its deadline 14 days on), not
 * yet told, as a scan would, and returns its state: the starting point of the Slack tests and bench.
 */
export async function flaggedRequest(
  store: DecisionStore,
  request: {
    credentialId: string;
    principal: string;
    owner: string;
    at: Date;
    policyId: string;
    lastUsedAt?: string;
  },
): Promise<CredentialState> {
  const { credentialId, principal, owner, at, policyId, lastUsedAt } = request;
  const about = {
    credentialId,
    accountId: credentialId.slice(0, 12),
    kind: 'access-key',
    principal,
    owner,
  } as const;
  await store.transition(credentialId, () => ({
    state: {
      ...about,
      status: 'pending',
      triggers: ['idle'],
      tier: 'standard',
      requestSeq: 1,
      requestedAt: at.toISOString(),
      deadlineAt: new Date(at.getTime() + 14 * DAY_MS).toISOString(),
      why: 'unused for 120 days (tier standard allows 90)',
      ...(lastUsedAt && { lastUsedAt }),
    },
    decision: {
      ...about,
      action: 'flag',
      reason: 'unused for 120 days',
      actor: 'system:scan',
      at: at.toISOString(),
      mode: 'report',
      policyId,
      evidence: {},
    },
  }));
  return (await store.getState(credentialId)) as CredentialState;
}
