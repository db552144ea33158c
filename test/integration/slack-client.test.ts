import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createSlackClient,
  SlackApiError,
  type SlackClient,
} from '../../lambdas/shared/adapters/slack-client';
import { ownerRequestMessage, type RequestItem } from '../../lambdas/shared/slack/messages';
import { type FakeSlack, startFakeSlack } from '../../scripts/local/fake-slack';

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
};
const MESSAGE = ownerRequestMessage({ owner: 'U042OWNER', items: [ITEM] });

let slack: FakeSlack;
let client: SlackClient;

beforeAll(async () => {
  slack = await startFakeSlack({ users: { 'dana@example.com': 'U042OWNER' } });
});
afterAll(() => slack.close());
beforeEach(() => {
  slack.requests.length = 0;
  client = createSlackClient({ botToken: TOKEN, apiBaseUrl: slack.apiBaseUrl });
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

  it('opens a view with the trigger id', async () => {
    await client.openView('trigger-123', { type: 'modal', callback_id: 'x' });

    expect(slack.calls('views.open')[0]?.body).toMatchObject({
      trigger_id: 'trigger-123',
      view: { type: 'modal' },
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

  it('maps an HTTP error to http_<status>', async () => {
    slack.failNext('views.open', 'http_500');

    const error = await rejection(client.openView('trigger-1', { type: 'modal' }));

    expect(error.code).toBe('http_500');
  });

  it('waits out a 429 and retries', async () => {
    slack.failNext('chat.postMessage', 'ratelimited');
    const started = Date.now();

    const posted = await client.postMessage('U042OWNER', MESSAGE);

    expect(posted.channel).toBe('D042OWNER');
    expect(slack.calls('chat.postMessage')).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('gives up after two retries', async () => {
    for (let i = 0; i < 3; i++) slack.failNext('chat.update', 'ratelimited');

    const error = await rejection(client.updateMessage('D042OWNER', '1.000001', MESSAGE));

    expect(error.code).toBe('ratelimited');
    expect(slack.calls('chat.update')).toHaveLength(3);
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

  it('reports an unreachable Slack as network_error', async () => {
    const unreachable = createSlackClient({ botToken: TOKEN, apiBaseUrl: 'http://127.0.0.1:9/api' });

    const error = await rejection(unreachable.postMessage('U1', MESSAGE));

    expect(error.code).toBe('network_error');
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
