import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createIamClient } from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { keySlotIdOf } from '../../lambdas/shared/domain/usage';
import { itemKind } from '../../lambdas/shared/evidence/export-reader';
import { KEY_SLOT_SK, keySlotPk } from '../../lambdas/shared/table-layout';
import { type ScanReport, scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { type Seeded, seedAccount } from '../../scripts/local/seed';
import { useEmulator } from '../support/emulator';
import { travelTo } from '../support/lambda';

const { emulator, clients } = useEmulator();
const TABLE = 'key-slot-usage-under-test';
const ACCOUNT = '123456789012';
const DAY = 86_400_000;
const START = new Date();
const store = createDecisionStore(clients.documents, TABLE);
const policy = parsePolicyConfig({});

/** The scan's own IAM client, its calls counted by operation (and ListAccessKeys by user). */
const iam = createIamClient();
let iamCalls: string[] = [];
iam.middlewareStack.add(
  (next, context) => async (args) => {
    const input = args.input as { UserName?: string };
    iamCalls.push(`${context.commandName}${input.UserName ? ` ${input.UserName}` : ''}`);
    return next(args);
  },
  { step: 'initialize', name: 'countIamCalls' },
);

let seeded: Seeded;
let keyCreatedAt: string;
const keyId = () => `${ACCOUNT}:access-key:${seeded.keyIds.get('deploy-bot')?.[0]}`;

async function scanOnDay(days: number): Promise<{ report: ScanReport; calls: string[] }> {
  await travelTo(emulator, new Date(START.getTime() + days * DAY));
  iamCalls = [];
  const report = await scanAccount(
    { iam, secretsManager: clients.secretsManager, store, stacks: stackOwnersOfThisAccount() },
    { accountId: ACCOUNT, policy, now: new Date() },
  );
  return { report, calls: iamCalls };
}

beforeAll(async () => {
  await ensureDecisionTable(clients.dynamodb, TABLE);
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        {
          // A healthy deploy key, used for S3 in eu-west-1 only: no finding, so reauth never listed its id.
          name: 'deploy-bot',
          tags: { 'reauth:owner': 'UOWNER' },
          keys: [{ createdDaysAgo: 20, usedDaysAgo: 0, usedIn: { service: 's3', region: 'eu-west-1' } }],
        },
      ],
      secrets: [],
      roles: [],
    },
    START,
  );
  const { AccessKeyMetadata = [] } = await clients.iam.send(
    new ListAccessKeysCommand({ UserName: 'deploy-bot' }),
  );
  // The credential report gives it to the second.
  keyCreatedAt = AccessKeyMetadata[0]?.CreateDate?.toISOString().replace(/\.\d{3}Z$/, '.000Z') ?? '';
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.unfreeze();
});

describe('a key reauth knows no id of learns where it is used, at no extra call', () => {
  let day0Calls: string[];

  it('learns its first use in its key slot on day 0: no state, no decision, no key listed', async () => {
    const { report, calls } = await scanOnDay(0);
    day0Calls = calls;

    expect(report.rows).toEqual([]);
    expect(report.usageLearned).toBe(1);
    expect(calls.filter((call) => call.startsWith('ListAccessKeys'))).toEqual([]);
    expect(await store.loadStates(ACCOUNT)).toEqual(new Map());
    expect(await store.openRequests()).toEqual([]);

    const { keySlots } = await store.loadAccount(ACCOUNT);
    const slotId = keySlotIdOf({ accountId: ACCOUNT, principal: 'deploy-bot', keyCreatedAt });
    expect([...keySlots.keys()]).toEqual([slotId]);
    expect(keySlots.get(slotId)?.usage).toMatchObject({ services: ['s3'], regions: ['eu-west-1'] });

    // In an export the key slot is neither a state nor a decision: no evidence reader counts it.
    const { Item } = await clients.documents.send(
      new GetCommand({ TableName: TABLE, Key: { pk: keySlotPk(slotId), sk: KEY_SLOT_SK } }),
    );
    expect(Item?.expiresAt).toBeGreaterThan(Date.now() / 1000 + 80 * 86_400);
    expect(itemKind(Item ?? {})).toBe('other');
  });

  it('on day 10, the same use writes nothing and costs the same calls', async () => {
    const { report, calls } = await scanOnDay(10);

    expect(report.rows).toEqual([]);
    expect(report.usageLearned).toBe(0);
    expect(calls).toEqual(day0Calls);
  });

  it('on day 35, IAM from us-east-1 opens a usage-changed request on the key, with its id, saying what changed', async () => {
    await travelTo(emulator, new Date(START.getTime() + 34 * DAY));
    await seeded.useKey('deploy-bot', 0, { service: 'iam', region: 'us-east-1' });
    const { report, calls } = await scanOnDay(35);

    const why = 'first use of `iam` from `us-east-1`; before: `s3` in `eu-west-1`';
    expect(report.rows).toMatchObject([
      { credentialId: keyId(), triggers: ['usage-changed'], record: 'recorded' },
    ]);
    expect(await store.getState(keyId())).toMatchObject({
      status: 'pending',
      triggers: ['usage-changed'],
      keyCreatedAt,
      why,
      usage: {
        services: ['s3'],
        regions: ['eu-west-1'],
        asked: { services: ['iam'], regions: ['us-east-1'] },
      },
    });
    expect(await store.history(keyId())).toMatchObject([{ action: 'flag', reason: why }]);
    // The finding's one listing of the user's keys, as for any finding, and the service usage of the
    // user its request opens for (one IAM job: generate, a read that finds it running, one that finds it
    // done): nothing else was added.
    const perFinding = /^(ListAccessKeys|GenerateServiceLastAccessedDetails|GetServiceLastAccessedDetails)/;
    expect(calls.filter((call) => perFinding.test(call))).toEqual([
      'GenerateServiceLastAccessedDetailsCommand',
      'GetServiceLastAccessedDetailsCommand',
      'GetServiceLastAccessedDetailsCommand',
      'ListAccessKeysCommand deploy-bot',
    ]);
    expect(calls.filter((call) => !perFinding.test(call))).toEqual(day0Calls);
  });

  it('from then on the state wins: the key slot is no longer written, and report mode changed nothing in IAM', async () => {
    const slotId = keySlotIdOf({ accountId: ACCOUNT, principal: 'deploy-bot', keyCreatedAt });
    const before = (await store.loadAccount(ACCOUNT)).keySlots.get(slotId);
    const { report, calls } = await scanOnDay(36);

    expect(report.rows).toMatchObject([{ credentialId: keyId(), record: 'unchanged' }]);
    expect((await store.loadAccount(ACCOUNT)).keySlots.get(slotId)).toEqual(before);
    expect(calls.filter((call) => call.startsWith('ListAccessKeys'))).toEqual([]);

    // Only reads, every scan: report mode never changes IAM.
    expect([...new Set([...day0Calls, ...calls])].every((call) => /^(List|Get|Generate)/.test(call))).toBe(
      true,
    );
    const { AccessKeyMetadata = [] } = await clients.iam.send(
      new ListAccessKeysCommand({ UserName: 'deploy-bot' }),
    );
    expect(AccessKeyMetadata.map((key) => key.Status)).toEqual(['Active']);
  });
});
