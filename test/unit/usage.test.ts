import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/shared/domain/credential';
import { parseCredentialId } from '../../lambdas/shared/domain/credential';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { describeFinding, evaluateCredential } from '../../lambdas/shared/domain/evaluate';
import { planScanTransition } from '../../lambdas/shared/domain/lifecycle';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { planStillNeeded } from '../../lambdas/shared/domain/reauthorization';
import {
  KEY_SLOT_KEPT_DAYS,
  type KeySlotUsage,
  keySlotIdOf,
  observeUsage,
  planKeySlotUsage,
  USAGE_CAP,
  type Usage,
} from '../../lambdas/shared/domain/usage';

const NOW = new Date('2026-11-22T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);
const tier = { usageLearningDays: 30 };
const learned = (days: number, services: string[], regions: string[]): Usage => ({
  services,
  regions,
  since: daysAgo(days).toISOString(),
});

describe('observeUsage', () => {
  it('has nothing for a credential never used', () => {
    expect(observeUsage(undefined, {}, tier, NOW)).toEqual({ usage: undefined });
  });

  it('starts the set on the first sighting, without a change, and learning from that day', () => {
    expect(observeUsage(undefined, { service: 's3', region: 'eu-west-1' }, tier, NOW)).toEqual({
      usage: { services: ['s3'], regions: ['eu-west-1'], since: NOW.toISOString() },
    });
  });

  it('adds a new service or region to the set while learning', () => {
    const { usage, change } = observeUsage(
      learned(29, ['s3'], ['eu-west-1']),
      { service: 'iam', region: 'us-east-1' },
      tier,
      NOW,
    );
    expect(change).toBeUndefined();
    expect(usage).toMatchObject({ services: ['s3', 'iam'], regions: ['eu-west-1', 'us-east-1'] });
  });

  it('asks about a new service or region once learning is over, and keeps asking until answered', () => {
    const { usage, change } = observeUsage(
      learned(30, ['s3'], ['eu-west-1']),
      { service: 'iam', region: 'us-east-1' },
      tier,
      NOW,
    );
    expect(usage).toMatchObject({ services: ['s3'], regions: ['eu-west-1'] });
    expect(usage?.asked).toEqual({ services: ['iam'], regions: ['us-east-1'], at: NOW.toISOString() });
    expect(change).toMatchObject({
      asked: { services: ['iam'], regions: ['us-east-1'] },
      before: { services: ['s3'], regions: ['eu-west-1'] },
    });
    // Back to its old use: the question stays open.
    expect(observeUsage(usage, { service: 's3', region: 'eu-west-1' }, tier, NOW).change).toEqual(change);
  });

  it("asks at once about a region outside the tier's allowed regions, even while learning", () => {
    const { usage, change } = observeUsage(
      undefined,
      { service: 's3', region: 'ap-south-1' },
      { ...tier, allowedRegions: ['eu-west-1'] },
      NOW,
    );
    expect(usage).toMatchObject({ services: ['s3'], regions: [] });
    expect(change?.notAllowed).toEqual({ regions: ['ap-south-1'], allowedRegions: ['eu-west-1'] });
  });

  it(`keeps at most ${USAGE_CAP} services, the oldest dropped`, () => {
    const many = Array.from({ length: USAGE_CAP }, (_, i) => `svc${i}`);
    const { usage } = observeUsage(learned(1, many, ['eu-west-1']), { service: 'new' }, tier, NOW);
    expect(usage?.services).toHaveLength(USAGE_CAP);
    expect(usage?.services.at(-1)).toBe('new');
    expect(usage?.services).not.toContain('svc0');
  });
});

const policy = parsePolicyConfig({});
const credentialId = '123456789012:access-key:AKIAEXAMPLE000000001';
const context = { now: NOW, mode: 'report' as const, policyId: 'sha256:test', actor: 'system:scan' };
function key(service: string, region: string): Credential {
  return {
    accountId: '123456789012',
    kind: 'access-key',
    id: 'AKIAEXAMPLE000000001',
    principal: 'deployer',
    principalArn: 'arn:aws:iam::123456789012:user/deployer',
    createdAt: daysAgo(100),
    lastRotatedAt: daysAgo(100),
    lastUsedAt: daysAgo(0),
    lastUsedService: service,
    lastUsedRegion: region,
    tags: { 'reauth:owner': 'UOWNER' },
  };
}
function state(usage: Usage, overrides: Partial<CredentialState> = {}): CredentialState {
  return {
    credentialId,
    accountId: '123456789012',
    kind: 'access-key',
    principal: 'deployer',
    owner: 'UOWNER',
    status: 'active',
    triggers: [],
    usage,
    updatedAt: daysAgo(40).toISOString(),
    seq: 0,
    lastHash: '0'.repeat(64),
    ...overrides,
  };
}

describe('usage drift in evaluation and the record', () => {
  it('records the first sighting in the state alone, with no decision', () => {
    const credential = key('s3', 'eu-west-1');
    const evaluation = evaluateCredential(credential, undefined, policy, NOW, credentialId);
    const change = planScanTransition(credentialId, credential, evaluation, undefined, context);
    expect(change?.decision).toBeUndefined();
    expect(change?.state).toMatchObject({
      status: 'active',
      usage: { services: ['s3'], regions: ['eu-west-1'] },
      keyCreatedAt: daysAgo(100).toISOString(),
    });
    // The next day, the same use: nothing to write.
    const stored = state(change?.state.usage as Usage);
    const again = evaluateCredential(credential, stored, policy, NOW, credentialId);
    expect(planScanTransition(credentialId, credential, again, stored, context)).toBeUndefined();
  });

  it('flags a new service and region after learning, saying what changed, even while vouched for', () => {
    const credential = key('iam', 'us-east-1');
    const current = state(learned(40, ['s3'], ['eu-west-1']), {
      reviewDueAt: daysAgo(-30).toISOString(),
    });
    const evaluation = evaluateCredential(credential, current, policy, NOW, credentialId);
    expect(evaluation).toMatchObject({ outcome: 'finding', triggers: ['usage-changed'] });
    if (evaluation.outcome !== 'finding') throw new Error('expected a finding');
    expect(describeFinding(evaluation)).toBe(
      'first use of `iam` from `us-east-1`; before: `s3` in `eu-west-1`',
    );
    const change = planScanTransition(credentialId, credential, evaluation, current, context);
    expect(change?.decision).toMatchObject({
      action: 'flag',
      evidence: {
        lastUsedService: 'iam',
        lastUsedRegion: 'us-east-1',
        usageChange: { asked: { services: ['iam'] } },
      },
    });
  });

  it("the owner's Still needed adds the new use to the known set", () => {
    const asked: Usage = {
      ...learned(40, ['s3'], ['eu-west-1']),
      asked: { services: ['iam'], regions: ['us-east-1'], at: daysAgo(1).toISOString() },
    };
    const pending = state(asked, { status: 'pending', triggers: ['usage-changed'], requestSeq: 1, seq: 1 });
    const answered = planStillNeeded(
      pending,
      { days: 30, reason: 'deploys IAM roles now' },
      { now: NOW, policy, policyId: 'sha256:test', slackUserId: 'UOWNER' },
    );
    expect(answered.state.usage).toEqual({
      services: ['s3', 'iam'],
      regions: ['eu-west-1', 'us-east-1'],
      since: asked.since,
    });
    expect(answered.decision.evidence).toMatchObject({
      usageVouchedFor: { services: ['iam'], regions: ['us-east-1'] },
    });
    const after = { ...pending, ...answered.state, seq: 2 };
    expect(evaluateCredential(key('iam', 'us-east-1'), after, policy, NOW, credentialId).outcome).toBe('ok');
  });
});

describe('a key slot: what an access key not known by id learned', () => {
  const slot = { accountId: '123456789012', principal: 'deployer', keyCreatedAt: daysAgo(100).toISOString() };
  const epoch = (date: Date) => Math.floor(date.getTime() / 1000);
  const kept = (usage: Usage, writtenDaysAgo: number): KeySlotUsage => ({
    ...slot,
    usage,
    expiresAt: epoch(daysAgo(writtenDaysAgo)) + KEY_SLOT_KEPT_DAYS * 86_400,
  });

  it('is named by its user and creation, one per key, and is never a credential id', () => {
    const id = keySlotIdOf(slot);
    expect(id).toBe(`123456789012:key-slot:deployer@${slot.keyCreatedAt}`);
    expect(keySlotIdOf({ ...slot, keyCreatedAt: daysAgo(1).toISOString() })).not.toBe(id);
    expect(() => parseCredentialId(id)).toThrow('not a credential id');
  });

  it('is written when it learns, and not again while it learns nothing, until half its keeping is gone', () => {
    const usage = learned(0, ['s3'], ['eu-west-1']);
    expect(planKeySlotUsage(undefined, slot, undefined, NOW)).toBeUndefined();
    expect(planKeySlotUsage(undefined, slot, usage, NOW)).toEqual({
      ...slot,
      usage,
      expiresAt: epoch(NOW) + KEY_SLOT_KEPT_DAYS * 86_400,
    });
    expect(planKeySlotUsage(kept(usage, 10), slot, usage, NOW)).toBeUndefined();
    const wider = { ...usage, services: ['s3', 'sts'] };
    expect(planKeySlotUsage(kept(usage, 10), slot, wider, NOW)?.usage).toEqual(wider);
    // A key in daily use the same way must not forget it: its expiry is pushed on.
    const refreshed = planKeySlotUsage(kept(usage, KEY_SLOT_KEPT_DAYS / 2 + 1), slot, usage, NOW);
    expect(refreshed?.expiresAt).toBe(epoch(NOW) + KEY_SLOT_KEPT_DAYS * 86_400);
  });

  it("after learning, a new use is a finding, and the key's new state takes the slot's usage over", () => {
    const credential = key('iam', 'us-east-1');
    const keySlot = kept(learned(35, ['s3'], ['eu-west-1']), 35);
    const evaluation = evaluateCredential(credential, keySlot, policy, NOW, credentialId);
    expect(evaluation).toMatchObject({ outcome: 'finding', triggers: ['usage-changed'] });

    const change = planScanTransition(credentialId, credential, evaluation, undefined, context);
    expect(change?.state).toMatchObject({
      credentialId,
      status: 'pending',
      why: 'first use of `iam` from `us-east-1`; before: `s3` in `eu-west-1`',
      usage: {
        services: ['s3'],
        regions: ['eu-west-1'],
        since: keySlot.usage.since,
        asked: { services: ['iam'], regions: ['us-east-1'] },
      },
    });
    expect(change?.decision).toMatchObject({ action: 'flag' });
  });

  it('reads nothing else from a key slot: no status, exemption or review date', () => {
    const credential = key('s3', 'eu-west-1');
    const keySlot = kept(learned(5, ['s3'], ['eu-west-1']), 5);
    expect(evaluateCredential(credential, keySlot, policy, NOW, credentialId)).toEqual({
      outcome: 'ok',
      owner: 'UOWNER',
      ownerSource: { source: 'tag', via: 'reauth:owner' },
      usage: keySlot.usage,
    });
  });
});
