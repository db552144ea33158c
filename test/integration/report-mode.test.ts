import {
  CreateLoginProfileCommand,
  CreateUserCommand,
  GetLoginProfileCommand,
  GetRoleCommand,
  ListAccessKeysCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import {
  GetResourcePolicyCommand,
  ListSecretsCommand,
  PutResourcePolicyCommand,
} from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { EnforceReport } from '../../lambdas/shared/use-cases/enforce-account';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { type Seeded, seedAccount, VENDOR_ACCOUNT } from '../../scripts/local/seed';
import { buttonClickBody, drainQueue, slackEvent } from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart, travelTo, undoTravelAfter } from '../support/lambda';

const { emulator, clients } = useEmulator();
const TABLE = 'report-mode-under-test';
const ACCOUNT = '123456789012';
const START = new Date();
const store = createDecisionStore(clients.documents, TABLE);
const USERS = ['report-batch', 'report-etl'];
const ROLE = 'vendor-unused';
/** A user who signs in to the console only, long ago. */
const CONSOLE_USER = 'report-console';

let fake: FakeSlack;
let signingSecret: string;
let seeded: Seeded;
let env: Record<string, string>;

/**
 * Everything reauth could change: each key's status and its user's inline policies (where a session
 * revocation would go), each secret's resource policy, each role's policies.
 */
async function iamAndSecretsState(): Promise<unknown> {
  const keys = await Promise.all(
    USERS.map(
      async (user) =>
        (await clients.iam.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata,
    ),
  );
  const userPolicies = await Promise.all(
    USERS.map(
      async (user) => (await clients.iam.send(new ListUserPoliciesCommand({ UserName: user }))).PolicyNames,
    ),
  );
  const { SecretList = [] } = await clients.secretsManager.send(new ListSecretsCommand({}));
  const policies = await Promise.all(
    SecretList.map(
      async (s) =>
        (await clients.secretsManager.send(new GetResourcePolicyCommand({ SecretId: s.ARN })))
          .ResourcePolicy ?? null,
    ),
  );
  const role = (await clients.iam.send(new GetRoleCommand({ RoleName: ROLE }))).Role
    ?.AssumeRolePolicyDocument;
  const inline = (await clients.iam.send(new ListRolePoliciesCommand({ RoleName: ROLE }))).PolicyNames;
  const loginProfile = (await clients.iam.send(new GetLoginProfileCommand({ UserName: CONSOLE_USER })))
    .LoginProfile;
  return { keys, userPolicies, policies, role, inline, loginProfile };
}

beforeAll(async () => {
  // Report mode (the default), with a budget that would allow every action if it were enforce, and
  // sessions to be revoked at every moment the policy can name.
  const local = await startLocalStack(clients, {
    table: TABLE,
    policy: {
      actionBudget: { maxActions: 100, maxFraction: 1 },
      enforcement: { revokeSessionsOn: ['disable', 'rotate'] },
    },
  });
  fake = local.slack;
  signingSecret = local.signingSecret;
  env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: USERS.map((name) => ({
        name,
        tags: { 'reauth:owner': 'UALICE' },
        keys: [{ createdDaysAgo: 300, usedDaysAgo: 200 }],
      })),
      secrets: [{ name: 'prod/unread', createdDaysAgo: 200, tags: { 'reauth:owner': 'UALICE' } }],
      roles: [
        {
          name: ROLE,
          createdDaysAgo: 200,
          trustedAccounts: [VENDOR_ACCOUNT],
          tags: { 'reauth:owner': 'UALICE' },
        },
      ],
    },
    START,
  );
  await emulator.freeze(new Date(START.getTime() - 300 * 86_400_000));
  await clients.iam.send(
    new CreateUserCommand({ UserName: CONSOLE_USER, Tags: [{ Key: 'reauth:owner', Value: 'UALICE' }] }),
  );
  await clients.iam.send(
    new CreateLoginProfileCommand({ UserName: CONSOLE_USER, Password: 'Seeded-Passw0rd!' }),
  );
  await emulator.freeze(new Date(START.getTime() - 100 * 86_400_000));
  await emulator.signInToConsole(ACCOUNT, CONSOLE_USER);
  await emulator.unfreeze();
  await clients.secretsManager.send(
    new PutResourcePolicyCommand({
      SecretId: 'prod/unread',
      ResourcePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
            Action: 'secretsmanager:GetSecretValue',
            Resource: '*',
          },
        ],
      }),
    }),
  );
});

undoTravelAfter(emulator, () => fake.close());

describe('report mode', () => {
  it('changes nothing in IAM or Secrets Manager, whatever the findings, clicks and deadlines', async () => {
    const before = await iamAndSecretsState();

    await (await coldStart<() => Promise<unknown>>('../../lambdas/scan/handler', env))();
    const keyId = seeded.keyIds.get('report-batch')?.[0];
    const credentialId = `${ACCOUNT}:access-key:${keyId}`;
    // The owner is offered what reauth does here, and told what the deadline does: no Rotate, no Disable now.
    const asked = JSON.stringify(fake.calls('chat.postMessage')[0]?.body.blocks);
    expect(asked).toContain('reauth:still-needed');
    expect(asked).not.toMatch(/reauth:rotate|reauth:disable|disabled at their deadline/);
    expect(asked).toContain('escalated to security at their deadline');
    expect(asked).toContain('*Console password* of user `report-console`');
    const endpoint = await coldStart<(e: unknown) => Promise<{ statusCode: number }>>(
      '../../lambdas/slack/handler',
      env,
    );
    const click = buttonClickBody({
      userId: 'UALICE',
      actionId: 'reauth:disable',
      value: `${credentialId}|1`,
      responseUrl: fake.responseUrl('disable'),
    });
    expect(
      (await endpoint(slackEvent(click, { signingSecret: signingSecret, at: new Date() }))).statusCode,
    ).toBe(200);
    const worker = await coldStart<Parameters<typeof drainQueue>[2]>(
      '../../lambdas/slack-worker/handler',
      env,
    );
    expect(await drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker)).toBe(0);

    await travelTo(emulator, new Date(START.getTime() + 30 * 86_400_000));
    const run = await (await coldStart<() => Promise<EnforceReport>>('../../lambdas/enforce/handler', env))();

    expect(await iamAndSecretsState()).toEqual(before);
    expect(fake.calls('response:disable')[0]?.body.text).toMatch(/report mode: it changes nothing/);
    expect(run).toMatchObject({ disabled: [], deactivated: [], escalated: 5 });
    expect((await store.history(`${ACCOUNT}:password:${CONSOLE_USER}`)).map((d) => d.action)).toEqual([
      'flag',
      'notify',
      'escalate',
    ]);
    expect((await store.history(credentialId)).map((d) => d.action)).toEqual(['flag', 'notify', 'escalate']);
    const toSecurity = fake.calls('chat.postMessage').filter((c) => c.body.channel === '#security');
    expect(JSON.stringify(toSecurity.at(-1)?.body)).toMatch(/did not answer in time/);
  });
});
