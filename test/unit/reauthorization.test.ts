import { describe, expect, it } from 'vitest';
import { planDeadline, planEnforcement, reminderTimes } from '../../lambdas/shared/domain/deadlines';
import { type CredentialState, chainDecision, type Transition } from '../../lambdas/shared/domain/decision';
import { resolveOwner } from '../../lambdas/shared/domain/owners';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import {
  checkAnswer,
  type OwnerAction,
  planApproval,
  planAssignment,
  planDisable,
  planInUseAtDeadline,
  planRefusal,
  planRestore,
  planRotation,
  planStillNeeded,
} from '../../lambdas/shared/domain/reauthorization';

const NOW = new Date('2026-11-22T12:00:00Z');
const DAY = 86_400_000;
const at = (days: number) => new Date(NOW.getTime() + days * DAY);
const report = parsePolicyConfig({ slack: { delegates: { 'alice@example.com': ['UDELEGATE'] } } });
const enforce = parsePolicyConfig({ ...report, mode: 'enforce' });

/** A request opened at NOW (standard tier: 14 days' grace, 90 days' reauthorization), owner told. */
const pending: CredentialState = {
  credentialId: '123456789012:access-key:AKIAEXAMPLE',
  accountId: '123456789012',
  kind: 'access-key',
  principal: 'ci-deployer',
  owner: 'alice@example.com',
  ownerSlackId: 'UALICE',
  status: 'pending',
  triggers: ['idle'],
  tier: 'standard',
  requestSeq: 1,
  requestedAt: NOW.toISOString(),
  deadlineAt: at(14).toISOString(),
  notifiedAt: NOW.toISOString(),
  remindersSent: 0,
  message: { channel: 'DALICE', ts: '1.0001' },
  updatedAt: NOW.toISOString(),
  seq: 2,
  lastHash: 'a'.repeat(64),
};

const answering = (slackUserId: string, now = NOW, policy = report) => ({
  now,
  policy,
  policyId: policyIdOf(policy),
  slackUserId,
});

/** The state the store holds once `transition` is written on top of `state`. */
function apply(state: CredentialState, transition: Transition): CredentialState {
  const decision = chainDecision(transition.decision, state);
  return { ...transition.state, seq: decision.seq, lastHash: decision.hash, updatedAt: decision.at };
}

describe('who may answer', () => {
  it('lets the owner (as resolved in Slack, or as tagged) and their delegates answer', () => {
    for (const user of ['UALICE', 'alice@example.com', 'UDELEGATE']) {
      expect(checkAnswer(pending, 'still-needed', 1, answering(user))).toBeUndefined();
    }
  });

  it('refuses anyone else, and records the attempt without touching the request', () => {
    const refusal = checkAnswer(pending, 'still-needed', 1, answering('UMALLORY'));
    expect(refusal).toMatchObject({ why: 'not-authorized' });
    expect(refusal?.reply).toMatch(/Only <@UALICE> or their delegates/);

    const recorded = planRefusal(
      pending,
      'still-needed',
      refusal as NonNullable<typeof refusal>,
      answering('UMALLORY'),
    );
    expect(recorded?.decision).toMatchObject({ action: 'refuse', actor: 'slack:UMALLORY' });
    const after = apply(pending, recorded as Transition);
    expect(after).toMatchObject({ status: 'pending', requestSeq: 1, deadlineAt: pending.deadlineAt });
    expect(checkAnswer(after, 'still-needed', 1, answering('UALICE'))).toBeUndefined();
  });

  it('tells a click on an older message, or on a request already answered, what happened', () => {
    expect(checkAnswer(pending, 'still-needed', 0, answering('UALICE'))?.reply).toMatch(/newer request/);
    const answered = apply(
      pending,
      planStillNeeded(pending, { days: 30, reason: 'nightly deploys' }, answering('UALICE')),
    );
    const again = checkAnswer(answered, 'still-needed', 1, answering('UALICE'));
    expect(again).toMatchObject({ why: 'not-open' });
    expect(again?.reply).toMatch(
      /already answered by <@UALICE>: access key AKIAEXAMPLE of ci-deployer is active and vouched for until 2026-12-22/,
    );
  });

  it('in report mode, refuses rotate and disable (nothing in IAM changes) but takes Still needed', () => {
    expect(checkAnswer(pending, 'disable', 1, answering('UALICE'))).toMatchObject({ why: 'report-mode' });
    expect(checkAnswer(pending, 'rotate', 1, answering('UALICE'))).toMatchObject({ why: 'report-mode' });
    expect(checkAnswer(pending, 'disable', 1, answering('UALICE', NOW, enforce))).toBeUndefined();
  });
});

describe('a refused attempt, recorded once per user, credential and UTC day', () => {
  const refused = { why: 'not-authorized', reply: 'no' } as const;
  const refuse = (state: CredentialState, user: string, now = NOW, action: OwnerAction = 'disable') =>
    planRefusal(state, action, refused, answering(user, now));

  it("records a user's first refusal of the day, and no other that day, whatever they try", () => {
    const first = refuse(pending, 'UMALLORY');
    expect(first?.state.refusedOn).toEqual({ day: '2026-11-22', users: ['UMALLORY'] });
    const after = apply(pending, first as Transition);

    expect(refuse(after, 'UMALLORY')).toBeUndefined();
    expect(refuse(after, 'UMALLORY', new Date('2026-11-22T23:59:59.999Z'), 'still-needed')).toBeUndefined();
  });

  it('records another user the same day, keeping who was refused already', () => {
    const after = apply(pending, refuse(pending, 'UMALLORY') as Transition);
    const other = refuse(after, 'UEVE');

    expect(other?.decision).toMatchObject({ action: 'refuse', actor: 'slack:UEVE' });
    expect(other?.state.refusedOn).toEqual({ day: '2026-11-22', users: ['UMALLORY', 'UEVE'] });
    expect(refuse(apply(after, other as Transition), 'UMALLORY')).toBeUndefined();
  });

  it('records the same user again from midnight UTC, forgetting the days before', () => {
    let state = pending;
    for (const user of ['UMALLORY', 'UEVE']) state = apply(state, refuse(state, user) as Transition);
    const nextDay = refuse(state, 'UMALLORY', new Date('2026-11-23T00:00:00Z'));

    expect(nextDay?.decision).toMatchObject({ action: 'refuse', at: '2026-11-23T00:00:00.000Z' });
    expect(nextDay?.state.refusedOn).toEqual({ day: '2026-11-23', users: ['UMALLORY'] });
  });

  it('changes nothing else: the request and its deadline stay, the owner can still answer', () => {
    const after = apply(pending, refuse(pending, 'UMALLORY') as Transition);
    const { refusedOn, seq: _seq, lastHash: _hash, updatedAt: _at, ...rest } = after;
    const { seq: _s, lastHash: _h, updatedAt: _u, ...before } = pending;

    expect(rest).toEqual(before);
    expect(refusedOn?.users).toEqual(['UMALLORY']);
    expect(checkAnswer(after, 'disable', 1, answering('UALICE', NOW, enforce))).toBeUndefined();
  });
});

describe('Assign owner: a security approver names the owner of an orphaned credential', () => {
  const security = parsePolicyConfig({ slack: { delegates: { '#security': ['USEC'] } } });
  /** Escalated to the security channel: no owner was found (standard tier: 14 days' grace). */
  const orphan: CredentialState = {
    ...pending,
    owner: '#security',
    ownerSlackId: undefined,
    ownerSource: { source: 'fallback' },
    triggers: ['idle', 'orphaned'],
    why: 'idle for 120 days; no owner found',
    escalatedAt: NOW.toISOString(),
    message: { channel: 'C0SECURITY', ts: '1.0002' },
  };
  const later = at(3);

  it('refuses anyone but the fallback owner’s delegates, and records their attempt as other refusals are', () => {
    for (const user of ['UMALLORY', 'UALICE', 'UDELEGATE']) {
      const refusal = checkAnswer(orphan, 'assign-owner', 1, answering(user, later, security));
      expect(refusal).toMatchObject({ why: 'not-authorized' });
      expect(refusal?.reply).toMatch(/Only the security approvers \(the delegates of #security\)/);
    }
    const recorded = planRefusal(
      orphan,
      'assign-owner',
      checkAnswer(orphan, 'assign-owner', 1, answering('UMALLORY', later, security)) as never,
      answering('UMALLORY', later, security),
    );
    expect(recorded?.decision).toMatchObject({
      action: 'refuse',
      actor: 'slack:UMALLORY',
      evidence: { attempted: 'assign-owner', refusedBecause: 'not-authorized' },
    });
    expect(recorded?.state).toMatchObject({ owner: '#security', requestSeq: 1 });
  });

  it('refuses a stale message, and a credential that is not orphaned', () => {
    expect(checkAnswer(orphan, 'assign-owner', 0, answering('USEC', later, security))).toMatchObject({
      why: 'not-open',
    });
    expect(checkAnswer(pending, 'assign-owner', 1, answering('USEC', later, security))).toMatchObject({
      why: 'not-open',
    });
    expect(checkAnswer(orphan, 'assign-owner', 1, answering('USEC', later, security))).toBeUndefined();
  });

  it('records the assignment, makes it the first owner source, and opens a fresh request for the new owner', () => {
    const assigned = planAssignment(orphan, 'UDANA', answering('USEC', later, security));

    expect(assigned.decision).toMatchObject({
      action: 'assign-owner',
      actor: 'slack:USEC',
      owner: 'UDANA',
      evidence: { assignedOwner: 'UDANA', previousOwner: '#security', by: 'slack:USEC', requestSeq: 1 },
    });
    const after = apply(orphan, assigned);
    expect(after).toMatchObject({
      status: 'pending',
      owner: 'UDANA',
      ownerSource: { source: 'assigned', via: 'slack:USEC' },
      assignedOwner: { owner: 'UDANA', by: 'slack:USEC', at: later.toISOString() },
      triggers: ['idle', 'owner-changed'],
      requestSeq: 3,
      requestedAt: later.toISOString(),
      deadlineAt: at(3 + 14).toISOString(),
      remindersSent: 0,
    });
    // Not told yet: the notify pass asks the new owner in a message of their own.
    for (const told of ['notifiedAt', 'ownerSlackId', 'message', 'escalatedAt'] as const) {
      expect(after[told]).toBeUndefined();
    }
    // The old message's choice is now stale, and a second choice is refused as already assigned.
    const again = checkAnswer(after, 'assign-owner', 1, answering('USEC', later, security));
    expect(again).toMatchObject({ why: 'not-open' });
    expect(again?.reply).toMatch(/already assigned to <@UDANA> by <@USEC>/);
    // The owner chain reads it first, even with no owner tag.
    expect(resolveOwner({ tags: {} }, { assigned: { owner: 'UDANA', by: 'slack:USEC' } }, security)).toEqual({
      owner: 'UDANA',
      origin: { source: 'assigned', via: 'slack:USEC' },
    });
    // The new owner answers it as any owner does.
    expect(checkAnswer(after, 'still-needed', 3, answering('UDANA', later, security))).toBeUndefined();
  });
});

describe('Still needed', () => {
  it('makes the credential active, vouched for the chosen days, with approver and reason recorded', () => {
    const transition = planStillNeeded(pending, { days: 30, reason: 'nightly deploys' }, answering('UALICE'));
    expect(transition.state).toMatchObject({
      status: 'active',
      triggers: [],
      reviewDueAt: at(30).toISOString(),
      decidedBy: 'slack:UALICE',
    });
    expect(transition.state.deadlineAt).toBeUndefined();
    expect(transition.decision).toMatchObject({
      action: 'reauthorize',
      actor: 'slack:UALICE',
      reason: 'nightly deploys',
      evidence: { approver: 'slack:UALICE', until: at(30).toISOString(), days: 30 },
    });
  });

  it("caps the duration at the tier's reauthorizeForDays", () => {
    const transition = planStillNeeded(pending, { days: 3650, reason: 'forever' }, answering('UALICE'));
    expect(transition.decision.evidence).toMatchObject({ days: 90 });
  });
});

describe('disable and restore', () => {
  const context = {
    now: at(14),
    policyId: 'p',
    mode: 'enforce' as const,
    actor: 'system:enforce',
    reason: 'deadline',
  };

  it('disables with the receipt kept, and restores within the window into a new request', () => {
    const disabled = apply(
      pending,
      planDisable(pending, { kind: 'access-key', keyId: 'AKIAEXAMPLE' }, context),
    );
    expect(disabled).toMatchObject({
      status: 'disabled',
      triggers: ['idle'],
      disabledAt: at(14).toISOString(),
      disableReceipt: { kind: 'access-key', keyId: 'AKIAEXAMPLE' },
      requestSeq: 3,
    });
    expect(checkAnswer(disabled, 'restore', 3, answering('UALICE', at(20), enforce))).toBeUndefined();

    const restored = apply(disabled, planRestore(disabled, answering('UALICE', at(20), enforce)));
    expect(restored).toMatchObject({
      status: 'pending',
      triggers: ['idle'],
      requestSeq: 4,
      deadlineAt: at(34).toISOString(),
      decidedBy: 'slack:UALICE',
    });
    expect(restored.disableReceipt).toBeUndefined();
    expect(restored.notifiedAt).toBeUndefined();
  });

  it('refuses a restore once the restore window has passed', () => {
    const disabled = apply(
      pending,
      planDisable(pending, { kind: 'access-key', keyId: 'AKIAEXAMPLE' }, context),
    );
    expect(checkAnswer(disabled, 'restore', 3, answering('UALICE', at(14 + 31), enforce))?.reply).toMatch(
      /30-day restore window has passed/,
    );
  });

  it('records a rotation and when the replaced key is deactivated', () => {
    const rotated = planRotation(
      pending,
      { newKeyId: 'AKIANEW', storedIn: 'arn:secret' },
      answering('UALICE', NOW, enforce),
    );
    expect(rotated.state).toMatchObject({
      status: 'active',
      rotation: { newKeyId: 'AKIANEW', storedIn: 'arn:secret', deactivateAfter: at(14).toISOString() },
    });
    const after = apply(pending, rotated);
    expect(planDeadline(after, enforce, at(13))).toBeUndefined();
    expect(planDeadline(after, enforce, at(14))).toEqual({ step: 'deactivate-replaced' });
  });
});

describe('the hourly deadline plan', () => {
  it('reminds halfway and a day before the deadline, once each', () => {
    expect(reminderTimes(pending, report)).toEqual([at(7).getTime(), at(13).getTime()]);
    expect(planDeadline(pending, report, at(6))).toBeUndefined();
    expect(planDeadline(pending, report, at(7))).toEqual({ step: 'remind', reminder: 1 });
    expect(planDeadline({ ...pending, remindersSent: 1 }, report, at(8))).toBeUndefined();
    expect(planDeadline({ ...pending, remindersSent: 1 }, report, at(13.5))).toEqual({
      step: 'remind',
      reminder: 2,
    });
  });

  it('never reminds before the owner was told', () => {
    expect(planDeadline({ ...pending, notifiedAt: undefined }, report, at(20))).toBeUndefined();
  });

  it('at the deadline escalates once in report mode, and disables in enforce mode', () => {
    expect(planDeadline(pending, report, at(14))).toMatchObject({ step: 'escalate' });
    expect(planDeadline({ ...pending, escalatedAt: at(14).toISOString() }, report, at(15))).toBeUndefined();
    expect(planDeadline(pending, enforce, at(14))).toEqual({ step: 'disable' });
  });

  it('cancels the disable of a key used after the request: idle is answered, anything else escalated', () => {
    const context = { now: at(14), policyId: 'p', mode: 'enforce' as const, actor: 'system:enforce' };
    const idle = planInUseAtDeadline(pending, at(10), enforce, context);
    expect(idle.state.status).toBe('active');
    expect(idle.decision.reason).toMatch(/disable cancelled: used on .* so it is not idle/);

    const orphaned = planInUseAtDeadline(
      { ...pending, triggers: ['idle', 'orphaned'] },
      at(10),
      enforce,
      context,
    );
    expect(orphaned.decision.action).toBe('escalate');
    expect(orphaned.state).toMatchObject({ status: 'pending', deadlineAt: at(28).toISOString() });
  });
});

describe('a tier that needs a second approver', () => {
  const guarded = parsePolicyConfig({
    tiers: {
      standard: {
        idleDays: 90,
        maxAgeDays: 365,
        graceDays: 14,
        reauthorizeForDays: 90,
        newCredentialGraceDays: 14,
        approvers: ['UAPPROVER', 'UALICE'],
      },
    },
  });
  const as = (user: string) => answering(user, NOW, guarded);

  it("takes the owner's Still needed as a proposal: still pending, and recorded", () => {
    const proposed = planStillNeeded(pending, { days: 30, reason: 'nightly deploys' }, as('UALICE'));
    expect(proposed.state).toMatchObject({
      status: 'pending',
      proposal: { by: 'slack:UALICE', reason: 'nightly deploys', days: 30 },
    });
    expect(proposed.decision).toMatchObject({ action: 'notify', actor: 'slack:UALICE' });
    const after = apply(pending, proposed);
    expect(checkAnswer(after, 'still-needed', 1, as('UALICE'))?.reply).toMatch(
      /waiting for a second approver/,
    );
  });

  it('counts only when an approver other than the owner confirms', () => {
    const after = apply(
      pending,
      planStillNeeded(pending, { days: 30, reason: 'nightly deploys' }, as('UALICE')),
    );

    expect(checkAnswer(after, 'approve', 1, as('UALICE'))).toMatchObject({ why: 'not-authorized' });
    expect(checkAnswer(after, 'approve', 1, as('UMALLORY'))).toMatchObject({ why: 'not-authorized' });
    expect(checkAnswer(after, 'approve', 1, as('UAPPROVER'))).toBeUndefined();

    const approved = planApproval(after, as('UAPPROVER'));
    expect(approved.state).toMatchObject({ status: 'active', reviewDueAt: at(30).toISOString() });
    expect(approved.state.proposal).toBeUndefined();
    expect(approved.decision).toMatchObject({
      action: 'reauthorize',
      actor: 'slack:UAPPROVER',
      reason: 'nightly deploys',
      evidence: { approver: 'slack:UAPPROVER', proposedBy: 'slack:UALICE', days: 30 },
    });
  });

  it('has nothing to approve before the owner answered', () => {
    expect(checkAnswer(pending, 'approve', 1, as('UAPPROVER'))).toMatchObject({ why: 'not-open' });
  });
});

describe('planEnforcement: the rails of one enforce run', () => {
  const due = (principal: string, n: number): CredentialState => ({
    ...pending,
    credentialId: `123456789012:access-key:AKIADUE${n}`,
    principal,
  });
  const fresh = { size: 100, generatedAt: at(14) };
  const budget = (maxActions: number, maxFraction = 1) =>
    parsePolicyConfig({ mode: 'enforce', actionBudget: { maxActions, maxFraction } });

  it('plans a disable for each credential past its deadline, within the budget', () => {
    const plan = planEnforcement([due('a', 1), due('b', 2)], budget(2), at(14), fresh);
    expect(plan.actions.map((a) => a.step)).toEqual(['disable', 'disable']);
    expect(plan.budget).toEqual({ limit: 2, planned: 2, exceeded: false });
  });

  it('plans nothing at all when more is due than the count or the fraction of the inventory allows', () => {
    expect(planEnforcement([due('a', 1), due('b', 2), due('c', 3)], budget(2), at(14), fresh)).toMatchObject({
      actions: [],
      heldBack: [{ reason: 'budget-exceeded' }],
      budget: { limit: 2, planned: 3, exceeded: true },
    });
    // 5% of 20 credentials is one.
    const small = planEnforcement([due('a', 1), due('b', 2)], budget(25, 0.05), at(14), {
      ...fresh,
      size: 20,
    });
    expect(small).toMatchObject({ actions: [], budget: { limit: 1, exceeded: true } });
  });

  it('plans nothing on an inventory older than the freshness limit', () => {
    const stale = planEnforcement([due('a', 1)], budget(5), at(14), { size: 100, generatedAt: at(13.8) });
    expect(stale).toMatchObject({ actions: [], heldBack: [{ reason: 'stale-inventory' }] });
  });

  it('never plans an action on a protected principal, and says so', () => {
    const plan = planEnforcement([due('break-glass-root', 1), due('a', 2)], budget(5), at(14), fresh);
    expect(plan.actions.map((a) => a.state.principal)).toEqual(['a']);
    expect(plan.heldBack).toEqual([
      { reason: 'protected', states: [expect.objectContaining({ principal: 'break-glass-root' })] },
    ]);
  });

  it('in report mode plans escalations, never an action', () => {
    const plan = planEnforcement([due('a', 1)], report, at(14), fresh);
    expect(plan.actions).toEqual([]);
    expect(plan.escalations.map((s) => s.principal)).toEqual(['a']);
  });
});
