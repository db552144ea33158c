import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  PutRolePermissionsBoundaryCommand,
} from '@aws-sdk/client-iam';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { EnforceReport } from '../../lambdas/shared/use-cases/enforce-account';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { seedAccount } from '../../scripts/local/seed';
import { useEmulator } from '../support/emulator';
import { coldStart, travelTo } from '../support/lambda';

/**
 * A role at IAM's quota of attached policies that has a permissions boundary of its own: reauth could
 * disable it only by replacing the team's boundary, which would need a grant that can widen access. So
 * the deadline disables nothing, and the request is escalated, saying why, with a new deadline.
 */
const { emulator, clients } = useEmulator();
const TABLE = 'refused-under-test';
const ACCOUNT = '123456789012';
const ROLE = 'vendor-crowded';
const DAY = 86_400_000;
const START = new Date();
const store = createDecisionStore(clients.documents, TABLE);
const credentialId = `${ACCOUNT}:role:${ROLE}`;
const READS = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
};

let fake: FakeSlack;
let env: Record<string, string>;
let teamBoundary: string;

beforeAll(async () => {
  await seedAccount(
    emulator,
    clients,
    {
      users: [],
      secrets: [],
      roles: [
        {
          name: ROLE,
          createdDaysAgo: 300,
          trustedAccounts: ['210987654321'],
          usedDaysAgo: 200,
          tags: { 'reauth:owner': 'UBOB' },
        },
      ],
    },
    START,
  );
  for (let n = 0; n < 10; n++) {
    const { Policy } = await clients.iam.send(
      new CreatePolicyCommand({ PolicyName: `crowded-${n}`, PolicyDocument: JSON.stringify(READS) }),
    );
    await clients.iam.send(new AttachRolePolicyCommand({ RoleName: ROLE, PolicyArn: Policy?.Arn }));
    if (n === 0) teamBoundary = Policy?.Arn as string;
  }
  await clients.iam.send(
    new PutRolePermissionsBoundaryCommand({ RoleName: ROLE, PermissionsBoundary: teamBoundary }),
  );
  const local = await startLocalStack(clients, {
    table: TABLE,
    policy: { mode: 'enforce', slack: { delegates: {} }, actionBudget: { maxActions: 10, maxFraction: 1 } },
  });
  fake = local.slack;
  env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  await (await coldStart<() => Promise<unknown>>('../../lambdas/scan/handler', env))();
});

afterEach(async () => {
  vi.useRealTimers();
  await emulator.unfreeze();
});

describe('a disable reauth will not make', () => {
  it('disables nothing at the deadline, holds it back (alarmed) and escalates it, saying why, with a new deadline', async () => {
    expect(await store.getState(credentialId)).toMatchObject({ status: 'pending' });
    await travelTo(emulator, new Date(START.getTime() + 15 * DAY));
    const posted = fake.calls('chat.postMessage').length;

    const report = await (
      await coldStart<() => Promise<EnforceReport>>('../../lambdas/enforce/handler', env)
    )();

    expect(report.disabled).toEqual([]);
    expect(report.heldBack).toEqual([{ reason: 'disable-refused', credentialIds: [credentialId] }]);
    const { AttachedPolicies = [] } = await clients.iam.send(
      new ListAttachedRolePoliciesCommand({ RoleName: ROLE }),
    );
    expect(AttachedPolicies.map((p) => p.PolicyName).sort()).toEqual(
      Array.from({ length: 10 }, (_, n) => `crowded-${n}`).sort(),
    );
    const { Role } = await clients.iam.send(new GetRoleCommand({ RoleName: ROLE }));
    expect(Role?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(teamBoundary);
    const state = await store.getState(credentialId);
    expect(state).toMatchObject({ status: 'pending', escalatedAt: expect.any(String) });
    expect(Date.parse(state?.deadlineAt ?? '')).toBeGreaterThan(START.getTime() + 15 * DAY);
    const last = (await store.history(credentialId)).at(-1);
    expect(last).toMatchObject({
      action: 'escalate',
      reason: expect.stringMatching(/^not disabled: role vendor-crowded holds as many managed policies/),
    });
    const toSecurity = fake
      .calls('chat.postMessage')
      .slice(posted)
      .filter((c) => c.body.channel === '#security');
    expect(JSON.stringify(toSecurity.map((c) => c.body.blocks))).toContain('Not disabled');

    // The next hourly run does not try again: the new deadline is days away.
    const again = await (
      await coldStart<() => Promise<EnforceReport>>('../../lambdas/enforce/handler', env)
    )();
    expect(again.heldBack).toEqual([]);
  });
});
