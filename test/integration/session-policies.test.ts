import {
  AttachUserPolicyCommand,
  CreateUserCommand,
  GetPolicyCommand,
  ListAttachedUserPoliciesCommand,
  ListPoliciesCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import {
  createSessionPolicyWriter,
  SessionPolicyError,
} from '../../lambdas/shared/adapters/session-policies';
import { sessionsPolicyArn } from '../../lambdas/shared/domain/reauth-marks';
import { useEmulator } from '../support/emulator';
import { EMULATOR_ACCOUNT } from '../support/enforcer';

const { clients } = useEmulator();
const writer = createSessionPolicyWriter(clients.iam, { accountId: EMULATOR_ACCOUNT });
const HOUR = 3_600_000;
const NOW = new Date('2026-12-06T10:00:00.000Z');
const at = (hoursBefore: number) => new Date(NOW.getTime() - hoursBefore * HOUR).toISOString();

const sessionPolicies = async () =>
  (
    await clients.iam.send(new ListPoliciesCommand({ Scope: 'Local', PathPrefix: '/reauth/sessions/' }))
  ).Policies?.map((p) => p.Arn) ?? [];

describe('the session policy writer', () => {
  it('makes one policy per moment, the same ARN when asked again, and refuses what is not a moment', async () => {
    const first = await writer.policyFor(at(1));
    const again = await writer.policyFor(at(1));

    expect(first).toBe(sessionsPolicyArn(EMULATOR_ACCOUNT, at(1)));
    expect(again).toBe(first);
    expect((await clients.iam.send(new GetPolicyCommand({ PolicyArn: first }))).Policy?.Path).toBe(
      '/reauth/sessions/',
    );
    await expect(writer.policyFor('yesterday')).rejects.toBeInstanceOf(SessionPolicyError);
  });

  it('sweeps only policies past the longest session: detached from whoever holds them, then deleted', async () => {
    await clients.iam.send(new CreateUserCommand({ UserName: 'swept' }));
    const expired = await writer.policyFor(at(38));
    const live = await writer.policyFor(at(30));
    for (const PolicyArn of [expired, live])
      await clients.iam.send(new AttachUserPolicyCommand({ UserName: 'swept', PolicyArn }));

    const { deleted } = await writer.sweep(NOW);

    expect(deleted).toEqual([expired]);
    expect(await sessionPolicies()).not.toContain(expired);
    expect(await sessionPolicies()).toContain(live);
    const { AttachedPolicies = [] } = await clients.iam.send(
      new ListAttachedUserPoliciesCommand({ UserName: 'swept' }),
    );
    expect(AttachedPolicies.map((p) => p.PolicyArn)).toEqual([live]);
  });
});
