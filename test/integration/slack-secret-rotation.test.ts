import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { slackFromEnvironment } from '../../lambdas/shared/adapters/slack-settings';
import { type LocalStack, startLocalStack } from '../../scripts/local/local-stack';
import { buttonClickBody, slackEvent } from '../../scripts/local/slack-play';
import { virtualClock } from '../../scripts/local/virtual-clock';
import { useFaultyAws } from '../support/faulty-aws';
import { coldStart } from '../support/lambda';

// No faults: the proxy in front of the emulator only counts the Lambda's Secrets Manager reads.
const aws = useFaultyAws({ rate: 0 });
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const NEW_SECRET = 'rotated-signing-secret-0000000001';

let local: LocalStack;
let endpoint: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** GetSecretValue calls that reached the emulator through the proxy. */
const secretReads = () => aws.proxy.forwardedBy['secretsmanager.GetSecretValue'] ?? 0;

function clickSignedWith(signingSecret: string, at: number) {
  vi.setSystemTime(at);
  return endpoint(
    slackEvent(
      buttonClickBody({
        userId: 'UALICE',
        actionId: 'reauth:disable',
        value: '123456789012:access-key:AKIAROTATIONTEST0001|1',
        responseUrl: local.slack.responseUrl('click'),
      }),
      { signingSecret, at: new Date(at) },
    ),
  );
}

async function rotate(secret: object): Promise<void> {
  await aws.clients.secretsManager.send(
    new PutSecretValueCommand({ SecretId: local.env.SLACK_SECRET_ARN, SecretString: JSON.stringify(secret) }),
  );
}

beforeAll(async () => {
  local = await startLocalStack(aws.clients, { table: 'rotation-under-test', policy: { mode: 'report' } });
  endpoint = await coldStart('../../lambdas/slack/handler', {
    ...local.env,
    AWS_ENDPOINT_URL: aws.proxy.endpoint,
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  vi.useRealTimers();
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterAll(async () => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
  await local.slack.close();
});

describe('rotating the Slack signing secret', () => {
  it('takes effect within a minute with no redeploy, while a forged flood reads the secret once a minute at most', async () => {
    expect((await clickSignedWith(local.signingSecret, T0)).statusCode).toBe(200);
    expect(secretReads()).toBe(1);

    await rotate({ signingSecret: NEW_SECRET, botToken: 'xoxb-local-fake' });

    // Read less than a minute ago: no second read yet, so the new signature is refused for now.
    expect((await clickSignedWith(NEW_SECRET, T0 + 30_000)).statusCode).toBe(401);
    expect(secretReads()).toBe(1);
    // A minute on: the failed signature is checked once more against the secret read afresh.
    expect((await clickSignedWith(NEW_SECRET, T0 + MINUTE + 1000)).statusCode).toBe(200);
    expect(secretReads()).toBe(2);
    expect((await clickSignedWith(NEW_SECRET, T0 + MINUTE + 2000)).statusCode).toBe(200);
    expect(secretReads()).toBe(2);

    // 180 forged requests, one a second for three minutes: three reads at most, one a minute.
    const before = secretReads();
    for (let i = 0; i < 180; i++) {
      const answer = await clickSignedWith('forged-signing-secret-000000000', T0 + 2 * MINUTE + i * 1000);
      expect(answer.statusCode).toBe(401);
    }
    expect(secretReads() - before).toBeGreaterThan(0);
    expect(secretReads() - before).toBeLessThanOrEqual(3);

    // The old secret no longer signs anything.
    expect((await clickSignedWith(local.signingSecret, T0 + 6 * MINUTE)).statusCode).toBe(401);
    expect((await clickSignedWith(NEW_SECRET, T0 + 6 * MINUTE + 1000)).statusCode).toBe(200);
  });
});

describe('rotating the Slack bot token', () => {
  it('is used within five minutes, with no failed call and no redeploy', async () => {
    vi.useRealTimers();
    const clock = virtualClock();
    await rotate({ signingSecret: NEW_SECRET, botToken: 'xoxb-before-rotation' });
    const slack = slackFromEnvironment(aws.faulty.secretsManager, local.env, clock.now);
    const tokenOfNextCall = async () => {
      const connected = await slack.connect();
      await connected?.client.lookupUserByEmail('nobody@example.com');
      return local.slack.calls('users.lookupByEmail').at(-1)?.authorization;
    };
    expect(await tokenOfNextCall()).toBe('Bearer xoxb-before-rotation');

    await rotate({ signingSecret: NEW_SECRET, botToken: 'xoxb-after-rotation' });
    clock.advance(4 * MINUTE);
    expect(await tokenOfNextCall()).toBe('Bearer xoxb-before-rotation');
    clock.advance(MINUTE);
    expect(await tokenOfNextCall()).toBe('Bearer xoxb-after-rotation');
  });
});
