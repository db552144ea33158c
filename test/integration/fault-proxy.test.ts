import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { CreateUserCommand, GetUserCommand, IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isThrottlingError } from '@smithy/core/retry';
import { describe, expect, it } from 'vitest';
import { emulatorEnv } from '../../scripts/emulator/emulator';
import { startFaultProxy } from '../../scripts/emulator/fault-proxy';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { useFaultyAws } from '../support/faulty-aws';

const aws = useFaultyAws({ rate: 0.1, seed: 42 });
const CALLS = 40;
const TABLE = 'fault-proxy-under-test';
const { AWS_REGION: region } = emulatorEnv('');
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

describe('the fault proxy, through the real SDK clients', () => {
  it('throttles in each protocol’s own shape, which the SDK classifies as throttling', async () => {
    const proxy = await startFaultProxy({ target: aws.emulator.endpoint, rate: 1, kinds: ['throttle'] });
    try {
      const once = { endpoint: proxy.endpoint, region, credentials, maxAttempts: 1 };
      const iam = new IAMClient(once).send(new GetUserCommand({ UserName: 'nobody' }));
      const dynamodb = new DynamoDBClient(once).send(new ListTablesCommand({}));

      for (const call of [iam, dynamodb]) {
        const error = await call.then(
          () => undefined,
          (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
        );
        expect(error?.name).toMatch(/^Throttling(Exception)?$/);
        expect(isThrottlingError(error as Parameters<typeof isThrottlingError>[0])).toBe(true);
      }
      expect(proxy.injected.throttle).toBe(2);
      expect(proxy.forwarded).toBe(0);
    } finally {
      await proxy.stop();
    }
  });

  it('loses no write and repeats none under faults with the default retries, apart from what a lost answer shows', async () => {
    await ensureDecisionTable(aws.clients.dynamodb, TABLE);
    const created: string[] = [];
    const alreadyThere: string[] = [];

    // One call at a time, so the seeded faults fall on the same calls every run; a high rate on few
    // calls shows every kind of fault without a long run (bench:faults is the soak).
    aws.proxy.setRate(0.3);
    for (let n = 0; n < CALLS; n++) {
      await aws.faulty.documents.send(
        new PutCommand({ TableName: TABLE, Item: { pk: `P${n}`, sk: 'ITEM', n } }),
      );
      try {
        await aws.faulty.iam.send(new CreateUserCommand({ UserName: `faulty-${n}` }));
        created.push(`faulty-${n}`);
      } catch (error) {
        // CreateUser applied, its answer lost, retried: IAM says the user exists (as AWS would).
        if ((error as Error).name !== 'EntityAlreadyExistsException') throw error;
        alreadyThere.push(`faulty-${n}`);
      }
    }

    const { injected } = aws.proxy;
    for (const kind of ['throttle', 'serverError', 'resetBefore', 'resetAfter', 'slow'] as const) {
      expect(injected[kind], kind).toBeGreaterThan(0);
    }
    for (let n = 0; n < CALLS; n++) {
      const { Item } = await aws.clients.documents.send(
        new GetCommand({ TableName: TABLE, Key: { pk: `P${n}`, sk: 'ITEM' } }),
      );
      expect(Item).toMatchObject({ n });
    }
    const { Users = [] } = await aws.clients.iam.send(new ListUsersCommand({}));
    const users = Users.map((u) => u.UserName).filter((name) => name?.startsWith('faulty-'));
    expect(users.sort()).toEqual([...created, ...alreadyThere].sort());
    expect(new Set(users).size).toBe(CALLS);
    // Only a reset after forwarding can make CreateUser meet its own user.
    expect(alreadyThere.length).toBeLessThanOrEqual(injected.resetAfter);
  });

  it('after a crash, fails every later call (reset), and lets control calls through', async () => {
    const proxy = await startFaultProxy({ target: aws.emulator.endpoint, rate: 0 });
    try {
      const dynamodb = new DynamoDBClient({ endpoint: proxy.endpoint, region, credentials, maxAttempts: 2 });
      proxy.crashAfter(2);
      await dynamodb.send(new ListTablesCommand({}));
      await dynamodb.send(new ListTablesCommand({}));

      for (let n = 0; n < 3; n++) {
        await expect(dynamodb.send(new ListTablesCommand({}))).rejects.toMatchObject({ code: 'ECONNRESET' });
      }
      expect(proxy.forwarded).toBe(2);
      expect(proxy.crashed).toBe(6);
      await proxy.onCrash;
      const clock = await fetch(`${proxy.endpoint}/_reauth/clock`, { method: 'DELETE' });
      expect(clock.status).toBe(200);
    } finally {
      await proxy.stop();
    }
  });
});
