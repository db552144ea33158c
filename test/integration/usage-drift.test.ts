import { ListAccessKeysCommand, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { ModalView } from '../../lambdas/shared/slack/messages';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { type Seeded, seedAccount, VENDOR_ACCOUNT } from '../../scripts/local/seed';
import {
  buttonClickBody,
  drainQueue,
  slackEvent,
  stillNeededSubmissionBody,
} from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart, travelTo, undoTravelAfter } from '../support/lambda';

const { emulator, clients } = useEmulator();
const TABLE = 'usage-drift-under-test';
const ACCOUNT = '123456789012';
const DAY = 86_400_000;
const START = new Date();
const OWNER = 'UOWNER';
const store = createDecisionStore(clients.documents, TABLE);

let fake: FakeSlack;
let signingSecret: string;
let seeded: Seeded;
let env: Record<string, string>;

const keyOf = (user: string, slot = 0) => `${ACCOUNT}:access-key:${seeded.keyIds.get(user)?.[slot]}`;
const ROLE = `${ACCOUNT}:role:vendor-etl`;

/** Runs the scan Lambda's handler at `days` after the start (the emulator's clock too). */
async function scanOnDay(days: number): Promise<void> {
  await travelTo(emulator, new Date(START.getTime() + days * DAY));
  await (await coldStart<() => Promise<unknown>>('../../lambdas/scan/handler', env))();
}

/** The texts of every message posted to the owner so far. */
function postedTo(owner: string): string {
  return JSON.stringify(fake.calls('chat.postMessage').filter((call) => call.body.channel === owner));
}

beforeAll(async () => {
  const local = await startLocalStack(clients, {
    table: TABLE,
    policy: {
      tiers: {
        'eu-only': {
          idleDays: 90,
          maxAgeDays: 365,
          graceDays: 14,
          reauthorizeForDays: 90,
          newCredentialGraceDays: 14,
          allowedRegions: ['eu-west-1', 'eu-central-1'],
        },
      },
    },
  });
  fake = local.slack;
  signingSecret = local.signingSecret;
  env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  const owned = { 'reauth:owner': OWNER };
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        {
          // An old idle key and the deploy key that replaced it, used for S3 in eu-west-1.
          name: 'deployer',
          tags: owned,
          keys: [
            { createdDaysAgo: 300, usedDaysAgo: 200 },
            { createdDaysAgo: 60, usedDaysAgo: 1, usedIn: { service: 's3', region: 'eu-west-1' } },
          ],
        },
        {
          name: 'roamer',
          tags: { ...owned, 'reauth:tier': 'eu-only' },
          keys: [{ createdDaysAgo: 60, usedDaysAgo: 1, usedIn: { service: 's3', region: 'ap-south-1' } }],
        },
      ],
      secrets: [],
      roles: [
        {
          name: 'vendor-etl',
          createdDaysAgo: 100,
          trustedAccounts: [VENDOR_ACCOUNT],
          usedDaysAgo: 1,
          usedRegion: 'eu-west-1',
          tags: owned,
        },
      ],
    },
    START,
  );
});

undoTravelAfter(emulator, () => fake.close());

describe('usage drift: a credential used in a new way is a question for its owner', () => {
  it('learns where each credential is used from its first scan, asking nothing; a region outside the tier is asked at once', async () => {
    await scanOnDay(0);

    // The deploy key was listed with its idle sibling: its state holds its use, and no decision.
    const deployKey = await store.getState(keyOf('deployer', 1));
    expect(deployKey).toMatchObject({
      status: 'active',
      seq: 0,
      usage: { services: ['s3'], regions: ['eu-west-1'] },
    });
    expect(await store.history(keyOf('deployer', 1))).toEqual([]);
    expect(await store.getState(ROLE)).toMatchObject({
      status: 'active',
      usage: { services: [], regions: ['eu-west-1'] },
    });

    const roamer = await store.getState(keyOf('roamer'));
    expect(roamer).toMatchObject({ status: 'pending', triggers: ['usage-changed'] });
    expect(roamer?.why).toBe(
      'use from `ap-south-1`, outside the allowed regions (`eu-west-1`, `eu-central-1`)',
    );
    expect(postedTo(OWNER)).toContain('use from `ap-south-1`, outside the allowed regions');
  });

  it('asks nothing during the learning period: a new service and region join what is known', async () => {
    await travelTo(emulator, new Date(START.getTime() + 10 * DAY));
    await seeded.useKey('deployer', 1, { service: 'sts', region: 'eu-central-1' });
    await scanOnDay(10);

    expect(await store.getState(keyOf('deployer', 1))).toMatchObject({
      status: 'active',
      triggers: [],
      usage: { services: ['s3', 'sts'], regions: ['eu-west-1', 'eu-central-1'] },
    });
    expect(await store.history(keyOf('deployer', 1))).toEqual([]);
  });

  it('after it, a new service from a new region opens a request that says what changed', async () => {
    await travelTo(emulator, new Date(START.getTime() + 35 * DAY));
    await seeded.useKey('deployer', 1, { service: 'iam', region: 'us-east-1' });
    await scanOnDay(35);

    const why = 'first use of `iam` from `us-east-1`; before: `s3`, `sts` in `eu-west-1`, `eu-central-1`';
    expect(await store.getState(keyOf('deployer', 1))).toMatchObject({
      status: 'pending',
      triggers: ['usage-changed'],
      why,
    });
    const [flag] = await store.history(keyOf('deployer', 1));
    expect(flag).toMatchObject({
      action: 'flag',
      reason: why,
      evidence: {
        lastUsedService: 'iam',
        lastUsedRegion: 'us-east-1',
        usageChange: { asked: { services: ['iam'], regions: ['us-east-1'] } },
        controls: expect.arrayContaining(['NIST CSF 2.0 DE.CM-03']),
      },
    });
    expect(postedTo(OWNER)).toContain('first use of `iam` from `us-east-1`');
  });

  it('a role assumed from a new region opens a request too', async () => {
    await travelTo(emulator, new Date(START.getTime() + 36 * DAY));
    await seeded.useRole('vendor-etl', 'us-west-2');
    await scanOnDay(36);

    expect(await store.getState(ROLE)).toMatchObject({
      status: 'pending',
      triggers: ['usage-changed'],
      why: 'first use from `us-west-2`; before: in `eu-west-1`',
    });
  });

  it("the owner's Still needed adds the new use to what is known: the same use asks nothing again", async () => {
    const credentialId = keyOf('deployer', 1);
    const requestSeq = (await store.getState(credentialId))?.requestSeq;
    const endpoint = await coldStart<(e: unknown) => Promise<{ statusCode: number }>>(
      '../../lambdas/slack/handler',
      env,
    );
    const at = new Date(START.getTime() + 36 * DAY);
    await travelTo(emulator, at);
    const click = buttonClickBody({
      userId: OWNER,
      actionId: 'reauth:still-needed',
      value: `${credentialId}|${requestSeq}`,
      responseUrl: fake.responseUrl('owner'),
    });
    expect((await endpoint(slackEvent(click, { signingSecret, at }))).statusCode).toBe(200);
    const view = fake.calls('views.open').at(-1)?.body.view as ModalView;
    const submission = stillNeededSubmissionBody({
      userId: OWNER,
      view,
      reason: 'now deploys the IAM roles of the stack',
      days: 30,
    });
    expect((await endpoint(slackEvent(submission, { signingSecret, at }))).statusCode).toBe(200);
    // The worker records the answer the endpoint queued.
    const worker = await coldStart<Parameters<typeof drainQueue>[2]>(
      '../../lambdas/slack-worker/handler',
      env,
    );
    await drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker);

    const answered = await store.getState(credentialId);
    expect(answered).toMatchObject({
      status: 'active',
      usage: { services: ['s3', 'sts', 'iam'], regions: ['eu-west-1', 'eu-central-1', 'us-east-1'] },
    });
    expect(answered?.usage?.asked).toBeUndefined();
    expect((await store.history(credentialId)).at(-1)).toMatchObject({
      action: 'reauthorize',
      evidence: { usageVouchedFor: { services: ['iam'], regions: ['us-east-1'] } },
    });

    await travelTo(emulator, new Date(START.getTime() + 37 * DAY));
    await seeded.useKey('deployer', 1, { service: 'iam', region: 'us-east-1' });
    const before = (await store.history(credentialId)).length;
    await scanOnDay(37);
    expect(await store.getState(credentialId)).toMatchObject({ status: 'active', triggers: [] });
    expect(await store.history(credentialId)).toHaveLength(before);
  });

  it('in report mode changes nothing in IAM, past every deadline', async () => {
    await travelTo(emulator, new Date(START.getTime() + 60 * DAY));
    await (await coldStart<() => Promise<unknown>>('../../lambdas/enforce/handler', env))();

    for (const user of ['deployer', 'roamer']) {
      const { AccessKeyMetadata = [] } = await clients.iam.send(
        new ListAccessKeysCommand({ UserName: user }),
      );
      expect(AccessKeyMetadata.map((key) => key.Status)).toEqual(AccessKeyMetadata.map(() => 'Active'));
    }
    const { PolicyNames } = await clients.iam.send(new ListRolePoliciesCommand({ RoleName: 'vendor-etl' }));
    expect(PolicyNames).toEqual([]);
    expect(await store.getState(keyOf('roamer'))).toMatchObject({ status: 'pending' });
  });
});
