import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { sessionsRoleName } from '../../lambdas/shared/domain/organization';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';

/**
 * The service control policy the README recommends (docs/scp-protect-reauth-roles.json), checked by a
 * real IAM evaluator: an administrator of a member account cannot rewrite reauth's member roles, while
 * the StackSet that deploys them still can, and everything else is left to the account.
 */

const SCP = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../docs/scp-protect-reauth-roles.json'), 'utf8'),
);
const MEMBER = '222233334444';
const ADMIN = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

async function allowed(principal: string, action: string, role: string, resource?: string): Promise<boolean> {
  const response = await runSimulation(
    {
      identityPolicies: [{ name: 'AdministratorAccess', policy: ADMIN }],
      serviceControlPolicies: [
        {
          orgIdentifier: 'ou-reauth-members',
          policies: [
            { name: 'FullAWSAccess', policy: ADMIN },
            { name: 'ProtectReauthMemberRoles', policy: SCP },
          ],
        },
      ],
      resourceControlPolicies: [],
      request: {
        action,
        principal,
        resource: { accountId: MEMBER, resource: resource ?? `arn:aws:iam::${MEMBER}:role/${role}` },
        // IAM sets it from the caller; the evaluator is told.
        contextVariables: { 'aws:PrincipalArn': principal },
      },
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
  return response.overallResult === 'Allowed';
}

describe('the recommended SCP keeps reauth’s member roles as the StackSet made them', () => {
  const { readerRoleName, enforcerRoleName } = parsePolicyConfig({
    organization: { include: {} },
  }).organization as { readerRoleName: string; enforcerRoleName: string };
  const admin = `arn:aws:iam::${MEMBER}:role/OrganizationAccountAccessRole`;
  const stackSets = `arn:aws:iam::${MEMBER}:role/stacksets-exec-0123456789abcdef0123456789abcdef`;
  const calls = SCP.Statement[0].Action as string[];

  const writerRoleName = sessionsRoleName(enforcerRoleName);

  it('names the default member roles', () => {
    expect(SCP.Statement[0].Resource).toEqual([
      `arn:aws:iam::*:role/${readerRoleName}`,
      `arn:aws:iam::*:role/${enforcerRoleName}`,
      `arn:aws:iam::*:role/${writerRoleName}`,
    ]);
  });

  it("denies a member account's administrator every call that would change them", async () => {
    for (const role of [readerRoleName, enforcerRoleName, writerRoleName])
      for (const call of calls) expect(await allowed(admin, call, role), `${call} on ${role}`).toBe(false);
  });

  it('lets the StackSet’s execution role deploy them, and leaves other roles to the account', async () => {
    for (const call of calls) expect(await allowed(stackSets, call, enforcerRoleName), call).toBe(true);
    expect(await allowed(admin, 'iam:PutRolePolicy', 'team-deployer')).toBe(true);
  });

  it("keeps reauth's denies under /reauth/ as reauth made them: only the StackSet and the session writer change them", async () => {
    const policies = [
      `arn:aws:iam::${MEMBER}:policy/reauth/reauth-disabled`,
      `arn:aws:iam::${MEMBER}:policy/reauth/sessions/reauth-sessions-before-20261206T072423.000Z`,
    ];
    const writer = `arn:aws:iam::${MEMBER}:role/${writerRoleName}`;
    for (const policy of policies)
      for (const call of SCP.Statement[1].Action as string[]) {
        expect(await allowed(admin, call, '', policy), `${call} on ${policy}`).toBe(false);
        expect(await allowed(stackSets, call, '', policy), `${call} on ${policy}`).toBe(true);
      }
    expect(await allowed(writer, 'iam:CreatePolicy', '', policies[1])).toBe(true);
    expect(
      await allowed(admin, 'iam:CreatePolicyVersion', '', `arn:aws:iam::${MEMBER}:policy/team-admin`),
    ).toBe(true);
  });
});
