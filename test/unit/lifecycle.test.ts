import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/shared/domain/credential';
import { type CredentialState, chainDecision, GENESIS_HASH } from '../../lambdas/shared/domain/decision';
import { evaluateCredential } from '../../lambdas/shared/domain/evaluate';
import { planScanTransition } from '../../lambdas/shared/domain/lifecycle';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';

const NOW = new Date('2026-11-22T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);
const policy = parsePolicyConfig({});
const context = { now: NOW, mode: 'report' as const, policyId: policyIdOf(policy), actor: 'system:scan' };
const credentialId = '123456789012:secret:arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf';
const idleSecret: Credential = {
  accountId: '123456789012',
  kind: 'secret',
  id: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf',
  principal: 'db',
  principalArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf',
  createdAt: daysAgo(300),
  lastRotatedAt: daysAgo(30),
  lastUsedAt: daysAgo(120),
  tags: { owner: 'U042' },
};

/** The state the store would hold after recording `transition`. */
function stored(
  transition: NonNullable<ReturnType<typeof planScanTransition>>,
  previous: { seq: number; lastHash: string } = { seq: 0, lastHash: GENESIS_HASH },
): CredentialState {
  if (!transition.decision) return { ...transition.state, ...previous, updatedAt: transition.at };
  const decision = chainDecision(transition.decision, previous);
  return { ...transition.state, seq: decision.seq, lastHash: decision.hash, updatedAt: decision.at };
}

describe('planScanTransition', () => {
  it('flags a new finding: pending, with a deadline graceDays away and the evidence on the decision', () => {
    const evaluation = evaluateCredential(idleSecret, undefined, policy, NOW, credentialId);
    const transition = planScanTransition(credentialId, idleSecret, evaluation, undefined, context);
    expect(transition?.state).toMatchObject({ status: 'pending', triggers: ['idle'], owner: 'U042' });
    expect(transition?.state.deadlineAt).toBe('2026-12-06T12:00:00.000Z');
    expect(transition?.decision).toMatchObject({
      action: 'flag',
      actor: 'system:scan',
      mode: 'report',
      reason: 'unused for 120 days (tier standard allows 90)',
      evidence: { idleDays: 120, triggers: ['idle'] },
    });
  });

  it('carries what identifies the credential into the state the message is built from, vendors named by the policy', () => {
    const role: Credential = {
      accountId: '123456789012',
      kind: 'role',
      id: 'vendor-monitoring',
      principal: 'vendor-monitoring',
      principalArn: 'arn:aws:iam::123456789012:role/vendor-monitoring',
      createdAt: daysAgo(200),
      lastUsedAt: daysAgo(100),
      lastUsedRegion: 'eu-central-1',
      tags: { owner: 'U042' },
      trustedAccounts: ['111122223333', '999988887777'],
      requiresExternalId: true,
    };
    const named = parsePolicyConfig({ vendors: { '999988887777': 'Acme Monitoring' } });
    const roleId = '123456789012:role:vendor-monitoring';

    const transition = planScanTransition(
      roleId,
      role,
      evaluateCredential(role, undefined, named, NOW, roleId),
      undefined,
      context,
    );

    const identification = {
      createdAt: daysAgo(200).toISOString(),
      lastUsedRegion: 'eu-central-1',
      trustedAccounts: ['111122223333', '999988887777'],
      vendors: { '999988887777': 'Acme Monitoring' },
      requiresExternalId: true,
    };
    expect(transition?.state.identification).toEqual(identification);
    expect(transition?.decision?.evidence).toMatchObject(identification);
  });

  it('writes nothing when the record already says the same thing', () => {
    const first = planScanTransition(
      credentialId,
      idleSecret,
      evaluateCredential(idleSecret, undefined, policy, NOW, credentialId),
      undefined,
      context,
    );
    const state = stored(first as NonNullable<typeof first>);
    const later = new Date(NOW.getTime() + 86_400_000);
    const again = planScanTransition(
      credentialId,
      idleSecret,
      evaluateCredential(idleSecret, state, policy, later, credentialId),
      state,
      { ...context, now: later },
    );
    expect(again).toBeUndefined();
  });

  it('records a new trigger on a pending credential, keeping its deadline', () => {
    const first = planScanTransition(
      credentialId,
      idleSecret,
      evaluateCredential(idleSecret, undefined, policy, NOW, credentialId),
      undefined,
      context,
    );
    const state = stored(first as NonNullable<typeof first>);
    const orphaned = { ...idleSecret, tags: {} };
    const next = planScanTransition(
      credentialId,
      orphaned,
      evaluateCredential(orphaned, state, policy, NOW, credentialId),
      state,
      context,
    );
    expect(next?.state).toMatchObject({
      triggers: ['idle', 'orphaned'],
      deadlineAt: state.deadlineAt,
      owner: '#security',
    });
  });

  it('records a protected principal once, as an exempt decision with the reason', () => {
    const guarded = parsePolicyConfig({ protectedPrincipals: ['db'] });
    const evaluation = evaluateCredential(idleSecret, undefined, guarded, NOW, credentialId);
    const transition = planScanTransition(credentialId, idleSecret, evaluation, undefined, context);
    expect(transition?.state.status).toBe('protected');
    expect(transition?.decision?.reason).toContain('protected principal');
    const state = stored(transition as NonNullable<typeof transition>);
    expect(planScanTransition(credentialId, idleSecret, evaluation, state, context)).toBeUndefined();
  });

  it('leaves a disabled credential to the enforce job', () => {
    const evaluation = evaluateCredential(idleSecret, undefined, policy, NOW, credentialId);
    const disabled = {
      ...stored(planScanTransition(credentialId, idleSecret, evaluation, undefined, context) as never),
      status: 'disabled' as const,
    };
    expect(planScanTransition(credentialId, idleSecret, evaluation, disabled, context)).toBeUndefined();
  });

  it('clears a pending credential whose finding went away, recording the use that cleared it', () => {
    const evaluation = evaluateCredential(idleSecret, undefined, policy, NOW, credentialId);
    const pending = stored(
      planScanTransition(credentialId, idleSecret, evaluation, undefined, context) as never,
    );
    const readAgain = { ...idleSecret, lastUsedAt: daysAgo(0) };

    const next = planScanTransition(
      credentialId,
      readAgain,
      evaluateCredential(readAgain, pending, policy, NOW, credentialId),
      pending,
      context,
    );

    expect(next?.state).toMatchObject({ status: 'active', triggers: [] });
    expect(next?.state.deadlineAt).toBeUndefined();
    expect(next?.decision).toMatchObject({ action: 'reauthorize', actor: 'system:scan' });
    expect(next?.decision?.reason).toMatch(/idle no longer applies \(last used 2026-11-22\)/);
  });

  it('records nothing for a healthy credential it never flagged', () => {
    const healthy = { ...idleSecret, lastUsedAt: daysAgo(1) };
    expect(
      planScanTransition(
        credentialId,
        healthy,
        evaluateCredential(healthy, undefined, policy, NOW, credentialId),
        undefined,
        context,
      ),
    ).toBeUndefined();
  });

  it("keeps a request an event opened until it is answered: a scan that finds nothing does not close it, and one that finds something keeps the event's trigger beside its own", () => {
    const busy: Credential = { ...idleSecret, lastUsedAt: daysAgo(1) };
    const departed = stored(
      planScanTransition(
        credentialId,
        idleSecret,
        evaluateCredential(idleSecret, undefined, policy, NOW, credentialId),
        undefined,
        context,
      ) as NonNullable<ReturnType<typeof planScanTransition>>,
    );
    const opened: CredentialState = { ...departed, triggers: ['owner-departed'] };

    const quiet = planScanTransition(
      credentialId,
      busy,
      evaluateCredential(busy, opened, policy, NOW, credentialId),
      opened,
      context,
    );
    expect(quiet).toBeUndefined();

    const idleToo = planScanTransition(
      credentialId,
      idleSecret,
      evaluateCredential(idleSecret, opened, policy, NOW, credentialId),
      opened,
      context,
    );
    expect(idleToo?.state).toMatchObject({ status: 'pending', triggers: ['owner-departed', 'idle'] });
    expect(idleToo?.state.requestSeq).toBe(opened.requestSeq);

    // A trigger the scan does see still closes the request once it goes away.
    const idleOnly: CredentialState = { ...departed, triggers: ['idle'] };
    const cleared = planScanTransition(
      credentialId,
      busy,
      evaluateCredential(busy, idleOnly, policy, NOW, credentialId),
      idleOnly,
      context,
    );
    expect(cleared?.decision?.action).toBe('reauthorize');
  });
});
