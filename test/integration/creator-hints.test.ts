import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { creatorCase, creatorRecordOf } from '../support/creator-records';
import { useEmulator } from '../support/emulator';
import {
  cloudTrailEntry,
  putEvents,
  startTrustEventConsumer,
  type TrustEventConsumer,
} from '../support/trust-event-rules';

const { clients } = useEmulator();
const TABLE = 'creators-under-test';
const ACCOUNT = '123456789012';
const store = createDecisionStore(clients.documents, TABLE);
let events: TrustEventConsumer;

/** A creation as EventBridge delivers it, through the stack's own rules. */
const entry = (id: string) => cloudTrailEntry(creatorRecordOf(creatorCase(id)) as { eventSource: string });

beforeAll(async () => {
  events = await startTrustEventConsumer(clients, { table: TABLE, name: 'creators' });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await events.slack.close();
});

describe('the events consumer reads who created what', () => {
  it('keeps one hint for a creation delivered twice, and records nothing else', async () => {
    const created = entry('create-access-key-by-sso-session');
    await putEvents(clients.events, created);
    await putEvents(clients.events, created);
    expect(await events.deliver()).toBe(2);

    const { creators, states } = await store.loadAccount(ACCOUNT);
    expect([...creators.values()]).toEqual([
      {
        accountId: ACCOUNT,
        subject: 'access-key/AKIAXAFZN8JEPF6L682H',
        owner: 'alice@example.com',
        eventName: 'CreateAccessKey',
        at: '2024-08-01T13:33:28Z',
        by: 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@example.com',
      },
    ]);
    expect(states.size).toBe(0);
    expect(events.slack.calls('chat.postMessage')).toEqual([]);
  });

  it('keeps the first creation of a user: a later console password by someone else changes nothing', async () => {
    const user = creatorRecordOf(creatorCase('create-login-profile-by-sso-session'));
    const userName = (user.requestParameters as { userName: string }).userName;
    const createUser = creatorRecordOf(creatorCase('create-user-by-iam-user-named-by-email'));
    createUser.requestParameters = { userName };
    createUser.eventID = 'create-user-of-the-login-profile-user';
    await putEvents(clients.events, cloudTrailEntry(createUser as { eventSource: string }));
    await events.deliver();
    await putEvents(clients.events, cloudTrailEntry(user as { eventSource: string }));
    await events.deliver();

    const hint = (await store.loadAccount(ACCOUNT)).creators.get(`user/${userName}`);
    expect(hint).toMatchObject({ owner: 'alice@example.com', eventName: 'CreateUser' });
  });

  it('remembers nothing of a creation by the root user, a pipeline nobody mapped, or a failed call', async () => {
    const before = (await store.loadAccount(ACCOUNT)).creators.size;
    await putEvents(
      clients.events,
      entry('awsdocs-create-secret-by-root'),
      entry('create-user-by-pipeline-role-unmapped'),
      entry('create-login-profile-failed'),
    );
    expect(await events.deliver()).toBe(3);
    const { creators, states } = await store.loadAccount(ACCOUNT);
    expect(creators.size).toBe(before);
    expect(states.size).toBe(0);
  });
});
