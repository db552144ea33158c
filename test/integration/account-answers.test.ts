import { MoveAccountCommand } from '@aws-sdk/client-organizations';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OrgAccountsResult } from '../../lambdas/org-accounts/handler';
import type { OrgSummaryEvent } from '../../lambdas/org-summary/handler';
import type { MemberScanResult } from '../../lambdas/scan/handler';
import { createOrganizationsClient } from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import type { MemberRunEvent } from '../../lambdas/shared/domain/organization';
import { stillNeededAllModal } from '../../lambdas/shared/slack/answer-all';
import type { ModalView } from '../../lambdas/shared/slack/messages';
import { decodeActionValue } from '../../lambdas/shared/slack/request';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { idleKey, type SeededOrganization, seedOrganization } from '../../scripts/local/seed-organization';
import {
  buttonClickBody,
  buttonValue,
  drainQueue,
  slackEvent,
  slashCommandBody,
  stillNeededSubmissionBody,
} from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart, travelTo } from '../support/lambda';
import { readListing, runsBucket } from '../support/org-runs';

/**
 * Every path an owner's answer comes by, in an organization whose `strict` OU allows 7 days where the
 * hub allows 90, and wants a second approver where the hub wants none; and an account that left
 * reauth's coverage (moved into the excluded OU) after its key was asked about. Each answer must be
 * judged under its own credential's account policy.
 */
const { emulator, clients } = useEmulator();
const TABLE = 'account-answers-under-test';
const DAY = 86_400_000;
const START = new Date();
const store = createDecisionStore(clients.documents, TABLE);

let org: SeededOrganization;
let fake: FakeSlack;
let signingSecret: string;
let env: Record<string, string>;
let endpoint: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let worker: (event: SQSEvent) => Promise<SQSBatchResponse>;
let summarize: (event: OrgSummaryEvent) => Promise<unknown>;
let listing: OrgAccountsResult;
const scanned: MemberScanResult[] = [];

const accountId = (name: string) => org.accounts.get(name)?.accountId as string;
/** The state of the one key `user` holds in `account`. */
async function keyOf(account: string, user: string): Promise<CredentialState> {
  const states = await store.loadStates(accountId(account));
  const state = [...states.values()].find((s) => s.principal === user);
  if (!state) throw new Error(`no state for ${user} in ${account}`);
  return state;
}
const lastDecision = async (credentialId: string) => (await store.history(credentialId)).at(-1);
const signed = (body: string) => slackEvent(body, { signingSecret, at: new Date() });
const jobs = () => drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker);
const replies = (name: string) => fake.calls(`response:${name}`).map((c) => String(c.body.text ?? ''));

async function click(userId: string, actionId: string, state: CredentialState, reply: string) {
  const answered = await endpoint(
    signed(
      buttonClickBody({
        userId,
        actionId,
        value: `${state.credentialId}|${state.requestSeq}`,
        responseUrl: fake.responseUrl(reply),
      }),
    ),
  );
  await jobs();
  return answered;
}

/** The dialog the click before opened, submitted with `days`. */
async function submitLastDialog(userId: string, days: number, opened: number) {
  const view = fake.calls('views.open')[opened]?.body.view as ModalView;
  const answered = await endpoint(
    signed(
      stillNeededSubmissionBody({ userId, view, reason: 'The nightly settlement job still uses it.', days }),
    ),
  );
  await jobs();
  return { view, answered };
}

/** The longest duration a dialog offers. */
const longestOffered = (view: ModalView) =>
  Math.max(
    ...(JSON.stringify(view.blocks)
      .match(/"value":"(\d+)"/g)
      ?.map((v) => Number(/\d+/.exec(v)?.[0])) ?? []),
  );

beforeAll(async () => {
  const twoKeys = {
    ...idleKey('strict-app', 'UALICE'),
    users: [...idleKey('strict-app', 'UALICE').users, ...idleKey('strict-batch', 'UALICE').users],
  };
  org = await seedOrganization(
    emulator,
    createOrganizationsClient(),
    {
      ous: [{ name: 'strict' }, { name: 'plain' }, { name: 'legacy' }],
      accounts: [
        { name: 'strict-a', ou: 'strict', inventory: twoKeys },
        { name: 'plain-a', ou: 'plain', inventory: idleKey('plain-app', 'UALICE') },
        { name: 'leaving', ou: 'plain', inventory: idleKey('leaving-app', 'UALICE') },
      ],
    },
    START,
  );
  const local = await startLocalStack(clients, {
    table: TABLE,
    policy: {
      slack: { delegates: { UALICE: ['UCAROL'] } },
      organization: {
        exclude: { ous: [org.ous.get('legacy')], accounts: ['123456789012'] },
        overrides: [
          {
            ous: [org.ous.get('strict')],
            tiers: { standard: { reauthorizeForDays: 7, approvers: ['UAPPROVER'] } },
          },
        ],
      },
    },
  });
  fake = local.slack;
  signingSecret = local.signingSecret;
  env = {
    ...local.env,
    ...(await runsBucket(clients.s3)),
    ORG_MODE: 'true',
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  };

  listing = await (
    await coldStart<() => Promise<OrgAccountsResult>>('../../lambdas/org-accounts/handler', env)
  )();
  const scan = await coldStart<(event: MemberRunEvent) => Promise<MemberScanResult>>(
    '../../lambdas/scan/handler',
    env,
  );
  for (const account of (await readListing(clients.s3, listing)).accounts) {
    scanned.push(
      await scan({
        account,
        organization: listing.organization,
        organizationId: listing.organizationId,
        runId: listing.runId,
      }),
    );
  }
  summarize = await coldStart('../../lambdas/org-summary/handler', env);
  // One message to UALICE across the three accounts.
  await summarize({ job: 'scan', runId: listing.runId, accounts: listing.accounts, results: scanned });

  // Then the operator retires one account: it moves into the excluded OU, its key still asked about.
  await createOrganizationsClient().send(
    new MoveAccountCommand({
      AccountId: accountId('leaving'),
      SourceParentId: org.ous.get('plain'),
      DestinationParentId: org.ous.get('legacy'),
    }),
  );
  endpoint = await coldStart('../../lambdas/slack/handler', env);
  worker = await coldStart('../../lambdas/slack-worker/handler', env);
});

afterEach(async () => {
  vi.useRealTimers();
  await emulator.unfreeze();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.unfreeze();
  await fake.close();
});

describe("every answer is judged under its credential's own account policy", () => {
  it('/reauth lists what the owner may answer in covered accounts, and nothing of the excluded one', async () => {
    await endpoint(signed(slashCommandBody({ userId: 'UALICE', responseUrl: fake.responseUrl('list') })));
    await jobs();

    const [page] = fake.calls('response:list').map((c) => JSON.stringify(c.body));
    for (const user of ['strict-app', 'strict-batch', 'plain-app']) expect(page).toContain(user);
    expect(page).not.toContain('leaving-app');
  });

  it('the single dialog caps at 7 days and waits for the second approver the strict account wants', async () => {
    const key = await keyOf('strict-a', 'strict-batch');
    const opened = fake.calls('views.open').length;
    await click('UALICE', 'reauth:still-needed', key, 'single');
    const { view, answered } = await submitLastDialog('UALICE', 30, opened);

    expect(longestOffered(view)).toBe(7);
    expect(JSON.parse(String(answered.body))).toEqual({ response_action: 'clear' });
    expect(await lastDecision(key.credentialId)).toMatchObject({
      action: 'notify',
      evidence: expect.objectContaining({ days: 7, approvers: ['UAPPROVER'] }),
    });
    expect((await keyOf('strict-a', 'strict-batch')).status).toBe('pending');
    // The worker asked the strict account's approvers, the hub's tier having none.
    const asked = fake.calls('chat.postMessage').filter((c) => c.body.channel === 'UAPPROVER');
    expect(JSON.stringify(asked.at(-1)?.body)).toContain('strict-batch');
  });

  it('refuses, and records, a click for the excluded account: nothing reauthorized', async () => {
    const key = await keyOf('leaving', 'leaving-app');
    const answered = await click('UCAROL', 'reauth:still-needed', key, 'leaving');

    expect(answered.statusCode).toBe(200);
    expect(replies('leaving').join('\n')).toContain(
      `account ${accountId('leaving')} is not one of the accounts`,
    );
    expect(await lastDecision(key.credentialId)).toMatchObject({
      action: 'refuse',
      actor: 'slack:UCAROL',
      evidence: expect.objectContaining({ refusedBecause: 'not-covered' }),
    });
    expect((await keyOf('leaving', 'leaving-app')).status).toBe('pending');
  });

  it("Still needed: all, from a reminder, applies each account's cap and second approver", async () => {
    // Past half the grace period: the hourly run (listing the accounts afresh) reminds UALICE.
    await travelTo(emulator, new Date(START.getTime() + 8 * DAY));
    const { accounts } = await readListing(
      clients.s3,
      await (await coldStart<() => Promise<OrgAccountsResult>>('../../lambdas/org-accounts/handler', env))(),
    );
    const posted = fake.calls('chat.postMessage').length;
    await summarize({
      job: 'enforce',
      runId: 'reminders',
      accounts,
      results: accounts.map((a) => ({ accountId: a.accountId })),
    });
    const plain = await keyOf('plain-a', 'plain-app');
    const strict = await keyOf('strict-a', 'strict-app');
    // Posted in the conversation of the first message, where the buttons now live.
    const reminder = fake
      .calls('chat.postMessage')
      .slice(posted)
      .find((c) => c.body.channel === plain.message?.channel);
    expect(String(reminder?.body.text)).toMatch(/^Reminder/);
    for (const state of [plain, strict])
      expect(JSON.stringify(reminder?.body.blocks)).toContain(state.credentialId);
    expect(strict.message).toEqual(plain.message);

    const opened = fake.calls('views.open').length;
    await endpoint(
      signed(
        buttonClickBody({
          userId: 'UALICE',
          actionId: 'reauth:still-needed-all',
          value: 'all',
          responseUrl: fake.responseUrl('all'),
          channelId: plain.message?.channel,
          messageTs: plain.message?.ts,
        }),
      ),
    );
    // 30 days, as a dialog offering the hub's 90 would send: each account caps it as its policy says.
    const { view, answered } = await submitLastDialog('UALICE', 30, opened);

    expect(JSON.stringify(view.blocks[0])).toContain('*2* credentials');
    expect(longestOffered(view)).toBe(7);
    expect(JSON.parse(String(answered.body))).toEqual({ response_action: 'clear' });
    expect(await lastDecision(plain.credentialId)).toMatchObject({
      action: 'reauthorize',
      evidence: expect.objectContaining({ days: 30, approver: 'slack:UALICE' }),
    });
    expect(await lastDecision(strict.credentialId)).toMatchObject({
      action: 'notify',
      evidence: expect.objectContaining({ days: 7, approvers: ['UAPPROVER'] }),
    });
    expect((await keyOf('strict-a', 'strict-app')).status).toBe('pending');
    const asked = fake.calls('chat.postMessage').filter((c) => c.body.channel === 'UAPPROVER');
    expect(JSON.stringify(asked.at(-1)?.body)).toContain('strict-app');
  });

  it('Still needed: all refuses, and records, the key of an account excluded since its dialog opened', async () => {
    const leaving = await keyOf('leaving', 'leaving-app');
    const where = leaving.message as { channel: string; ts: string };
    // The first message, which showed all three keys; a dialog opened on it before the account moved.
    const view = stillNeededAllModal({ count: 3, maxDays: 90, ...where });
    const recorded = (await store.history(leaving.credentialId)).length;

    const answered = await endpoint(
      signed(
        stillNeededSubmissionBody({ userId: 'UALICE', view, reason: 'Still used by the old app.', days: 90 }),
      ),
    );
    // The endpoint wrote nothing on the credential: it queued the refusal, which the worker records.
    expect(await store.history(leaving.credentialId)).toHaveLength(recorded);
    expect(await jobs()).toBe(1);

    expect(JSON.parse(String(answered.body))).toEqual({ response_action: 'clear' });
    expect(await lastDecision(leaving.credentialId)).toMatchObject({
      action: 'refuse',
      actor: 'slack:UALICE',
      evidence: expect.objectContaining({ attempted: 'still-needed', refusedBecause: 'not-covered' }),
    });
    expect((await keyOf('leaving', 'leaving-app')).status).toBe('pending');
  });

  it("an approval confirms the strict account's 7 days, and only its approver may give it", async () => {
    const key = await keyOf('strict-a', 'strict-app');
    const asked = fake.calls('chat.postMessage').filter((c) => c.body.channel === 'UAPPROVER');
    const value = buttonValue(asked.at(-1)?.body.blocks, 'reauth:approve', key.credentialId);
    expect(decodeActionValue(value).requestSeq).toBe(key.requestSeq);

    await click('UALICE', 'reauth:approve', key, 'self-approval');
    expect(replies('self-approval').join('\n')).toContain('Only a member of the approvers group');
    expect((await keyOf('strict-a', 'strict-app')).status).toBe('pending');

    await click('UAPPROVER', 'reauth:approve', key, 'approval');
    const decision = await lastDecision(key.credentialId);
    expect(decision).toMatchObject({
      action: 'reauthorize',
      evidence: expect.objectContaining({ days: 7, approver: 'slack:UAPPROVER', proposedBy: 'slack:UALICE' }),
    });
    const active = await keyOf('strict-a', 'strict-app');
    expect(active.status).toBe('active');
    expect(Date.parse(active.reviewDueAt ?? '') - Date.parse(decision?.at ?? '')).toBe(7 * DAY);
  });
});
