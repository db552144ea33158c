import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createSlackClient,
  SlackApiError,
  type SlackClient,
} from '../../lambdas/shared/adapters/slack-client';
import { createSlackPacer } from '../../lambdas/shared/adapters/slack-pacing';
import { ownerRequestMessage, type RequestItem } from '../../lambdas/shared/slack/messages';
import { type FakeSlack, startFakeSlack } from '../../scripts/local/fake-slack';
import { type VirtualClock, virtualClock } from '../../scripts/local/virtual-clock';

const TOKEN = 'xoxb-test-0000-secret-token';
const ITEM: RequestItem = {
  credentialId: '123456789012:access-key:AKIAIOSFODNN7EXAMPLE',
  kind: 'access-key',
  principal: 'svc-etl',
  accountId: '123456789012',
  lastUsedAt: null,
  why: 'idle for 120 days',
  deadlineAt: '2026-12-07T09:00:00Z',
  requestSeq: 1,
  mode: 'enforce',
};
const MESSAGE = ownerRequestMessage({ owner: 'U042OWNER', items: [ITEM] });

let slack: FakeSlack;
let client: SlackClient;
/** The client's clock: its waits (pacing, backoff, Retry-After) pass at once and are recorded. */
let clock: VirtualClock;

beforeAll(async () => {
  slack = await startFakeSlack({ users: { 'dana@example.com': 'U042OWNER' } });
});
afterAll(() => slack.close());
beforeEach(() => {
  slack.requests.length = 0;
  clock = virtualClock();
  client = createSlackClient({
    botToken: TOKEN,
    apiBaseUrl: slack.apiBaseUrl,
    pacer: createSlackPacer(clock),
  });
});

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<SlackApiError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(SlackApiError);
  return error as SlackApiError;
}

describe('Slack client against the fake Slack', () => {
  it('posts a request to a user as a DM and can update it in place', async () => {
    const posted = await client.postMessage('U042OWNER', MESSAGE);

    expect(posted.channel).toBe('D042OWNER');
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    const [call] = slack.calls('chat.postMessage');
    expect(call?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(call?.body).toMatchObject({ channel: 'U042OWNER', text: MESSAGE.text, blocks: MESSAGE.blocks });

    await client.updateMessage(posted.channel, posted.ts, { text: 'decided', blocks: [] });

    expect(slack.calls('chat.update')[0]?.body).toMatchObject({
      channel: 'D042OWNER',
      ts: posted.ts,
      text: 'decided',
    });
  });

  it('gives each message its own ts', async () => {
    const first = await client.postMessage('C0SECURITY', MESSAGE);
    const second = await client.postMessage('C0SECURITY', MESSAGE);

    expect(first.channel).toBe('C0SECURITY');
    expect(second.ts > first.ts).toBe(true);
  });

  it('finds a user by email, and returns undefined for an unknown one', async () => {
    expect(await client.lookupUserByEmail('dana@example.com')).toBe('U042OWNER');
    expect(await client.lookupUserByEmail('nobody@example.com')).toBeUndefined();
  });

  it('opens a view with the trigger id, and Slack refuses one that breaks its limits', async () => {
    const view = {
      type: 'modal',
      callback_id: 'x',
      title: { type: 'plain_text', text: 'Still needed' },
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Keep it?' } }],
    };
    await client.openView('trigger-123', view);

    expect(slack.calls('views.open')[0]?.body).toMatchObject({
      trigger_id: 'trigger-123',
      view: { type: 'modal' },
    });
    const tooLong = { ...view, title: { type: 'plain_text', text: 'A title longer than 24 characters' } };
    await expect(client.openView('trigger-124', tooLong)).rejects.toMatchObject({
      code: 'invalid_arguments',
    });
  });

  it("turns ok:false into a SlackApiError carrying Slack's code and never the token", async () => {
    slack.failNext('chat.postMessage', 'channel_not_found');

    const error = await rejection(client.postMessage('C0GONE', MESSAGE));

    expect(error.code).toBe('channel_not_found');
    expect(error.message).toContain('chat.postMessage');
    expect(error.message).not.toContain(TOKEN);
    expect(JSON.stringify(error)).not.toContain(TOKEN);
  });

  it('refuses an update of a message that does not exist', async () => {
    const error = await rejection(client.updateMessage('D042OWNER', '1.000001', MESSAGE));

    expect(error.code).toBe('message_not_found');
  });

  it('refuses an API call without a bearer token, as Slack does', async () => {
    const response = await fetch(`${slack.apiBaseUrl}/chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'C1', text: 'hi' }),
    });

    expect(await response.json()).toEqual({ ok: false, error: 'invalid_auth' });
  });

  it('reports a timed-out call as timeout', async () => {
    const hanging = createSlackClient({
      botToken: TOKEN,
      pacer: createSlackPacer(clock),
      fetchImpl: async () => {
        throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      },
    });

    const error = await rejection(hanging.openView('trigger-1', { type: 'modal' }));

    expect(error.code).toBe('timeout');
  });

  it('does not call Slack without a bot token', async () => {
    const unauthenticated = createSlackClient({
      botToken: '',
      webhookUrl: undefined,
      apiBaseUrl: slack.apiBaseUrl,
    });

    const error = await rejection(unauthenticated.lookupUserByEmail('dana@example.com'));

    expect(error.code).toBe('not_configured');
    expect(slack.calls('users.lookupByEmail')).toHaveLength(0);
  });

  it('answers through a response_url', async () => {
    await client.respond(slack.responseUrl('click-1'), { replace_original: true, ...MESSAGE });
    await client.respond(slack.responseUrl('click-2'), {
      response_type: 'ephemeral',
      text: 'Already decided.',
    });

    expect(slack.calls('response:click-1')[0]?.body).toEqual({ replace_original: true, ...MESSAGE });
    expect(slack.calls('response:click-2')[0]?.body).toEqual({
      response_type: 'ephemeral',
      text: 'Already decided.',
    });
    expect(slack.calls('response:click-1')[0]?.authorization).toBeUndefined();
  });

  it('reports a failed response_url without its URL', async () => {
    const url = slack.responseUrl('expired');
    slack.failNext('response:expired', 'expired_url');

    const error = await rejection(client.respond(url, { text: 'late' }));

    expect(error.code).toBe('expired_url');
    expect(error.message).not.toContain(url);
    expect(error.message).not.toContain('127.0.0.1');
  });
});

describe('Slack client when Slack refuses or fails', () => {
  it('waits out a 429 for its Retry-After and retries', async () => {
    slack.rateLimit('chat.postMessage', { retryAfterSeconds: 7, calls: 1 });

    const posted = await client.postMessage('U042OWNER', MESSAGE);

    expect(posted.channel).toBe('D042OWNER');
    expect(slack.counts()['chat.postMessage']).toEqual({ calls: 2, ratelimited: 1 });
    expect(clock.sleeps).toContain(7000);
  });

  it('holds every call of a rate-limited method until the Retry-After has passed', async () => {
    slack.rateLimit('users.lookupByEmail', { retryAfterSeconds: 30, calls: 1 });
    const started = clock.now();

    await client.lookupUserByEmail('dana@example.com');
    const retriedAt = clock.now();
    await client.lookupUserByEmail('dana@example.com');

    expect(retriedAt - started).toBeGreaterThanOrEqual(30_000);
    expect(slack.counts()['users.lookupByEmail']).toEqual({ calls: 3, ratelimited: 1 });
  });

  it('gives up on a method still rate-limited after three retries', async () => {
    slack.rateLimit('chat.update', { retryAfterSeconds: 1, calls: 4 });

    const error = await rejection(client.updateMessage('D042OWNER', '1.000001', MESSAGE));

    expect(error.code).toBe('ratelimited');
    expect(slack.calls('chat.update')).toHaveLength(4);
  });

  it('retries a 5xx with a growing backoff, and reports the last status when every try fails', async () => {
    // A modal Slack would take (the fake refuses one that breaks Block Kit's limits).
    const modal = {
      type: 'modal',
      title: { type: 'plain_text', text: 'Still needed' },
      blocks: [{ type: 'divider' }],
    };
    slack.failNext('views.open', 'http_503');
    await client.openView('trigger-1', modal);
    expect(slack.calls('views.open')).toHaveLength(2);

    for (let i = 0; i < 4; i++) slack.failNext('views.open', 'http_500');
    const error = await rejection(client.openView('trigger-2', modal));

    expect(error.code).toBe('http_500');
    expect(slack.calls('views.open')).toHaveLength(6);
    const backoffs = clock.sleeps.slice(-3);
    expect(backoffs[0]).toBeGreaterThanOrEqual(250);
    expect(backoffs[2]).toBeGreaterThan(backoffs[0] ?? 0);
  });

  it('retries a refused connection, and reports network_error when Slack stays unreachable', async () => {
    let refused = 1;
    const flaky = createSlackClient({
      botToken: TOKEN,
      apiBaseUrl: slack.apiBaseUrl,
      pacer: createSlackPacer(clock),
      fetchImpl: async (url, init) => {
        if (refused-- > 0) throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
        return fetch(url, init);
      },
    });
    expect(await flaky.lookupUserByEmail('dana@example.com')).toBe('U042OWNER');

    const unreachable = createSlackClient({
      botToken: TOKEN,
      apiBaseUrl: 'http://127.0.0.1:9/api',
      pacer: createSlackPacer(clock),
    });
    const error = await rejection(unreachable.postMessage('U1', MESSAGE));

    expect(error.code).toBe('network_error');
  });

  it('does not post a message again after a timeout, when Slack may already have posted it', async () => {
    let tries = 0;
    const slow = createSlackClient({
      botToken: TOKEN,
      pacer: createSlackPacer(clock),
      fetchImpl: async () => {
        tries++;
        throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      },
    });

    expect((await rejection(slow.postMessage('U1', MESSAGE))).code).toBe('timeout');
    expect(tries).toBe(1);
    expect((await rejection(slow.updateMessage('D1', '1.1', MESSAGE))).code).toBe('timeout');
    expect(tries).toBe(5);
  });

  it('stops at its deadline: no wait past it, and no call it cannot wait for', async () => {
    const bounded = createSlackClient({
      botToken: TOKEN,
      apiBaseUrl: slack.apiBaseUrl,
      pacer: createSlackPacer(clock),
      deadline: clock.now() + 10_000,
    });
    slack.rateLimit('chat.postMessage', { retryAfterSeconds: 60, calls: 1 });

    expect((await rejection(bounded.postMessage('U042OWNER', MESSAGE))).code).toBe('ratelimited');
    expect((await rejection(bounded.postMessage('U042OWNER', MESSAGE))).code).toBe('out_of_time');

    expect(slack.calls('chat.postMessage')).toHaveLength(1);
    expect(clock.slept).toBe(0);
  });
});

describe("Slack client pacing itself to Slack's published limits", () => {
  let limited: FakeSlack;
  let paced: VirtualClock;

  beforeAll(async () => {
    paced = virtualClock();
    limited = await startFakeSlack({
      users: Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`owner${i}@example.com`, `U${i}`])),
      enforceLimitsAt: () => paced.now(),
    });
  });
  afterAll(() => limited.close());

  it('looks up 120 emails at Tier 3 without one 429, in the time the tier takes', async () => {
    const tier3 = createSlackClient({
      botToken: TOKEN,
      apiBaseUrl: limited.apiBaseUrl,
      pacer: createSlackPacer(paced),
    });
    const started = paced.now();

    for (let i = 0; i < 120; i++)
      expect(await tier3.lookupUserByEmail(`owner${i}@example.com`)).toBe(`U${i}`);

    expect(limited.counts()['users.lookupByEmail']).toEqual({ calls: 120, ratelimited: 0 });
    // 50 a minute: the 120th call cannot come before 70 calls' worth of minutes, 84 s.
    expect(paced.now() - started).toBeGreaterThanOrEqual(84_000);
    expect(paced.now() - started).toBeLessThan(180_000);
  });

  it('posts one message a second to a channel, and to different channels without waiting', async () => {
    const poster = createSlackClient({
      botToken: TOKEN,
      apiBaseUrl: limited.apiBaseUrl,
      pacer: createSlackPacer(paced),
    });
    const started = paced.now();
    for (let i = 0; i < 5; i++) await poster.postMessage(`U${i}`, MESSAGE);
    const spread = paced.now() - started;
    for (let i = 0; i < 5; i++) await poster.postMessage('C0SECURITY', MESSAGE);

    expect(spread).toBe(0);
    expect(paced.now() - started).toBeGreaterThanOrEqual(4000);
    expect(limited.counts()['chat.postMessage']).toEqual({ calls: 10, ratelimited: 0 });
  });

  it('refuses, as Slack would, a burst past the tier from a caller that does not pace itself', async () => {
    paced.advance(3_600_000);
    const call = (i: number) =>
      fetch(`${limited.apiBaseUrl}/users.lookupByEmail`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: `email=owner${i}%40example.com`,
      });

    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => call(i)));

    expect(answers.filter((a) => a.status === 200)).toHaveLength(50);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(10);
    expect(Number(refused[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('Slack client with only a webhook', () => {
  it('posts to the webhook and returns an empty ts', async () => {
    const webhookOnly = createSlackClient({ webhookUrl: slack.webhookUrl });

    const posted = await webhookOnly.postMessage('C0SECURITY', MESSAGE);

    expect(posted).toEqual({ channel: 'C0SECURITY', ts: '' });
    expect(slack.calls('webhook')[0]?.body).toEqual({ text: MESSAGE.text, blocks: MESSAGE.blocks });
    expect(slack.calls('chat.postMessage')).toHaveLength(0);
  });

  it('reports a webhook failure by code, never by URL', async () => {
    const webhookOnly = createSlackClient({ webhookUrl: slack.webhookUrl });
    slack.failNext('webhook', 'no_service');

    const error = await rejection(webhookOnly.postMessage('C0SECURITY', MESSAGE));

    expect(error.code).toBe('no_service');
    expect(error.message).not.toContain('fakewebhooksecret');
  });

  it('cannot update messages without a bot token', async () => {
    const webhookOnly = createSlackClient({ webhookUrl: slack.webhookUrl });

    const error = await rejection(webhookOnly.updateMessage('C0SECURITY', '1.1', MESSAGE));

    expect(error.code).toBe('not_configured');
  });
});
