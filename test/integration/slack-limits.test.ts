import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { createSlackClient } from '../../lambdas/shared/adapters/slack-client';
import { createSlackPacer } from '../../lambdas/shared/adapters/slack-pacing';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { notifyNewRequests } from '../../lambdas/shared/use-cases/notify-owners';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { type FakeSlack, startFakeSlack } from '../../scripts/local/fake-slack';
import { flaggedRequest } from '../../scripts/local/flagged-request';
import { virtualClock } from '../../scripts/local/virtual-clock';
import { useEmulator } from '../support/emulator';

const { clients } = useEmulator();
const TABLE = 'slack-limits-under-test';
const DAY = 86_400_000;
const NOW = new Date('2026-11-23T09:00:00Z');
const policy = parsePolicyConfig({});
const store = createDecisionStore(clients.documents, TABLE);
let fake: FakeSlack;
let serial = 0;

const contextAt = (now: Date) => ({ policy, policyId: policyIdOf(policy), now, job: 'scan' });

/** A credential flagged (seq 1, its request) and not yet told, owned by `owner`. */
async function flagged(owner: string, at = NOW): Promise<CredentialState> {
  serial++;
  return flaggedRequest(store, {
    credentialId: `123456789012:access-key:AKIALIMITS${String(serial).padStart(10, '0')}`,
    principal: `svc-${serial}`,
    owner,
    at,
    policyId: policyIdOf(policy),
  });
}

const actions = async (state: CredentialState) =>
  (await store.history(state.credentialId)).map((d) => d.action);

beforeAll(async () => {
  fake = await startFakeSlack({
    users: { 'ana@example.com': 'UANA', 'bo@example.com': 'UBO', 'cy@example.com': 'UCY' },
  });
  await ensureDecisionTable(clients.dynamodb, TABLE);
});
beforeEach(() => {
  fake.requests.length = 0;
});
afterAll(() => fake.close());

describe('a run that meets Slack’s rate limits', () => {
  it('records only what Slack took, stops at its deadline, and the next run tells the rest once', async () => {
    const owners = ['UOWNER1', 'UOWNER2', 'UOWNER3', 'UOWNER4', 'UOWNER5', 'UOWNER6'];
    const states: CredentialState[] = [];
    for (const owner of owners) states.push(await flagged(owner), await flagged(owner));
    // Slack takes two messages, then answers 429 to every post, asking for two minutes.
    let posts = 0;
    const clock = virtualClock();
    const stormy = createSlackClient({
      botToken: 'xoxb-limits',
      apiBaseUrl: fake.apiBaseUrl,
      pacer: createSlackPacer(clock),
      deadline: clock.now() + 60_000,
      fetchImpl: (url, init) => {
        if (String(url).endsWith('/chat.postMessage') && ++posts === 3)
          fake.rateLimit('chat.postMessage', { retryAfterSeconds: 120 });
        return fetch(url, init);
      },
    });

    const first = await notifyNewRequests({ store, slack: stormy }, states, contextAt(NOW));

    expect(first).toMatchObject({ messages: 2, recorded: 4 });
    expect(first.failures.map((f) => f.error)).toEqual([
      'slack chat.postMessage failed: ratelimited',
      'slack chat.postMessage failed: out_of_time',
    ]);
    expect(fake.counts()['chat.postMessage']).toEqual({ calls: 3, ratelimited: 1 });
    const told = (await Promise.all(states.map(actions))).filter((a) => a.includes('notify'));
    expect(told).toHaveLength(4);
    expect(clock.slept).toBe(0);

    fake.clearRateLimit('chat.postMessage');
    const calm = createSlackClient({ botToken: 'xoxb-limits', apiBaseUrl: fake.apiBaseUrl });
    const next = await notifyNewRequests({ store, slack: calm }, states, contextAt(NOW));

    expect(next).toMatchObject({ messages: 4, recorded: 8, failures: [] });
    for (const state of states) expect(await actions(state)).toEqual(['flag', 'notify']);
    // Six owners, six messages taken: the one refused was never shown, and none went twice.
    expect(fake.counts()['chat.postMessage']).toEqual({ calls: 7, ratelimited: 1 });
    const taken = fake.calls('chat.postMessage').map((c) => c.body.channel);
    expect(new Set(taken)).toEqual(new Set(owners));
  });
});

describe('email owners', () => {
  it('are looked up in Slack once, then found in the decision table for days', async () => {
    const slack = createSlackClient({
      botToken: 'xoxb-limits',
      apiBaseUrl: fake.apiBaseUrl,
      pacer: createSlackPacer(virtualClock()),
    });
    const emails = ['ana@example.com', 'bo@example.com', 'cy@example.com', 'gone@example.com'];
    const run = async (at: Date) => {
      const states = await Promise.all(emails.map((email) => flagged(email, at)));
      return notifyNewRequests({ store, slack }, states, contextAt(at));
    };
    const lookups = () => fake.calls('users.lookupByEmail').length;

    expect((await run(NOW)).recorded).toBe(4);
    expect(lookups()).toBe(4);

    // The next day: the three users from the table; the address Slack did not know, asked again.
    expect((await run(new Date(NOW.getTime() + DAY + 1))).recorded).toBe(4);
    expect(lookups()).toBe(5);
    expect(fake.calls('chat.postMessage').map((c) => c.body.channel)).toEqual(
      expect.arrayContaining(['UANA', 'UBO', 'UCY']),
    );

    // Ten days on, every answer has expired: each is asked again.
    await run(new Date(NOW.getTime() + 10 * DAY));
    expect(lookups()).toBe(9);

    // What the table keeps: the user id and when the table's TTL may drop it, never a decision.
    const { Item } = await clients.documents.send(
      new GetCommand({ TableName: TABLE, Key: { pk: 'SLACKUSER#ana@example.com', sk: 'SLACKUSER' } }),
    );
    expect(Item).toMatchObject({ userId: 'UANA', expiresAt: expect.any(Number) });
    expect(Item?.expiresAt * 1000).toBeGreaterThan(NOW.getTime() + 15 * DAY);
  });
});
