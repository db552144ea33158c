import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { EnforceReport } from '../../lambdas/shared/use-cases/enforce-account';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { type Seeded, seedAccount } from '../../scripts/local/seed';
import { buttonClickBody, drainQueue, slackEvent } from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart, travelTo, undoTravelAfter } from '../support/lambda';

const { emulator, clients } = useEmulator();
const TABLE = 'rails-under-test';
const ACCOUNT = '123456789012';
const DAY = 86_400_000;
const START = new Date();
const store = createDecisionStore(clients.documents, TABLE);
const IDLE_USERS = ['batch-1', 'batch-2', 'batch-3', 'batch-4'];

let fake: FakeSlack;
let seeded: Seeded;
let env: Record<string, string>;
let signingSecret: string;
let writePolicy: (policy: object) => string;

const keyId = (user: string) => seeded.keyIds.get(user)?.[0] as string;
const keyCredential = (user: string) => `${ACCOUNT}:access-key:${keyId(user)}`;
const secretCredential = () => `${ACCOUNT}:secret:${seeded.secretArns.get('prod/old-db')}`;

async function keyStatus(user: string): Promise<string | undefined> {
  const { AccessKeyMetadata } = await clients.iam.send(new ListAccessKeysCommand({ UserName: user }));
  return AccessKeyMetadata?.[0]?.Status;
}

/** The enforce job, cold-started with `policy` as its policy file. */
async function enforceWith(policy: object): Promise<() => Promise<EnforceReport>> {
  return coldStart('../../lambdas/enforce/handler', { ...env, POLICY_FILE: writePolicy(policy) });
}

const ENFORCE = { mode: 'enforce', slack: { delegates: {} } };

beforeAll(async () => {
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        ...IDLE_USERS.map((name) => ({
          name,
          // Marked by the platform team: reauth may rotate their keys.
          tags: { 'reauth:owner': 'UALICE', 'reauth:rotatable': 'true' },
          keys: [{ createdDaysAgo: 300, usedDaysAgo: 200 }],
        })),
        // Protected by the default policy (break-glass-*): idle, and never touched.
        { name: 'break-glass-admin', keys: [{ createdDaysAgo: 400, usedDaysAgo: 300 }] },
      ],
      secrets: [{ name: 'prod/old-db', createdDaysAgo: 200, tags: { 'reauth:owner': 'UALICE' } }],
      roles: [],
    },
    START,
  );
  const local = await startLocalStack(clients, { table: TABLE, policy: ENFORCE });
  fake = local.slack;
  signingSecret = local.signingSecret;
  writePolicy = local.writePolicy;
  env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  const scan = await coldStart<() => Promise<unknown>>('../../lambdas/scan/handler', env);
  await scan();
});

undoTravelAfter(emulator, () => fake.close());

describe('the safety rails of enforce mode', () => {
  it('acts on no inventory older than the freshness limit', async () => {
    // Reuse the credential report the scan generated at the start (15 days ago) instead of a fresh one.
    await travelTo(emulator, new Date(START.getTime() + 15 * DAY));
    const enforce = await enforceWith({
      ...ENFORCE,
      actionBudget: { maxActions: 10, maxFraction: 1 },
      credentialReportMaxAgeMinutes: 30 * 24 * 60,
      enforcement: { freshnessMaxAgeHours: 4 },
    });

    const run = await enforce();

    expect(run.heldBack.map((h) => h.reason)).toEqual(['stale-inventory']);
    expect(run.disabled).toEqual([]);
    for (const user of IDLE_USERS) expect(await keyStatus(user)).toBe('Active');
  });

  it('holds back every action when more are due than the budget allows, and tells security', async () => {
    await travelTo(emulator, new Date(START.getTime() + 15 * DAY));
    const enforce = await enforceWith({ ...ENFORCE, actionBudget: { maxActions: 2, maxFraction: 1 } });

    const run = await enforce();

    expect(run.budget).toEqual({ limit: 2, planned: 5, exceeded: true });
    expect(run.disabled).toEqual([]);
    expect(run.heldBack).toEqual([{ reason: 'budget-exceeded', credentialIds: expect.any(Array) }]);
    for (const user of IDLE_USERS) expect(await keyStatus(user)).toBe('Active');
    const toSecurity = fake.calls('chat.postMessage').filter((c) => c.body.channel === '#security');
    expect(JSON.stringify(toSecurity.at(-1)?.body)).toMatch(/over this run's budget of 2/);
    expect((await store.history(keyCredential('batch-1'))).map((d) => d.action)).not.toContain('disable');
  });

  it('shows with `reauth enforce --dry-run` what would be disabled, changing and recording nothing', async () => {
    await travelTo(emulator, new Date(START.getTime() + 15 * DAY));
    const file = writePolicy({ actionBudget: { maxActions: 10, maxFraction: 1 } });
    const before = await store.history(keyCredential('batch-1'));
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await main(['enforce', '--dry-run', '--json', '--config', file, '--table', TABLE])).toBe(0);
      const plan = JSON.parse(String(out.mock.calls.at(-1)?.[0]));
      expect(plan).toMatchObject({
        policyMode: 'report',
        budget: { planned: 5, exceeded: false },
        heldBack: [],
      });
      expect(plan.actions.map((a: { credentialId: string }) => a.credentialId).sort()).toEqual(
        [...IDLE_USERS.map(keyCredential), secretCredential()].sort(),
      );
    } finally {
      out.mockRestore();
    }
    for (const user of IDLE_USERS) expect(await keyStatus(user)).toBe('Active');
    expect(await store.history(keyCredential('batch-1'))).toEqual(before);
  });

  it('re-checks each key before disabling it: one used since the report was generated is spared, and why', async () => {
    // The previous run generated a credential report at day 15; the key is used an hour later, which
    // only the key's own API (GetAccessKeyLastUsed) shows until IAM generates the next report.
    await travelTo(emulator, new Date(START.getTime() + 15 * DAY + 3_600_000));
    await seeded.useKey('batch-2');
    // The secret is read: the run's own scan sees it (ListSecrets is live) and closes its request.
    await clients.secretsManager.send(new GetSecretValueCommand({ SecretId: 'prod/old-db' }));
    await travelTo(emulator, new Date(START.getTime() + 15 * DAY + 2 * 3_600_000));
    const enforce = await enforceWith({
      ...ENFORCE,
      actionBudget: { maxActions: 10, maxFraction: 1 },
      credentialReportMaxAgeMinutes: 180,
    });

    const run = await enforce();

    expect(run.heldBack).toEqual([]);
    expect(run.cancelled).toEqual([keyCredential('batch-2')]);
    expect(new Set(run.disabled)).toEqual(new Set(['batch-1', 'batch-3', 'batch-4'].map(keyCredential)));
    for (const user of ['batch-1', 'batch-3', 'batch-4']) expect(await keyStatus(user)).toBe('Inactive');
    expect(await keyStatus('batch-2')).toBe('Active');
    expect((await store.history(keyCredential('batch-2'))).at(-1)).toMatchObject({
      action: 'reauthorize',
      actor: 'system:enforce',
      reason: expect.stringMatching(/^disable cancelled: used on .* after the request opened/),
    });
    expect(await keyStatus('break-glass-admin')).toBe('Active');
    expect(await store.getState(keyCredential('break-glass-admin'))).toMatchObject({ status: 'protected' });
    expect((await store.history(secretCredential())).at(-1)).toMatchObject({
      action: 'reauthorize',
      reason: expect.stringMatching(/^resolved without an answer: idle no longer applies/),
    });
  });
});

describe('Rotate, from Slack', () => {
  let endpoint: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  let worker: (event: SQSEvent) => Promise<SQSBatchResponse>;

  it('rotates a key: a new one stored in Secrets Manager, the old one deactivated after the grace period', async () => {
    await travelTo(emulator, new Date(START.getTime() + 16 * DAY));
    endpoint = await coldStart('../../lambdas/slack/handler', env);
    worker = await coldStart('../../lambdas/slack-worker/handler', env);
    // Restored by its owner first, so it is pending again and can be rotated.
    const disabled = await store.getState(keyCredential('batch-1'));
    const restore = buttonClickBody({
      userId: 'UALICE',
      actionId: 'reauth:restore',
      value: `${keyCredential('batch-1')}|${disabled?.requestSeq}`,
      responseUrl: fake.responseUrl('restore'),
    });
    await endpoint(slackEvent(restore, { signingSecret: signingSecret, at: new Date() }));
    await drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker);
    const pending = await store.getState(keyCredential('batch-1'));
    expect(pending?.status).toBe('pending');

    const rotate = buttonClickBody({
      userId: 'UALICE',
      actionId: 'reauth:rotate',
      value: `${keyCredential('batch-1')}|${pending?.requestSeq}`,
      responseUrl: fake.responseUrl('rotate'),
    });
    await endpoint(slackEvent(rotate, { signingSecret: signingSecret, at: new Date() }));
    await drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker);

    const { AccessKeyMetadata = [] } = await clients.iam.send(
      new ListAccessKeysCommand({ UserName: 'batch-1' }),
    );
    expect(AccessKeyMetadata.map((k) => k.Status)).toEqual(['Active', 'Active']);
    const rotated = await store.getState(keyCredential('batch-1'));
    expect(rotated).toMatchObject({
      status: 'active',
      rotation: { storedIn: expect.stringContaining('reauth/rotated/batch-1/') },
    });
    expect(JSON.stringify(fake.calls('response:rotate'))).not.toMatch(/secretAccessKey/i);

    await travelTo(emulator, new Date(START.getTime() + 31 * DAY));
    const run = await (await enforceWith({ ...ENFORCE, actionBudget: { maxActions: 10, maxFraction: 1 } }))();

    expect(run.deactivated).toEqual([keyCredential('batch-1')]);
    const after = await clients.iam.send(new ListAccessKeysCommand({ UserName: 'batch-1' }));
    const byId = new Map(after.AccessKeyMetadata?.map((k) => [k.AccessKeyId, k.Status]));
    expect(byId.get(keyId('batch-1'))).toBe('Inactive');
    expect(byId.get(rotated?.rotation?.newKeyId)).toBe('Active');
  });
});
