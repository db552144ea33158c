import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/shared/domain/credential';
import { type CredentialState, chainDecision, GENESIS_HASH } from '../../lambdas/shared/domain/decision';
import { describeFinding, evaluateCredential } from '../../lambdas/shared/domain/evaluate';
import { isUntoldBackdoor, planScanTransition } from '../../lambdas/shared/domain/lifecycle';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { escalationMessage, type SectionBlock } from '../../lambdas/shared/slack/messages';
import { BACKDOOR_DETAIL, requestItemOf } from '../../lambdas/shared/use-cases/notify-owners';

const ACCOUNT = '123456789012';
// AWS's Elastic Load Balancing log delivery account in us-east-1 (fwdcloudsec/known_aws_accounts, `type: aws`).
const ELB_LOGS = '127311923021';
const DATADOG = '464622532012';
const NOW = new Date('2026-11-22T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);
const policy = parsePolicyConfig({});
const context = { now: NOW, mode: 'report' as const, policyId: policyIdOf(policy), actor: 'system:scan' };
const roleId = `${ACCOUNT}:role:log-reader`;

/** A role its owner uses every day, trusted by `accounts`. */
const role = (accounts: string[], lastUsedDaysAgo = 1): Credential => ({
  accountId: ACCOUNT,
  kind: 'role',
  id: 'log-reader',
  principal: 'log-reader',
  principalArn: `arn:aws:iam::${ACCOUNT}:role/log-reader`,
  createdAt: daysAgo(400),
  lastUsedAt: daysAgo(lastUsedDaysAgo),
  tags: { owner: 'U042' },
  trustedAccounts: accounts,
  requiresExternalId: false,
});

/** The state the store would hold after recording `transition` on top of `previous`. */
function stored(
  transition: NonNullable<ReturnType<typeof planScanTransition>>,
  previous: { seq: number; lastHash: string } = { seq: 0, lastHash: GENESIS_HASH },
): CredentialState {
  if (!transition.decision) throw new Error('expected a decision');
  const decision = chainDecision(transition.decision, previous);
  return { ...transition.state, seq: decision.seq, lastHash: decision.hash, updatedAt: decision.at };
}

describe('aws-service-account-trusted', () => {
  it('flags a role trusted by an account AWS owns, first, and names the service without calling it a vendor', () => {
    const evaluation = evaluateCredential(role([DATADOG, ELB_LOGS], 120), undefined, policy, NOW, roleId);

    expect(evaluation.outcome).toBe('finding');
    if (evaluation.outcome !== 'finding') return;
    expect(evaluation.triggers).toEqual(['aws-service-account-trusted', 'idle']);
    expect(evaluation.evidence).toMatchObject({
      triggers: ['aws-service-account-trusted', 'idle'],
      awsServiceAccounts: { [ELB_LOGS]: 'ELB logs' },
      vendors: { [DATADOG]: 'Datadog' },
    });
    expect(describeFinding(evaluation)).toBe(
      `trusts ${ELB_LOGS} (ELB logs), an account AWS owns for its own service, never a vendor: AWS never assumes a customer's role from one, so this trust is likely a backdoor; remove it (the security channel is told too); unused for 120 days (tier standard allows 90)`,
    );
  });

  it('leaves a role trusted only by a vendor alone while it is used', () => {
    expect(evaluateCredential(role([DATADOG]), undefined, policy, NOW, roleId).outcome).toBe('ok');
  });

  it('asks even while a reauthorization vouches for the role: an answer must not hide a backdoor', () => {
    const vouched = { usage: undefined, seq: 2, reviewDueAt: '2027-01-01T00:00:00.000Z' } as CredentialState;

    const backdoored = evaluateCredential(role([ELB_LOGS], 200), vouched, policy, NOW, roleId);
    const vendorOnly = evaluateCredential(role([DATADOG], 200), vouched, policy, NOW, roleId);

    expect(backdoored).toMatchObject({ outcome: 'finding', triggers: ['aws-service-account-trusted'] });
    expect(vendorOnly.outcome).toBe('ok');
  });

  it('opens a new request when it joins an open one, so owner and security are told at once', () => {
    const idle = role([DATADOG], 120);
    const first = stored(
      planScanTransition(
        roleId,
        idle,
        evaluateCredential(idle, undefined, policy, NOW, roleId),
        undefined,
        context,
      ) as NonNullable<ReturnType<typeof planScanTransition>>,
    );
    const told: CredentialState = {
      ...first,
      notifiedAt: NOW.toISOString(),
      escalatedAt: NOW.toISOString(),
      message: { channel: 'D042', ts: '1.2' },
    };
    const backdoored = role([DATADOG, ELB_LOGS], 120);
    const later = new Date(NOW.getTime() + 86_400_000);

    const next = planScanTransition(
      roleId,
      backdoored,
      evaluateCredential(backdoored, told, policy, later, roleId),
      told,
      { ...context, now: later },
    );

    expect(next?.decision).toMatchObject({ action: 'flag' });
    expect(next?.state).toMatchObject({
      status: 'pending',
      triggers: ['aws-service-account-trusted', 'idle'],
      requestSeq: told.seq + 1,
      requestedAt: later.toISOString(),
    });
    expect(next?.state.notifiedAt).toBeUndefined();
    expect(isUntoldBackdoor(stored(next as NonNullable<typeof next>, told))).toBe(true);
    expect(isUntoldBackdoor(told)).toBe(false);
  });

  it('is escalated once per request: not after the security channel was told', () => {
    const evaluation = evaluateCredential(role([ELB_LOGS]), undefined, policy, NOW, roleId);
    const flagged = stored(
      planScanTransition(roleId, role([ELB_LOGS]), evaluation, undefined, context) as NonNullable<
        ReturnType<typeof planScanTransition>
      >,
    );

    expect(isUntoldBackdoor(flagged)).toBe(true);
    expect(isUntoldBackdoor({ ...flagged, escalatedAt: NOW.toISOString() })).toBe(false);
  });

  it('tells the security channel it is a likely backdoor, with the service as context', () => {
    const evaluation = evaluateCredential(role([ELB_LOGS]), undefined, policy, NOW, roleId);
    const flagged = stored(
      planScanTransition(roleId, role([ELB_LOGS]), evaluation, undefined, context) as NonNullable<
        ReturnType<typeof planScanTransition>
      >,
    );

    const message = escalationMessage({
      items: [requestItemOf(flagged, 'report')],
      reason: 'aws-service-account-trusted',
      detail: BACKDOOR_DETAIL,
    });

    expect(message.text).toMatch(/^Likely backdoors: roles trusted by an AWS-owned account: 1 credential/);
    const item = (message.blocks.at(-1) as SectionBlock).text.text;
    expect(item).toContain(
      `Trusts: ${ELB_LOGS} (owned by AWS for ELB logs: never a vendor); no ExternalId required`,
    );
    expect(item).toContain('Why: trusts 127311923021 (ELB logs), an account AWS owns for its own service');
  });
});
