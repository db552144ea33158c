import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/shared/domain/credential';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { evaluateCredential } from '../../lambdas/shared/domain/evaluate';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import {
  InvalidEventError,
  interpretEvent,
  planTrustChange,
  type TrustChange,
} from '../../lambdas/shared/domain/trust-change';
import { eventJsonSchema, schemaFileName } from '../../lambdas/shared/events/json-schemas';
import { REAUTH_EVENTS, type ReauthEventType } from '../../lambdas/shared/events/schemas';

const policy = parsePolicyConfig({});
const NOW = new Date('2026-11-23T10:00:00Z');
const envelope = (source: string, detailType: string, detail: unknown) => ({
  id: 'evt-1',
  'detail-type': detailType,
  source,
  account: '123456789012',
  time: NOW.toISOString(),
  detail,
});
const cloudTrail = (
  service: 'iam' | 'secretsmanager',
  eventName: string,
  requestParameters: object,
  extra = {},
) =>
  envelope(`aws.${service}`, 'AWS API Call via CloudTrail', {
    eventSource: `${service}.amazonaws.com`,
    eventName,
    eventID: 'ct-1',
    requestParameters,
    ...extra,
  });
const interpret = (e: ReturnType<typeof envelope>) => interpretEvent(e, policy);

describe('the published event schemas', () => {
  it('are the JSON Schemas generated from what the consumer validates with (npm run schemas)', () => {
    for (const type of Object.keys(REAUTH_EVENTS) as ReauthEventType[]) {
      const file = new URL(`../../schemas/events/${schemaFileName(type)}`, import.meta.url);
      expect(JSON.parse(readFileSync(file, 'utf8')), type).toEqual(eventJsonSchema(type));
    }
  });
});

describe('interpretEvent', () => {
  it("asks about a policy attached to a user's keys, and only records one detached", () => {
    expect(
      interpret(
        cloudTrail('iam', 'AttachUserPolicy', { userName: 'ci', policyArn: 'arn:aws:iam::aws:policy/Admin' }),
      ),
    ).toEqual({
      change: expect.objectContaining({
        eventId: 'ct-1',
        trigger: 'scope-changed',
        widens: true,
        target: { kind: 'user', userName: 'ci' },
      }),
    });
    expect(
      interpret(cloudTrail('iam', 'DetachUserPolicy', { userName: 'ci', policyArn: 'x' })),
    ).toMatchObject({
      change: { widens: false },
    });
  });

  it('cares about tag changes only when they touch an owner tag', () => {
    expect(
      interpret(cloudTrail('iam', 'TagUser', { userName: 'ci', tags: [{ key: 'team', value: 'x' }] })),
    ).toHaveProperty('ignored');
    expect(
      interpret(cloudTrail('iam', 'UntagRole', { roleName: 'vendor', tagKeys: ['owner'] })),
    ).toMatchObject({
      change: { trigger: 'owner-changed', target: { kind: 'role', roleName: 'vendor' } },
    });
    expect(
      interpret(
        cloudTrail('secretsmanager', 'TagResource', {
          secretId: 'db',
          tags: [{ Key: 'reauth:owner', Value: 'U1' }],
        }),
      ),
    ).toMatchObject({
      change: { trigger: 'owner-changed', target: { kind: 'secret', secretId: 'db' } },
    });
  });

  it("ignores reauth's own disables, failed calls and secret updates that keep the key", () => {
    expect(
      interpret(cloudTrail('iam', 'PutRolePolicy', { roleName: 'v', policyName: 'reauth-disabled' })),
    ).toHaveProperty('ignored');
    expect(
      interpret(
        cloudTrail('secretsmanager', 'PutResourcePolicy', {
          secretId: 'db',
          resourcePolicy: '{"Sid":"ReauthDisabled"}',
        }),
      ),
    ).toHaveProperty('ignored');
    expect(
      interpret(cloudTrail('iam', 'AttachUserPolicy', { userName: 'ci' }, { errorCode: 'AccessDenied' })),
    ).toHaveProperty('ignored');
    expect(
      interpret(cloudTrail('secretsmanager', 'UpdateSecret', { secretId: 'db', description: 'x' })),
    ).toHaveProperty('ignored');
    expect(
      interpret(cloudTrail('secretsmanager', 'UpdateSecret', { secretId: 'db', kmsKeyId: 'k' })),
    ).toMatchObject({ change: { widens: true } });
  });

  it("reads reauth's own events: an owner, a credential or a tag", () => {
    expect(
      interpret(envelope('reauth', 'Owner Departed', { schemaVersion: 1, owner: 'dana@example.com' })),
    ).toEqual({
      change: expect.objectContaining({
        eventId: 'evt-1',
        trigger: 'owner-departed',
        target: { kind: 'owner', owner: 'dana@example.com' },
      }),
    });
    expect(
      interpret(
        envelope('reauth', 'Purpose Changed', {
          schemaVersion: 1,
          selector: { tag: { key: 'app', value: 'billing' } },
        }),
      ),
    ).toMatchObject({
      change: { trigger: 'purpose-changed', target: { kind: 'tag', key: 'app', value: 'billing' } },
    });
  });

  it('refuses malformed events with a reason (they go to the dead-letter queue, never retried)', () => {
    const bad = [
      envelope('reauth', 'Owner Departed', { schemaVersion: 2, owner: 'x' }),
      envelope('reauth', 'Purpose Changed', {
        schemaVersion: 1,
        selector: { credentialId: '123456789012:role:r', tag: { key: 'a', value: 'b' } },
      }),
      envelope('reauth', 'Owner Exploded', { schemaVersion: 1 }),
      envelope('aws.iam', 'AWS API Call via CloudTrail', { eventName: 'AttachUserPolicy' }),
      cloudTrail('iam', 'AttachRolePolicy', { policyArn: 'x' }),
      envelope('aws.ec2', 'EC2 Instance State-change Notification', {}),
    ];
    for (const event of bad) expect(() => interpret(event)).toThrow(InvalidEventError);
  });
});

describe('planTrustChange', () => {
  const key: Credential & { id: string } = {
    accountId: '123456789012',
    kind: 'access-key',
    id: 'AKIAEXAMPLE',
    principal: 'ci',
    principalArn: 'arn:aws:iam::123456789012:user/ci',
    createdAt: new Date('2026-10-01'),
    lastUsedAt: new Date('2026-11-22'),
    lastRotatedAt: new Date('2026-10-01'),
    tags: { owner: 'U1' },
  };
  const id = '123456789012:access-key:AKIAEXAMPLE';
  const context = {
    now: NOW,
    policy,
    policyId: policyIdOf(policy),
    mode: 'report' as const,
    actor: 'system:events',
  };
  const change: TrustChange = {
    eventId: 'ct-1',
    trigger: 'scope-changed',
    target: { kind: 'user', userName: 'ci' },
    widens: true,
    what: 'AttachUserPolicy on user ci',
  };
  const plan = (current: CredentialState | undefined, c = change) =>
    planTrustChange(id, key, evaluateCredential(key, current, policy, NOW, id), current, c, context);
  const stored = (t: ReturnType<typeof plan>): CredentialState => ({
    ...(t?.state as CredentialState),
    seq: 1,
    lastHash: 'h',
    updatedAt: NOW.toISOString(),
  });

  it('opens a request on a credential in use, with a deadline and the event recorded', () => {
    const opened = plan(undefined);
    expect(opened?.state).toMatchObject({
      status: 'pending',
      triggers: ['scope-changed'],
      owner: 'U1',
      lastEventId: 'ct-1',
      requestSeq: 1,
    });
    expect(opened?.decision).toMatchObject({
      action: 'flag',
      actor: 'system:events',
      evidence: { eventId: 'ct-1' },
    });
  });

  it('records the same event once, and adds a new reason to an open request without moving its deadline', () => {
    const first = stored(plan(undefined));
    expect(plan(first)).toBeUndefined();
    const departed = plan(first, {
      ...change,
      eventId: 'evt-9',
      trigger: 'owner-departed',
      what: 'Owner Departed',
    });
    expect(departed?.state).toMatchObject({
      triggers: ['scope-changed', 'owner-departed'],
      deadlineAt: first.deadlineAt,
      requestSeq: 1,
    });
  });

  it('only observes a change that reduces access', () => {
    const observed = plan(undefined, { ...change, widens: false });
    expect(observed?.state).toMatchObject({ status: 'active', triggers: [] });
    expect(observed?.decision.action).toBe('observe');
  });
});
