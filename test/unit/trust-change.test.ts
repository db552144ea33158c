import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/shared/domain/credential';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { evaluateCredential } from '../../lambdas/shared/domain/evaluate';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { revokeSessionsPolicy } from '../../lambdas/shared/domain/reauth-marks';
import { planTrustChange } from '../../lambdas/shared/domain/trust-change';
import {
  IAM_CHANGE_EVENTS,
  InvalidEventError,
  interpretEvent,
  judgeChange,
  type TrustChange,
} from '../../lambdas/shared/domain/trust-event';
import { eventJsonSchema, schemaFileName } from '../../lambdas/shared/events/json-schemas';
import { REAUTH_EVENTS, type ReauthEventType } from '../../lambdas/shared/events/schemas';
import { IAM_CHANGES_PATTERN } from '../../lib/trust-events';

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
/** reauth's enforce job's role, as the consumer's REAUTH_ROLE_ARNS names it. */
const REAUTH_ROLE = 'arn:aws:iam::123456789012:role/Reauth-EnforceJobEnforceRole1A2B3C';
const callers = {
  reauthRoleArns: [REAUTH_ROLE, 'arn:aws:iam::123456789012:role/Reauth-SlackWorkerRole4D5E6F'],
};
const interpret = (e: ReturnType<typeof envelope>) => interpretEvent(e, policy, callers);
/** CloudTrail's userIdentity for a call made by a session of `roleArn` (a Lambda function's). */
const assumedRole = (roleArn: string, session = 'reauth-enforce') => {
  const name = roleArn.split('/').pop();
  return {
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLE:${session}`,
      arn: `arn:aws:sts::123456789012:assumed-role/${name}/${session}`,
      accountId: '123456789012',
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROAEXAMPLE',
          arn: roleArn,
          accountId: '123456789012',
          userName: name,
        },
        attributes: { creationDate: '2026-11-23T09:59:00Z', mfaAuthenticated: 'false' },
      },
    },
  };
};
const byReauth = assumedRole(REAUTH_ROLE);
/** CloudTrail's userIdentity for an IAM user's call. */
const byUser = (name: string) => ({
  userIdentity: {
    type: 'IAMUser',
    principalId: 'AIDAEXAMPLE',
    arn: `arn:aws:iam::123456789012:user/${name}`,
    accountId: '123456789012',
    userName: name,
  },
});
const ROLE_DENY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'ReauthDisabled', Effect: 'Deny', Action: '*', Resource: '*' }],
});
const ALLOW_ALL = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'ReauthDisabled', Effect: 'Allow', Action: '*', Resource: '*' }],
});
/** reauth's managed policies, as CloudTrail's `policyArn` names them. */
const DISABLE_ARN = 'arn:aws:iam::123456789012:policy/reauth/reauth-disabled';
/** A hub stack's copy: `<namePrefix>-disabled`. */
const HUB_DISABLE_ARN = 'arn:aws:iam::123456789012:policy/reauth/acme-reauth-disabled';
const RIGHT_SIZE_ARN =
  'arn:aws:iam::123456789012:policy/reauth/right-size/reauth-right-size-0123456789abcdef01234567';
const SESSIONS_ARN =
  'arn:aws:iam::123456789012:policy/reauth/sessions/reauth-sessions-before-20261123T100000.000Z';
/** A team's own managed policies that only borrow reauth's names, outside its path. */
const LOOKALIKE_DISABLE_ARN = 'arn:aws:iam::123456789012:policy/reauth-disabled';
const LOOKALIKE_SESSIONS_ARN =
  'arn:aws:iam::123456789012:policy/team/reauth-sessions-before-20261123T100000.000Z';
const ADMIN_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const SECRET_DENY = {
  Sid: 'ReauthDisabled',
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: ['secretsmanager:GetSecretValue'],
  Resource: '*',
};
const VENDOR_READ = {
  Sid: 'VendorReads',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::999999999999:root' },
  Action: 'secretsmanager:GetSecretValue',
  Resource: '*',
};
const secretPolicy = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });

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

  it('ignores failed calls and secret updates that keep the key', () => {
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

describe("reauth's own changes: its caller and its own policy, both", () => {
  it("ignores a disable by reauth's role: reauth-disabled attached or made the boundary, the key Inactive, its exact deny on a secret", () => {
    const disables = [
      cloudTrail('iam', 'AttachRolePolicy', { roleName: 'v', policyArn: DISABLE_ARN }, byReauth),
      // A hub stack's copy is named after its prefix.
      cloudTrail('iam', 'AttachRolePolicy', { roleName: 'v', policyArn: HUB_DISABLE_ARN }, byReauth),
      // At IAM's quota of attached policies, reauth makes it the role's boundary instead.
      cloudTrail(
        'iam',
        'PutRolePermissionsBoundary',
        { roleName: 'v', permissionsBoundary: DISABLE_ARN },
        byReauth,
      ),
      cloudTrail(
        'secretsmanager',
        'PutResourcePolicy',
        { secretId: 'db', resourcePolicy: secretPolicy(VENDOR_READ, SECRET_DENY) },
        byReauth,
      ),
      cloudTrail(
        'iam',
        'UpdateAccessKey',
        { userName: 'ci', accessKeyId: 'AKIAEXAMPLE', status: 'Inactive' },
        byReauth,
      ),
    ];
    for (const event of disables)
      expect(interpret(event), JSON.stringify(event.detail)).toHaveProperty('ignored');
  });

  it("asks about any other policy reauth's role attaches or makes a boundary, and judges anyone else's attach of reauth-disabled by its document", () => {
    for (const event of [
      cloudTrail('iam', 'AttachRolePolicy', { roleName: 'v', policyArn: ADMIN_ARN }, byReauth),
      cloudTrail('iam', 'AttachUserPolicy', { userName: 'ci', policyArn: ADMIN_ARN }, byReauth),
      cloudTrail(
        'iam',
        'PutRolePermissionsBoundary',
        { roleName: 'v', permissionsBoundary: ADMIN_ARN },
        byReauth,
      ),
    ]) {
      expect(interpret(event), JSON.stringify(event.detail)).toMatchObject({
        change: { trigger: 'scope-changed', widens: true, grant: { policyArn: ADMIN_ARN } },
      });
    }
    const copied = interpret(
      cloudTrail('iam', 'AttachRolePolicy', { roleName: 'v', policyArn: DISABLE_ARN }, byUser('mallory')),
    );
    expect(copied).toMatchObject({
      change: {
        target: { kind: 'role', roleName: 'v' },
        grant: { kind: 'managed-policy', policyArn: DISABLE_ARN },
        by: 'arn:aws:iam::123456789012:user/mallory',
      },
    });
    // Read, its document is reauth's deny: it only takes access away, and turns nothing back on.
    const change = (copied as { change: TrustChange }).change;
    const judged = judgeChange(change, { document: ROLE_DENY });
    expect(judged).toMatchObject({ widens: false });
    expect(judged).not.toHaveProperty('turnsBackOn');
  });

  it("ignores reauth's own session revocation and its removal, and judges the same attach by anyone else by its document", () => {
    const own = [
      cloudTrail('iam', 'AttachUserPolicy', { userName: 'ci', policyArn: SESSIONS_ARN }, byReauth),
      cloudTrail('iam', 'AttachRolePolicy', { roleName: 'v', policyArn: SESSIONS_ARN }, byReauth),
      cloudTrail('iam', 'DetachUserPolicy', { userName: 'ci', policyArn: SESSIONS_ARN }, byReauth),
      cloudTrail('iam', 'DetachRolePolicy', { roleName: 'v', policyArn: SESSIONS_ARN }, byReauth),
      // An owner's Still needed, only what it uses and its Widen: recorded by their own decisions.
      cloudTrail('iam', 'AttachRolePolicy', { roleName: 'v', policyArn: RIGHT_SIZE_ARN }, byReauth),
      cloudTrail('iam', 'DetachUserPolicy', { userName: 'ci', policyArn: RIGHT_SIZE_ARN }, byReauth),
    ];
    for (const event of own) expect(interpret(event), JSON.stringify(event.detail)).toHaveProperty('ignored');
    // Anyone else's detach of reauth's right-size deny is a change to ask about, never ignored.
    expect(
      interpret(
        cloudTrail(
          'iam',
          'DetachRolePolicy',
          { roleName: 'v', policyArn: RIGHT_SIZE_ARN },
          byUser('mallory'),
        ),
      ),
    ).not.toHaveProperty('ignored');
    // Anyone else's attach of reauth's session policy, or reauth's role's attach of a policy that only
    // borrows its name (outside /reauth/sessions/), is judged by the document it holds: reauth's deny
    // only takes access away; an allow under the name widens, whoever attached it.
    for (const [who, policyArn, document, widens] of [
      [byUser('mallory'), SESSIONS_ARN, revokeSessionsPolicy('2026-11-23T10:00:00.000Z'), false],
      [byReauth, LOOKALIKE_SESSIONS_ARN, JSON.parse(ALLOW_ALL), true],
    ] as const) {
      const interpreted = interpret(
        cloudTrail('iam', 'AttachUserPolicy', { userName: 'ci', policyArn }, who),
      );
      expect(interpreted).toMatchObject({
        change: { trigger: 'scope-changed', grant: { kind: 'managed-policy', policyArn } },
      });
      expect(judgeChange((interpreted as { change: TrustChange }).change, { document })).toMatchObject({
        trigger: 'scope-changed',
        widens,
      });
    }
  });

  it("judges a team's inline policy named reauth-revoke-sessions by its document, whoever puts it: reauth writes no inline policy", () => {
    const revoke = encodeURIComponent(JSON.stringify(revokeSessionsPolicy('2026-11-23T10:00:00.000Z')));
    for (const [who, document, widens] of [
      [byUser('mallory'), revoke, false],
      [byReauth, revoke, false],
      [byReauth, ALLOW_ALL, true],
    ] as const) {
      expect(
        interpret(
          cloudTrail(
            'iam',
            'PutUserPolicy',
            { userName: 'ci', policyName: 'reauth-revoke-sessions', policyDocument: document },
            who,
          ),
        ),
      ).toMatchObject({ change: { trigger: 'scope-changed', widens } });
    }
    expect(
      interpret(
        cloudTrail(
          'iam',
          'DeleteUserPolicy',
          { userName: 'ci', policyName: 'reauth-revoke-sessions' },
          byReauth,
        ),
      ),
    ).toMatchObject({ change: { trigger: 'scope-changed', widens: false } });
  });

  it("judges a team's own policy named reauth-disabled by its document, whoever puts it, and never takes it for reauth's", () => {
    // An allow under the name widens, whoever put it (reauth's role included), and turns nothing back on.
    for (const who of [byUser('mallory'), assumedRole('arn:aws:iam::123456789012:role/deployer'), byReauth]) {
      const interpreted = interpret(
        cloudTrail(
          'iam',
          'PutRolePolicy',
          { roleName: 'v', policyName: 'reauth-disabled', policyDocument: ALLOW_ALL },
          who,
        ),
      );
      expect(interpreted).toMatchObject({
        change: { trigger: 'scope-changed', widens: true, target: { kind: 'role', roleName: 'v' } },
      });
      expect(interpreted).not.toHaveProperty('change.turnsBackOn');
    }
    // reauth's deny document under that inline name, even by reauth's role: the team's, a deny only.
    for (const who of [byUser('mallory'), byReauth]) {
      expect(
        interpret(
          cloudTrail(
            'iam',
            'PutRolePolicy',
            { roleName: 'v', policyName: 'reauth-disabled', policyDocument: ROLE_DENY },
            who,
          ),
        ),
      ).toMatchObject({ change: { trigger: 'scope-changed', widens: false } });
    }
    // A managed policy of that name outside /reauth/: the team's too, judged by its document.
    expect(
      interpret(
        cloudTrail('iam', 'AttachRolePolicy', { roleName: 'v', policyArn: LOOKALIKE_DISABLE_ARN }, byReauth),
      ),
    ).toMatchObject({
      change: { trigger: 'scope-changed', widens: true, grant: { policyArn: LOOKALIKE_DISABLE_ARN } },
    });
  });

  it("asks about a secret statement named ReauthDisabled that is not reauth's deny, whoever put it", () => {
    const lookalike = { ...SECRET_DENY, Effect: 'Allow', Action: 'secretsmanager:*' };
    for (const who of [byUser('mallory'), byReauth]) {
      expect(
        interpret(
          cloudTrail(
            'secretsmanager',
            'PutResourcePolicy',
            { secretId: 'db', resourcePolicy: secretPolicy(lookalike) },
            who,
          ),
        ),
      ).toMatchObject({
        change: { trigger: 'scope-changed', widens: true, target: { kind: 'secret', secretId: 'db' } },
      });
    }
    // reauth's exact deny written by someone else: a change of scope all the same.
    expect(
      interpret(
        cloudTrail(
          'secretsmanager',
          'PutResourcePolicy',
          { secretId: 'db', resourcePolicy: secretPolicy(VENDOR_READ, SECRET_DENY) },
          byUser('mallory'),
        ),
      ),
    ).toMatchObject({ change: { trigger: 'scope-changed', widens: true } });
  });

  it("does not take a role that is not one of reauth's for reauth, whatever its session is called", () => {
    const impostor = assumedRole('arn:aws:iam::123456789012:role/Reauth-EnforceJobEnforceRole1A2B3C-copy');
    expect(
      interpret(cloudTrail('iam', 'AttachRolePolicy', { roleName: 'v', policyArn: DISABLE_ARN }, impostor)),
    ).toHaveProperty('change');
    expect(
      interpret(cloudTrail('iam', 'DetachRolePolicy', { roleName: 'v', policyArn: DISABLE_ARN }, impostor)),
    ).toMatchObject({ change: { turnsBackOn: true } });
    // The issuer's ARN only counts in an assumed-role session's context.
    const noSession = {
      userIdentity: {
        type: 'IAMUser',
        arn: REAUTH_ROLE,
        sessionContext: byReauth.userIdentity.sessionContext,
      },
    };
    expect(
      interpret(cloudTrail('iam', 'DetachRolePolicy', { roleName: 'v', policyArn: DISABLE_ARN }, noSession)),
    ).toMatchObject({ change: { turnsBackOn: true } });
    expect(
      interpret(
        cloudTrail('iam', 'AttachUserPolicy', { userName: 'ci', policyArn: SESSIONS_ARN }, noSession),
      ),
    ).toHaveProperty('change');
  });

  it("ignores reauth's own restore: the key Active, reauth-disabled detached or its boundary deleted, its deny taken out of a secret", () => {
    const restores = [
      cloudTrail(
        'iam',
        'UpdateAccessKey',
        { userName: 'ci', accessKeyId: 'AKIAEXAMPLE', status: 'Active' },
        byReauth,
      ),
      cloudTrail('iam', 'DetachRolePolicy', { roleName: 'v', policyArn: DISABLE_ARN }, byReauth),
      cloudTrail('iam', 'DetachRolePolicy', { roleName: 'v', policyArn: HUB_DISABLE_ARN }, byReauth),
      // DeleteRolePermissionsBoundary names no policy: reauth's grant admits it only on its own boundary.
      cloudTrail('iam', 'DeleteRolePermissionsBoundary', { roleName: 'v' }, byReauth),
      cloudTrail(
        'secretsmanager',
        'PutResourcePolicy',
        { secretId: 'db', resourcePolicy: secretPolicy(VENDOR_READ) },
        byReauth,
      ),
      cloudTrail('secretsmanager', 'DeleteResourcePolicy', { secretId: 'db' }, byReauth),
    ];
    for (const event of restores)
      expect(interpret(event), JSON.stringify(event.detail)).toHaveProperty('ignored');
  });

  it('marks the same calls by anyone else as turning a credential back on, with who made them', () => {
    const mallory = byUser('mallory');
    expect(
      interpret(
        cloudTrail(
          'iam',
          'UpdateAccessKey',
          { userName: 'ci', accessKeyId: 'AKIAEXAMPLE', status: 'Active' },
          mallory,
        ),
      ),
    ).toEqual({
      change: expect.objectContaining({
        target: { kind: 'access-key', accessKeyId: 'AKIAEXAMPLE', userName: 'ci' },
        trigger: 'scope-changed',
        widens: true,
        turnsBackOn: true,
        by: 'arn:aws:iam::123456789012:user/mallory',
      }),
    });
    for (const policyArn of [DISABLE_ARN, HUB_DISABLE_ARN]) {
      expect(interpret(cloudTrail('iam', 'DetachRolePolicy', { roleName: 'v', policyArn }, mallory))).toEqual(
        {
          change: expect.objectContaining({
            target: { kind: 'role', roleName: 'v' },
            trigger: 'scope-changed',
            widens: false,
            turnsBackOn: true,
            by: 'arn:aws:iam::123456789012:user/mallory',
          }),
        },
      );
    }
    expect(
      interpret(
        cloudTrail(
          'secretsmanager',
          'PutResourcePolicy',
          { secretId: 'db', resourcePolicy: secretPolicy(VENDOR_READ) },
          mallory,
        ),
      ),
    ).toMatchObject({ change: { widens: true, turnsBackOn: true } });
    expect(
      interpret(cloudTrail('secretsmanager', 'DeleteResourcePolicy', { secretId: 'db' }, mallory)),
    ).toMatchObject({
      change: { widens: false, turnsBackOn: true },
    });
    // Taking a key out of use, or removing any other policy (a team's own named reauth-disabled
    // included), turns nothing back on.
    expect(
      interpret(
        cloudTrail('iam', 'UpdateAccessKey', { accessKeyId: 'AKIAEXAMPLE', status: 'Inactive' }, mallory),
      ),
    ).toEqual({
      change: expect.not.objectContaining({ turnsBackOn: true }),
    });
    for (const event of [
      cloudTrail('iam', 'DeleteRolePolicy', { roleName: 'v', policyName: 'extra' }, mallory),
      cloudTrail('iam', 'DeleteRolePolicy', { roleName: 'v', policyName: 'reauth-disabled' }, mallory),
      cloudTrail('iam', 'DeleteRolePolicy', { roleName: 'v', policyName: 'reauth-disabled' }, byReauth),
      cloudTrail('iam', 'DetachRolePolicy', { roleName: 'v', policyArn: LOOKALIKE_DISABLE_ARN }, mallory),
    ]) {
      const interpreted = interpret(event);
      expect(interpreted, JSON.stringify(event.detail)).toMatchObject({ change: { widens: false } });
      expect(interpreted, JSON.stringify(event.detail)).not.toHaveProperty('change.turnsBackOn');
    }
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
    at: NOW.toISOString(),
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
      eventIds: { 'ct-1': NOW.toISOString() },
      requestSeq: 1,
    });
    expect(opened?.decision).toMatchObject({
      action: 'flag',
      actor: 'system:events',
      evidence: { eventId: 'ct-1' },
    });
  });

  it("opens a vendor role's request naming whom it trusts, from the policy's vendors", () => {
    const role: Credential = {
      accountId: '123456789012',
      kind: 'role',
      id: 'vendor-monitoring',
      principal: 'vendor-monitoring',
      principalArn: 'arn:aws:iam::123456789012:role/vendor-monitoring',
      createdAt: new Date('2026-01-01'),
      lastUsedAt: new Date('2026-11-22'),
      lastUsedRegion: 'eu-central-1',
      tags: { owner: 'U1' },
      trustedAccounts: ['999988887777'],
      requiresExternalId: false,
    };
    const roleId = '123456789012:role:vendor-monitoring';
    const named = parsePolicyConfig({ vendors: { '999988887777': 'Acme Monitoring' } });

    const opened = planTrustChange(
      roleId,
      role,
      evaluateCredential(role, undefined, named, NOW, roleId),
      undefined,
      { ...change, trigger: 'scope-changed', what: 'UpdateAssumeRolePolicy on role vendor-monitoring' },
      { ...context, policy: named },
    );

    expect(opened?.state.identification).toEqual({
      createdAt: '2026-01-01T00:00:00.000Z',
      lastUsedRegion: 'eu-central-1',
      trustedAccounts: ['999988887777'],
      vendors: { '999988887777': 'Acme Monitoring' },
      requiresExternalId: false,
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
  it('records an event once however its deliveries are ordered: A, then B, then A again', () => {
    const a = stored(plan(undefined));
    const b = plan(a, { ...change, eventId: 'ct-2', what: 'PutUserPolicy on user ci' });
    expect(b?.state.eventIds).toEqual({ 'ct-1': NOW.toISOString(), 'ct-2': NOW.toISOString() });
    expect(plan({ ...stored(b), seq: 2 })).toBeUndefined();
  });

  it("reads an older item's lastEventId as one recorded event, and writes the map instead", () => {
    const old: CredentialState = { ...stored(plan(undefined)), eventIds: undefined, lastEventId: 'ct-1' };
    expect(plan(old)).toBeUndefined();
    const next = plan(old, { ...change, eventId: 'ct-2' });
    expect(next?.state.lastEventId).toBeUndefined();
    expect(next?.state.eventIds).toEqual({ 'ct-1': NOW.toISOString(), 'ct-2': NOW.toISOString() });
  });

  it('forgets event ids older than SQS can redeliver (15 days) when it writes', () => {
    const day = (n: number) => new Date(NOW.getTime() - n * 86_400_000).toISOString();
    const state: CredentialState = {
      ...stored(plan(undefined)),
      eventIds: { old: day(16), recent: day(14) },
    };
    expect(plan(state, { ...change, eventId: 'ct-2' })?.state.eventIds).toEqual({
      recent: day(14),
      'ct-2': NOW.toISOString(),
    });
  });

  describe('drift', () => {
    const disabledAt = new Date(NOW.getTime() - 3_600_000).toISOString();
    const disabled: CredentialState = {
      ...stored(plan(undefined)),
      status: 'disabled',
      disabledAt,
      disableReceipt: { kind: 'access-key', keyId: 'AKIAEXAMPLE' },
      decidedBy: 'system:enforce',
      seq: 5,
    };
    const turnedOn: TrustChange = {
      eventId: 'ct-7',
      trigger: 'scope-changed',
      target: { kind: 'access-key', accessKeyId: 'AKIAEXAMPLE', userName: 'ci' },
      widens: true,
      what: 'UpdateAccessKey made access key AKIAEXAMPLE of user ci Active',
      at: NOW.toISOString(),
      by: 'arn:aws:iam::123456789012:user/mallory',
      turnsBackOn: true,
    };

    it('records drift on a credential recorded as disabled that someone turned back on, and reopens the request', () => {
      const drift = plan(disabled, turnedOn);
      expect(drift?.decision).toMatchObject({
        action: 'drift',
        actor: 'system:events',
        evidence: { by: 'arn:aws:iam::123456789012:user/mallory', seenBy: 'ct-7', disabledAt },
      });
      expect(drift?.state).toMatchObject({
        status: 'pending',
        triggers: expect.arrayContaining(['drift']),
        requestSeq: 6,
        eventIds: { 'ct-1': NOW.toISOString(), 'ct-7': NOW.toISOString() },
      });
      expect(drift?.state.disabledAt).toBeUndefined();
      expect(drift?.state.notifiedAt).toBeUndefined();
    });

    it('records nothing for a change that happened before the disable, or a second delivery', () => {
      expect(
        plan(disabled, { ...turnedOn, at: new Date(NOW.getTime() - 7_200_000).toISOString() }),
      ).toBeUndefined();
      expect(plan({ ...disabled, eventIds: { 'ct-7': NOW.toISOString() } }, turnedOn)).toBeUndefined();
    });

    it('records nothing on a disabled credential for a change that leaves it disabled', () => {
      expect(plan(disabled, { ...turnedOn, turnsBackOn: false })).toBeUndefined();
      expect(plan(disabled, change)).toBeUndefined();
    });

    it('only observes a key turned off, and asks about one turned on that was not recorded as disabled', () => {
      const active = stored(plan(undefined, { ...change, widens: false }));
      expect(
        plan(active, { ...turnedOn, widens: false, turnsBackOn: false, eventId: 'ct-8' })?.decision.action,
      ).toBe('observe');
      expect(plan(active, turnedOn)?.decision).toMatchObject({
        action: 'flag',
        evidence: { by: turnedOn.by },
      });
    });
  });
});

describe('every path by which access grows is read, and judged by what it grants', () => {
  const DENY_ALL = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
  });
  const changeOf = (event: ReturnType<typeof envelope>) => {
    const interpreted = interpret(event);
    if (!('change' in interpreted)) throw new Error(`ignored: ${interpreted.ignored}`);
    return interpreted.change;
  };

  it('an inline deny-only policy on a user, group or role narrows; an allow widens', () => {
    for (const [name, on] of [
      ['PutUserPolicy', { userName: 'ci' }],
      ['PutGroupPolicy', { groupName: 'ops' }],
      ['PutRolePolicy', { roleName: 'vendor' }],
    ] as const) {
      expect(
        changeOf(cloudTrail('iam', name, { ...on, policyName: 'DenyAll', policyDocument: DENY_ALL })),
      ).toMatchObject({ widens: false });
      expect(
        changeOf(cloudTrail('iam', name, { ...on, policyName: 'Admin', policyDocument: ALLOW_ALL })),
      ).toMatchObject({ widens: true, trigger: 'scope-changed' });
    }
  });

  it('a group change reaches every member, in words an owner reads', () => {
    const attached = changeOf(
      cloudTrail('iam', 'AttachGroupPolicy', {
        groupName: 'ops',
        policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );
    expect(attached).toMatchObject({
      target: { kind: 'group', groupName: 'ops' },
      widens: true,
      what: 'AttachGroupPolicy: managed policy AdministratorAccess attached to group ops (every member)',
      grant: { kind: 'managed-policy', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
    });
    expect(changeOf(cloudTrail('iam', 'AddUserToGroup', { userName: 'ci', groupName: 'ops' }))).toMatchObject(
      {
        target: { kind: 'user', userName: 'ci' },
        widens: true,
      },
    );
    for (const [name, params] of [
      ['DetachGroupPolicy', { groupName: 'ops', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }],
      ['DeleteGroupPolicy', { groupName: 'ops', policyName: 'Admin' }],
      ['RemoveUserFromGroup', { userName: 'ci', groupName: 'ops' }],
      ['DetachRolePolicy', { roleName: 'vendor', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }],
    ] as const) {
      expect(changeOf(cloudTrail('iam', name, params)), name).toMatchObject({ widens: false });
    }
  });

  it('a new default version reaches the policy’s principals and is judged against the one before; one not made the default changes nothing', () => {
    const arn = 'arn:aws:iam::123456789012:policy/deploy';
    expect(
      changeOf(
        cloudTrail(
          'iam',
          'CreatePolicyVersion',
          { policyArn: arn, policyDocument: ALLOW_ALL, setAsDefault: true },
          { responseElements: { policyVersion: { versionId: 'v2', isDefaultVersion: true } } },
        ),
      ),
    ).toMatchObject({
      target: { kind: 'policy', policyArn: arn },
      grant: { kind: 'policy-version', policyArn: arn, versionId: 'v2', document: ALLOW_ALL },
    });
    expect(
      interpret(cloudTrail('iam', 'CreatePolicyVersion', { policyArn: arn, policyDocument: ALLOW_ALL })),
    ).toEqual({
      ignored: 'CreatePolicyVersion on deploy did not make it the default: nothing changed yet',
    });
    expect(
      changeOf(cloudTrail('iam', 'SetDefaultPolicyVersion', { policyArn: arn, versionId: 'v1' })),
    ).toMatchObject({
      grant: { kind: 'policy-version', policyArn: arn, versionId: 'v1' },
    });
  });

  it('a boundary deleted widens; one put is judged by its document', () => {
    expect(
      changeOf(cloudTrail('iam', 'DeleteRolePermissionsBoundary', { roleName: 'vendor' })),
    ).toMatchObject({
      target: { kind: 'role', roleName: 'vendor' },
      widens: true,
    });
    expect(
      changeOf(
        cloudTrail('iam', 'PutUserPermissionsBoundary', {
          userName: 'ci',
          permissionsBoundary: 'arn:aws:iam::123456789012:policy/boundary',
        }),
      ),
    ).toMatchObject({ grant: { kind: 'boundary', policyArn: 'arn:aws:iam::123456789012:policy/boundary' } });
  });

  it('judgeChange settles a change from the documents read, and an unreadable one stays a widening that says so', () => {
    const change = changeOf(
      cloudTrail('iam', 'AttachUserPolicy', {
        userName: 'ci',
        policyArn: 'arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2',
      }),
    );
    expect(judgeChange(change, { document: DENY_ALL })).toMatchObject({
      widens: false,
      what: 'AttachUserPolicy: managed policy AWSCompromisedKeyQuarantineV2 attached to user ci: it only denies',
    });
    expect(judgeChange(change, { document: DENY_ALL })).not.toHaveProperty('grant');
    expect(judgeChange(change, { unreadable: 'it no longer exists' })).toMatchObject({
      widens: true,
      what: expect.stringContaining('could not be read (it no longer exists), so it counts as a widening'),
    });
  });

  it('the rules match every call the consumer reads, and no read-only one', () => {
    expect(new Set(IAM_CHANGES_PATTERN.detail?.eventName)).toEqual(new Set(IAM_CHANGE_EVENTS));
    for (const name of IAM_CHANGE_EVENTS) expect(name).toMatch(/^(?!Get|List|Describe|Generate|Simulate)/);
  });
});
