import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { createSlackClient } from '../../lambdas/shared/adapters/slack-client';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { escalateToFallback, notifyNewRequests } from '../../lambdas/shared/use-cases/notify-owners';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { type FakeSlack, startFakeSlack } from '../../scripts/local/fake-slack';
import { useEmulator } from '../support/emulator';

const { clients } = useEmulator();
const TABLE = 'notify-under-test';
const NOW = new Date('2026-11-23T09:00:00Z');
const policy = parsePolicyConfig({});
const context = { policy, policyId: policyIdOf(policy), now: NOW, job: 'scan' };
const store = createDecisionStore(clients.documents, TABLE);
let fake: FakeSlack;
let serial = 0;

/** A credential flagged (seq 1, its request) and not yet told, owned by `owner`. */
async function flagged(owner: string): Promise<CredentialState> {
  serial++;
  const credentialId = `123456789012:access-key:AKIANOTIFY${String(serial).padStart(10, '0')}`;
  await store.transition(credentialId, () => ({
    state: {
      credentialId,
      accountId: '123456789012',
      kind: 'access-key',
      principal: `svc-${serial}`,
      owner,
      status: 'pending',
      triggers: ['idle'],
      tier: 'standard',
      requestSeq: 1,
      requestedAt: NOW.toISOString(),
      deadlineAt: '2026-12-07T09:00:00.000Z',
      why: 'unused for 120 days (tier standard allows 90)',
      lastUsedAt: '2026-07-26T00:00:00.000Z',
    },
    decision: {
      credentialId,
      accountId: '123456789012',
      kind: 'access-key',
      principal: `svc-${serial}`,
      owner,
      action: 'flag',
      reason: 'unused for 120 days',
      actor: 'system:scan',
      at: NOW.toISOString(),
      mode: 'report',
      policyId: context.policyId,
      evidence: {},
    },
  }));
  return (await store.getState(credentialId)) as CredentialState;
}

const actions = async (state: CredentialState) =>
  (await store.history(state.credentialId)).map((d) => d.action);

beforeAll(async () => {
  fake = await startFakeSlack({ users: { 'dana@example.com': 'UDANA' } });
  await ensureDecisionTable(clients.dynamodb, TABLE);
});

afterAll(() => fake.close());

describe('notifyNewRequests', () => {
  it('resolves an email owner to their Slack user, and escalates one Slack does not know', async () => {
    const slack = createSlackClient({ botToken: 'xoxb-notify', apiBaseUrl: fake.apiBaseUrl });
    const dana = [await flagged('dana@example.com'), await flagged('dana@example.com')];
    const ghost = await flagged('left-in-2024@example.com');

    const report = await notifyNewRequests({ store, slack }, [...dana, ghost], context);

    expect(report).toMatchObject({ messages: 2, recorded: 3, failures: [] });
    const channels = fake.calls('chat.postMessage').map((c) => c.body.channel);
    expect(channels.sort()).toEqual(['#security', 'UDANA']);
    expect(await store.getState(dana[0]?.credentialId ?? '')).toMatchObject({ ownerSlackId: 'UDANA' });
    expect(await actions(dana[1] as CredentialState)).toEqual(['flag', 'notify']);
    expect((await store.history(ghost.credentialId)).at(-1)).toMatchObject({
      action: 'escalate',
      reason: expect.stringMatching(/has no Slack account: escalated/),
    });
  });

  it('records nothing for an owner Slack could not take the message for, so the next run tries again', async () => {
    const slack = createSlackClient({ botToken: 'xoxb-notify', apiBaseUrl: fake.apiBaseUrl });
    const state = await flagged('UERIN');
    fake.failNext('chat.postMessage', 'channel_not_found');

    const failed = await notifyNewRequests({ store, slack }, [state], context);
    expect(failed).toMatchObject({ messages: 0, recorded: 0, failures: [{ owner: 'UERIN' }] });
    expect(failed.failures[0]?.error).not.toContain('xoxb');
    expect(await actions(state)).toEqual(['flag']);

    const retried = await notifyNewRequests({ store, slack }, [state], context);
    expect(retried).toMatchObject({ messages: 1, recorded: 1 });
    expect(await actions(state)).toEqual(['flag', 'notify']);
  });

  it('with only an incoming webhook, posts one message per owner to the webhook channel', async () => {
    const slack = createSlackClient({ webhookUrl: fake.webhookUrl });
    const states = [await flagged('UFRANK'), await flagged('grace@example.com')];

    const report = await notifyNewRequests({ store, slack }, states, context);

    expect(report).toMatchObject({ messages: 2, recorded: 2, failures: [] });
    expect(fake.calls('webhook')).toHaveLength(2);
    const told = await store.getState(states[1]?.credentialId ?? '');
    expect(told?.notifiedAt).toBe(NOW.toISOString());
    expect(told?.message).toBeUndefined();
  });

  it('two runs that read the same untold requests at once send the owner one message and record one notify each', async () => {
    const slack = createSlackClient({ botToken: 'xoxb-notify', apiBaseUrl: fake.apiBaseUrl });
    const states = [await flagged('UHEIDI'), await flagged('UHEIDI'), await flagged('UHEIDI')];
    const posted = () => fake.calls('chat.postMessage').filter((c) => c.body.channel === 'UHEIDI');

    const reports = await Promise.all([
      notifyNewRequests({ store, slack }, states, context),
      notifyNewRequests({ store, slack }, states, context),
    ]);

    expect(posted()).toHaveLength(1);
    expect(reports.reduce((n, r) => n + r.recorded, 0)).toBe(3);
    for (const state of states) expect(await actions(state)).toEqual(['flag', 'notify']);
  });

  it('two runs past the deadline at once escalate each request once, in one message to the fallback owner', async () => {
    const slack = createSlackClient({ botToken: 'xoxb-notify', apiBaseUrl: fake.apiBaseUrl });
    const flaggedStates = [await flagged('UIVAN'), await flagged('UIVAN')];
    await notifyNewRequests({ store, slack }, flaggedStates, context);
    const told = await Promise.all(flaggedStates.map((s) => store.getState(s.credentialId)));
    const late = { ...context, now: new Date('2026-12-08T09:00:00Z'), job: 'enforce' };
    const security = () => fake.calls('chat.postMessage').filter((c) => c.body.channel === '#security');
    const before = security().length;

    await Promise.all([
      escalateToFallback({ store, slack }, told as CredentialState[], 'deadline-passed', 'no answer', late),
      escalateToFallback({ store, slack }, told as CredentialState[], 'deadline-passed', 'no answer', late),
    ]);

    expect(security().length - before).toBe(1);
    for (const state of flaggedStates) expect(await actions(state)).toEqual(['flag', 'notify', 'escalate']);
  });
});
