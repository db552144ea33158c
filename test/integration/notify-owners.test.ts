import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { createSlackClient } from '../../lambdas/shared/adapters/slack-client';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { checkMessage } from '../../lambdas/shared/slack/limits';
import { MAX_ITEMS_PER_MESSAGE } from '../../lambdas/shared/slack/messages';
import { decodeActionValue } from '../../lambdas/shared/slack/request';
import {
  escalateToFallback,
  notifyNewRequests,
  sendReminders,
} from '../../lambdas/shared/use-cases/notify-owners';
import { refreshMessage } from '../../lambdas/shared/use-cases/slack-actions';
import { slackSetupProblems } from '../../lambdas/shared/use-cases/slack-setup';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { type FakeSlack, startFakeSlack } from '../../scripts/local/fake-slack';
import { flaggedRequest } from '../../scripts/local/flagged-request';
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
  return flaggedRequest(store, {
    credentialId: `123456789012:access-key:AKIANOTIFY${String(serial).padStart(10, '0')}`,
    principal: `svc-${serial}`,
    owner,
    at: NOW,
    policyId: context.policyId,
    lastUsedAt: '2026-07-26T00:00:00.000Z',
  });
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

/** `count` untold requests of `owner`, written a few at a time. */
async function flaggedMany(owner: string, count: number): Promise<CredentialState[]> {
  const states: CredentialState[] = [];
  while (states.length < count) {
    const batch = Math.min(25, count - states.length);
    states.push(...(await Promise.all(Array.from({ length: batch }, () => flagged(owner)))));
  }
  return states;
}

/** The credential ids a posted message offers buttons for. */
function answerable(body: {
  blocks?: { type: string; elements?: { action_id: string; value?: string }[] }[];
}) {
  return (body.blocks ?? []).flatMap((block) =>
    block.type === 'actions'
      ? (block.elements ?? [])
          .filter((element) => element.action_id === 'reauth:still-needed')
          .map((element) => decodeActionValue(element.value ?? '').credentialId)
      : [],
  );
}

/** Records an answer the way the worker does: the state moves on, with a decision. */
async function answer(state: CredentialState, status: 'active' | 'disabled') {
  await store.transition(state.credentialId, (current) =>
    current
      ? {
          state: {
            ...current,
            status,
            decidedBy: 'slack:UOWNER',
            ...(status === 'disabled' && { disabledAt: NOW.toISOString() }),
            ...(status === 'active' && { reviewDueAt: '2027-03-01T00:00:00.000Z' }),
          },
          decision: {
            credentialId: current.credentialId,
            accountId: current.accountId,
            kind: current.kind,
            principal: current.principal,
            owner: current.owner,
            action: status === 'active' ? 'reauthorize' : 'disable',
            reason: 'answered in Slack',
            actor: 'slack:UOWNER',
            at: NOW.toISOString(),
            mode: 'enforce',
            policyId: context.policyId,
            evidence: {},
          },
        }
      : undefined,
  );
}

describe('an owner of many credentials', () => {
  // 2,000 is `npm run bench`'s (its Slack part checks the same for an owner of 2,000, against this
  // emulator): recording 2,000 decisions takes minutes here, which a test should not.
  for (const count of [1, 25, 200]) {
    it(`of ${count}: every credential is shown with its buttons, in messages within Slack's limits, and recorded as told by the message that showed it`, async () => {
      const slack = createSlackClient({ botToken: 'xoxb-notify', apiBaseUrl: fake.apiBaseUrl });
      const owner = `UMANY${count}`;
      const states = await flaggedMany(owner, count);
      const before = fake.requests.length;
      const postedTs: string[] = [];
      const client = {
        ...slack,
        postMessage: async (channel: string, message: Parameters<typeof slack.postMessage>[1]) => {
          const posted = await slack.postMessage(channel, message);
          postedTs.push(posted.ts);
          return posted;
        },
      };

      const report = await notifyNewRequests({ store, slack: client }, states, context);

      const posts = fake.requests.slice(before).filter((r) => r.method === 'chat.postMessage');
      const messages = Math.ceil(count / MAX_ITEMS_PER_MESSAGE);
      expect(report).toMatchObject({ messages, recorded: count, failures: [] });
      expect(posts).toHaveLength(messages);
      const shownIn = new Map<string, number>();
      for (const [index, post] of posts.entries()) {
        expect(checkMessage(post.body).violations).toEqual([]);
        for (const id of answerable(post.body)) shownIn.set(id, index);
      }
      expect([...shownIn.keys()].sort()).toEqual(states.map((s) => s.credentialId).sort());
      const told = await store.getStates(states.map((s) => s.credentialId));
      for (const state of states) {
        const current = told.get(state.credentialId);
        expect(current?.notifiedAt).toBe(NOW.toISOString());
        // Shown in exactly one message, and that is the message recorded for it.
        expect(posts.filter((p) => answerable(p.body).includes(state.credentialId))).toHaveLength(1);
        expect(current?.message?.channel).toBe(`D${owner.slice(1)}`);
        const index = shownIn.get(state.credentialId) ?? -1;
        expect(current?.message?.ts).toBe(postedTs[index]);
      }
      const sample = states[count - 1] as CredentialState;
      const [notify] = (await store.history(sample.credentialId)).filter((d) => d.action === 'notify');
      expect(notify?.evidence).toMatchObject(told.get(sample.credentialId)?.message ?? {});
    });
  }

  it('records as told only what a message Slack took showed: the rest waits for the next run', async () => {
    const slack = createSlackClient({ botToken: 'xoxb-notify', apiBaseUrl: fake.apiBaseUrl });
    const states = await flaggedMany('UHALF', 45);
    const told = async () =>
      [...(await store.getStates(states.map((s) => s.credentialId))).values()].filter((s) => s.notifiedAt);
    let posts = 0;
    const secondRefused = {
      ...slack,
      postMessage: async (channel: string, message: Parameters<typeof slack.postMessage>[1]) => {
        if (++posts === 2) fake.failNext('chat.postMessage', 'channel_not_found');
        return slack.postMessage(channel, message);
      },
    };

    const first = await notifyNewRequests({ store, slack: secondRefused }, states, context);

    expect(first).toMatchObject({ messages: 1, recorded: MAX_ITEMS_PER_MESSAGE });
    expect(first.failures).toHaveLength(1);
    expect(await told()).toHaveLength(MAX_ITEMS_PER_MESSAGE);
    const second = await notifyNewRequests({ store, slack }, states, context);
    expect(second).toMatchObject({ messages: 2, recorded: 45 - MAX_ITEMS_PER_MESSAGE, failures: [] });
    expect(await told()).toHaveLength(45);
  });

  it("keeps each message within Slack's limits whatever is answered, and reminds only of the rest", async () => {
    const slack = createSlackClient({ botToken: 'xoxb-notify', apiBaseUrl: fake.apiBaseUrl });
    const states = await flaggedMany('UANSWERS', 25);
    await notifyNewRequests({ store, slack }, states, context);
    const told = [...(await store.getStates(states.map((s) => s.credentialId))).values()];
    const updates = () => fake.calls('chat.update').length;
    const before = updates();

    // The case: 17 disabled (each with Restore) and a few kept, one click at a time.
    for (const [index, state] of told.slice(0, 20).entries()) {
      await answer(state, index < 17 ? 'disabled' : 'active');
      await refreshMessage(
        { store, slack, policy: context.policy, policyId: context.policyId },
        state.credentialId,
      );
    }

    expect(updates() - before).toBe(20);
    for (const update of fake.calls('chat.update').slice(before)) {
      expect(checkMessage(update.body).violations).toEqual([]);
    }
    const later = { ...context, now: new Date('2026-11-30T10:00:00Z'), job: 'enforce' };
    const posted = fake.calls('chat.postMessage').length;
    const current = [...(await store.getStates(states.map((s) => s.credentialId))).values()];

    const reminded = await sendReminders({ store, slack }, current, later);

    const reminders = fake.calls('chat.postMessage').slice(posted);
    const open = told.slice(20).map((s) => s.credentialId);
    expect(reminded).toMatchObject({ messages: 1, recorded: 5, failures: [] });
    expect(reminders.flatMap((r) => answerable(r.body)).sort()).toEqual(open.sort());
    // Their buttons now live in the reminder: a click there rebuilds it.
    const moved = await store.getState(open[0] ?? '');
    expect(moved?.message?.ts).not.toBe(told[20]?.message?.ts);
  });
});

describe('a fallback channel the bot is not in', () => {
  it('reports not_in_channel once with its fix, records nothing, and tells everyone once the bot is invited', async () => {
    const slack = createSlackClient({ botToken: 'xoxb-notify', apiBaseUrl: fake.apiBaseUrl });
    const security = policy.fallbackOwner;
    // Orphaned credentials (their owner is the fallback owner) and an owner Slack does not know both go there.
    const orphans = [await flagged(security), await flagged(security)];
    const ghost = await flagged('gone-in-2025@example.com');
    fake.notInChannel(security);

    const first = await notifyNewRequests({ store, slack }, [...orphans, ghost], context);

    expect(first).toMatchObject({ messages: 0, recorded: 0 });
    expect(first.failures.length).toBeGreaterThan(1);
    expect(first.failures.every((f) => f.code === 'not_in_channel' && f.channel === security)).toBe(true);
    expect(slackSetupProblems(first.failures)).toEqual([
      { channel: security, code: 'not_in_channel', fix: expect.stringContaining('/invite @reauth') },
    ]);
    for (const state of [...orphans, ghost]) expect(await actions(state)).toEqual(['flag']);

    fake.invite(security);
    const second = await notifyNewRequests({ store, slack }, [...orphans, ghost], context);

    expect(second.failures).toEqual([]);
    expect(second.recorded).toBe(3);
    for (const state of [...orphans, ghost]) expect(await actions(state)).toEqual(['flag', 'escalate']);
  });
});
