import { DetachRolePolicyCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { createGrantReader } from '../../lambdas/shared/adapters/iam-grants';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { planDisable } from '../../lambdas/shared/domain/reauthorization';
import { applyTrustChange } from '../../lambdas/shared/use-cases/trust-events';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { type Seeded, seedAccount, VENDOR_ACCOUNT } from '../../scripts/local/seed';
import { drainQueue } from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { testEnforcer } from '../support/enforcer';
import { putEvents, startTrustEventConsumer } from '../support/trust-event-rules';

const { emulator, clients } = useEmulator();
const TABLE = 'events-under-test';
const ACCOUNT = '123456789012';
const store = createDecisionStore(clients.documents, TABLE);
let fake: FakeSlack;
let seeded: Seeded;
let trustQueue: string;
let invalidQueue: string;
let consumer: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const keyCredential = (user: string) => `${ACCOUNT}:access-key:${seeded.keyIds.get(user)?.[0]}`;
const secretCredential = (name: string) => `${ACCOUNT}:secret:${seeded.secretArns.get(name)}`;
/** The Slack worker's role, one of those the consumer is told are reauth's (REAUTH_ROLE_ARNS). */
const REAUTH_ROLE = `arn:aws:iam::${ACCOUNT}:role/Reauth-SlackEndpointWorkerServiceRole5F2A7C1B`;

/** Who made a call, as CloudTrail records it (`userIdentity`). */
type Caller = Record<string, unknown>;
/** An IAM user's call. */
const user = (name: string): Caller => ({
  type: 'IAMUser',
  principalId: 'AIDAEXAMPLEMALLORY',
  arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
  accountId: ACCOUNT,
  accessKeyId: 'AKIAEXAMPLEMALLORY',
  userName: name,
});
/** A call from a Lambda function's session of `roleArn`. */
const assumedRole = (roleArn: string, session: string): Caller => {
  const roleName = roleArn.split('/').pop();
  return {
    type: 'AssumedRole',
    principalId: `AROAEXAMPLEREAUTH:${session}`,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${session}`,
    accountId: ACCOUNT,
    accessKeyId: 'ASIAEXAMPLEREAUTH',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: 'AROAEXAMPLEREAUTH',
        arn: roleArn,
        accountId: ACCOUNT,
        userName: roleName,
      },
      attributes: { creationDate: new Date().toISOString(), mfaAuthenticated: 'false' },
    },
  };
};
const reauthWorker = assumedRole(REAUTH_ROLE, 'Reauth-SlackEndpointWorker');
/** The stack's `reauth-disabled` (the emulator makes it in every account), as CloudTrail's `policyArn` names it. */
const DISABLE_ARN = `arn:aws:iam::${ACCOUNT}:policy/reauth/reauth-disabled`;

/** A CloudTrail record as EventBridge delivers it ("AWS API Call via CloudTrail"). */
function cloudTrail(
  service: 'iam' | 'secretsmanager',
  eventName: string,
  eventID: string,
  requestParameters: object,
  userIdentity: Caller = user('admin'),
) {
  return {
    Source: `aws.${service}`,
    DetailType: 'AWS API Call via CloudTrail',
    Detail: JSON.stringify({
      eventVersion: '1.09',
      userIdentity,
      eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: `${service}.amazonaws.com`,
      eventName,
      awsRegion: 'us-east-1',
      sourceIPAddress: '203.0.113.7',
      userAgent: 'aws-cli/2.22.0',
      requestParameters,
      responseElements: null,
      eventID,
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: ACCOUNT,
      eventCategory: 'Management',
    }),
  };
}

/** What the fake Slack was asked to post since `from`, by channel. */
const postedSince = (from: number) =>
  fake
    .calls('chat.postMessage')
    .slice(from)
    .map((c) => c.body);

async function put(
  ...entries: { Source: string; DetailType: string; Detail: string; EventBusName?: string }[]
) {
  await putEvents(clients.events, ...entries);
}

/** Lambda's SQS integration: what the rules delivered, to the consumer. */
function deliver(): Promise<number> {
  return drainQueue(clients.sqs, trustQueue, (event) => consumer(event, {} as Context));
}

beforeAll(async () => {
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        {
          name: 'ci-deployer',
          tags: { 'reauth:owner': 'UALICE' },
          keys: [{ createdDaysAgo: 40, usedDaysAgo: 1 }],
        },
        { name: 'etl', tags: { 'reauth:owner': 'UDANA' }, keys: [{ createdDaysAgo: 40, usedDaysAgo: 1 }] },
        { name: 'batch', tags: { 'reauth:owner': 'UERIN' }, keys: [{ createdDaysAgo: 40, usedDaysAgo: 1 }] },
        {
          name: 'reports',
          tags: { 'reauth:owner': 'UFRAN' },
          keys: [{ createdDaysAgo: 40, usedDaysAgo: 1 }],
        },
      ],
      secrets: [
        { name: 'prod/db', createdDaysAgo: 40, readDaysAgo: 1, tags: { 'reauth:owner': 'UALICE' } },
        { name: 'vendor/api', createdDaysAgo: 40, readDaysAgo: 1, tags: { 'reauth:owner': 'UGREG' } },
      ],
      roles: [
        {
          name: 'vendor-monitoring',
          createdDaysAgo: 40,
          trustedAccounts: [VENDOR_ACCOUNT],
          usedDaysAgo: 1,
          tags: { 'reauth:owner': 'UBOB' },
        },
        {
          name: 'vendor-billing',
          createdDaysAgo: 40,
          trustedAccounts: [VENDOR_ACCOUNT],
          usedDaysAgo: 1,
          tags: { 'reauth:owner': 'UHAL' },
        },
      ],
    },
    new Date(),
  );
  // The rules the stack deploys, on the emulator's EventBridge, delivering to SQS as in AWS.
  const events = await startTrustEventConsumer(clients, {
    table: TABLE,
    name: 'trust-events',
    reauthRoleArns: [`arn:aws:iam::${ACCOUNT}:role/Reauth-EnforceJobEnforceServiceRole0C9D8E7F`, REAUTH_ROLE],
  });
  fake = events.slack;
  trustQueue = events.queue;
  invalidQueue = events.invalidQueue;
  consumer = events.handler;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fake.close();
});

describe('trust changes reopen reauthorization', () => {
  it("a policy attached to a user sends each of the user's keys to its owner, scope-changed", async () => {
    await put(
      cloudTrail('iam', 'AttachUserPolicy', 'ct-1', {
        userName: 'ci-deployer',
        policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );

    expect(await deliver()).toBe(1);
    expect(await store.getState(keyCredential('ci-deployer'))).toMatchObject({
      status: 'pending',
      triggers: ['scope-changed'],
      eventIds: { 'ct-1': expect.any(String) },
      notifiedAt: expect.any(String),
    });
    expect((await store.history(keyCredential('ci-deployer')))[0]).toMatchObject({
      action: 'flag',
      actor: 'system:events',
      evidence: { eventId: 'ct-1', widens: true },
    });
    expect(fake.calls('chat.postMessage').map((c) => c.body.channel)).toEqual(['UALICE']);
  });

  it('opens one request when the same CloudTrail event is delivered twice', async () => {
    await put(
      cloudTrail('iam', 'AttachUserPolicy', 'ct-1', {
        userName: 'ci-deployer',
        policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );

    expect(await deliver()).toBe(1);
    expect((await store.history(keyCredential('ci-deployer'))).map((d) => d.action)).toEqual([
      'flag',
      'notify',
    ]);
    expect(fake.calls('chat.postMessage')).toHaveLength(1);
  });

  it('records an event once however late and out of order it comes back: A, then B, then A again', async () => {
    const eventA = cloudTrail('iam', 'AttachUserPolicy', 'ct-a', {
      userName: 'reports',
      policyArn: 'arn:aws:iam::aws:policy/AmazonS3FullAccess',
    });
    const eventB = cloudTrail('iam', 'DetachUserPolicy', 'ct-b', {
      userName: 'reports',
      policyArn: 'arn:aws:iam::aws:policy/AmazonSQSFullAccess',
    });

    await put(eventA);
    await deliver();
    await put(eventB);
    await deliver();
    await put(eventA);
    expect(await deliver()).toBe(1);

    const history = await store.history(keyCredential('reports'));
    expect(history.map((d) => [d.action, d.evidence.eventId])).toEqual([
      ['flag', 'ct-a'],
      ['notify', undefined],
      ['observe', 'ct-b'],
    ]);
    expect(Object.keys((await store.getState(keyCredential('reports')))?.eventIds ?? {}).sort()).toEqual([
      'ct-a',
      'ct-b',
    ]);
    expect(fake.calls('chat.postMessage').filter((c) => c.body.channel === 'UFRAN')).toHaveLength(1);
  });

  it('records a change that only reduces access, and asks nobody', async () => {
    await put(
      cloudTrail('iam', 'DetachUserPolicy', 'ct-2', {
        userName: 'etl',
        policyArn: 'arn:aws:iam::aws:policy/PowerUserAccess',
      }),
    );

    await deliver();
    expect(await store.getState(keyCredential('etl'))).toMatchObject({
      status: 'active',
      eventIds: { 'ct-2': expect.any(String) },
    });
    expect((await store.history(keyCredential('etl'))).map((d) => d.action)).toEqual(['observe']);
    expect(fake.calls('chat.postMessage').some((c) => c.body.channel === 'UDANA')).toBe(false);
  });

  it("sends every credential of a departed owner to reauthorization (reauth emit, on reauth's bus)", async () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(
        await main(['emit', 'Owner Departed', '--owner', 'UALICE', '--reason', 'left the company']),
      ).toBe(0);
    } finally {
      out.mockRestore();
    }

    await deliver();
    expect(await store.getState(secretCredential('prod/db'))).toMatchObject({
      status: 'pending',
      triggers: ['owner-departed'],
    });
    expect(await store.getState(keyCredential('ci-deployer'))).toMatchObject({
      status: 'pending',
      triggers: ['scope-changed', 'owner-departed'],
    });
    expect(await store.getState(`${ACCOUNT}:role:vendor-monitoring`)).toBeUndefined();
  });

  it("a policy attached to a vendor role reopens it; reauth's own disable (its role attaching reauth-disabled) does not", async () => {
    await put(
      cloudTrail(
        'iam',
        'AttachRolePolicy',
        'ct-3',
        { roleName: 'vendor-monitoring', policyArn: DISABLE_ARN },
        reauthWorker,
      ),
      cloudTrail('iam', 'AttachRolePolicy', 'ct-4', {
        roleName: 'vendor-monitoring',
        policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      }),
    );

    await deliver();
    const history = await store.history(`${ACCOUNT}:role:vendor-monitoring`);
    expect(history.map((d) => d.evidence.eventId)).toEqual(['ct-4', undefined]);
    expect(await store.getState(`${ACCOUNT}:role:vendor-monitoring`)).toMatchObject({
      status: 'pending',
      owner: 'UBOB',
    });
  });

  it("an owner's new role, a provider's wider scope and a new purpose each reopen what they name (reauth emit)", async () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await main(['emit', 'Owner Role Changed', '--owner', 'UBOB', '--new-role', 'contractor'])).toBe(
        0,
      );
      expect(
        await main([
          'emit',
          'Provider Scope Changed',
          '--credential-id',
          keyCredential('etl'),
          '--provider',
          'acme',
        ]),
      ).toBe(0);
      expect(
        await main([
          'emit',
          'Purpose Changed',
          '--tag',
          'reauth:owner=UDANA',
          '--reason',
          'moved to billing',
        ]),
      ).toBe(0);
    } finally {
      out.mockRestore();
    }

    expect(await deliver()).toBe(3);
    const role = await store.getState(`${ACCOUNT}:role:vendor-monitoring`);
    expect(role).toMatchObject({ status: 'pending', owner: 'UBOB' });
    expect(role?.triggers.slice().sort()).toEqual(['owner-changed', 'scope-changed']);
    const key = await store.getState(keyCredential('etl'));
    expect(key).toMatchObject({ status: 'pending', owner: 'UDANA', notifiedAt: expect.any(String) });
    expect(key?.triggers.slice().sort()).toEqual(['purpose-changed', 'scope-changed']);
    const flags = (await store.history(keyCredential('etl'))).filter((d) => d.action === 'flag');
    expect(flags.map((d) => d.evidence.trigger).sort()).toEqual(['purpose-changed', 'scope-changed']);
    expect(flags.map((d) => d.reason).join(' | ')).toContain('Purpose Changed: moved to billing');
    expect(fake.calls('chat.postMessage').some((c) => c.body.channel === 'UDANA')).toBe(true);
  });

  it('sends malformed events to the dead-letter queue with their reason, never back to the queue', async () => {
    await put(
      {
        EventBusName: 'reauth',
        Source: 'reauth',
        DetailType: 'Owner Departed',
        Detail: JSON.stringify({ schemaVersion: 1, owner: 5 }),
      },
      cloudTrail('iam', 'AttachUserPolicy', 'ct-5', {
        policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );

    expect(await deliver()).toBe(2);
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: invalidQueue,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(Messages.map((m) => m.MessageAttributes?.reason?.StringValue).sort()).toEqual([
      'AttachUserPolicy without requestParameters.userName',
      expect.stringMatching(/^malformed "Owner Departed" detail: owner: /),
    ]);
    expect(await deliver()).toBe(0);
  });
});

describe("only reauth's own changes are ignored: its caller and its own policy", () => {
  it("asks the owner about a team's allow-all inline policy named reauth-disabled: reauth writes no inline policy", async () => {
    const before = fake.calls('chat.postMessage').length;
    await put(
      cloudTrail(
        'iam',
        'PutRolePolicy',
        'ct-20',
        {
          roleName: 'vendor-billing',
          policyName: 'reauth-disabled',
          policyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Sid: 'ReauthDisabled', Effect: 'Allow', Action: '*', Resource: '*' }],
          }),
        },
        user('mallory'),
      ),
    );

    await deliver();
    expect(await store.getState(`${ACCOUNT}:role:vendor-billing`)).toMatchObject({
      status: 'pending',
      triggers: ['scope-changed'],
      notifiedAt: expect.any(String),
    });
    expect((await store.history(`${ACCOUNT}:role:vendor-billing`))[0]).toMatchObject({
      action: 'flag',
      evidence: { eventId: 'ct-20', by: `arn:aws:iam::${ACCOUNT}:user/mallory` },
    });
    expect(postedSince(before).map((m) => m.channel)).toEqual(['UHAL']);
  });

  it('asks the owner about a secret statement named ReauthDisabled put by someone else', async () => {
    const before = fake.calls('chat.postMessage').length;
    const arn = seeded.secretArns.get('vendor/api') as string;
    await put(
      cloudTrail(
        'secretsmanager',
        'PutResourcePolicy',
        'ct-21',
        {
          secretId: arn,
          resourcePolicy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'ReauthDisabled',
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${VENDOR_ACCOUNT}:root` },
                Action: 'secretsmanager:GetSecretValue',
                Resource: '*',
              },
            ],
          }),
          blockPublicPolicy: true,
        },
        assumedRole(`arn:aws:iam::${ACCOUNT}:role/deployer`, 'ci-run-42'),
      ),
    );

    await deliver();
    expect(await store.getState(secretCredential('vendor/api'))).toMatchObject({
      status: 'pending',
      triggers: ['scope-changed'],
      notifiedAt: expect.any(String),
    });
    expect(postedSince(before).map((m) => m.channel)).toEqual(['UGREG']);
  });

  it("records nothing and asks nobody for reauth's own restore", async () => {
    // The secret's request is open (above); reauth's worker takes its deny out, detaches reauth-disabled
    // from the role and deletes the boundary it made of it (a role at IAM's quota of attached policies).
    const secret = seeded.secretArns.get('vendor/api') as string;
    const before = fake.calls('chat.postMessage').length;
    const historyBefore = (await store.history(secretCredential('vendor/api'))).length;
    await put(
      cloudTrail('secretsmanager', 'DeleteResourcePolicy', 'ct-22', { secretId: secret }, reauthWorker),
      cloudTrail(
        'secretsmanager',
        'PutResourcePolicy',
        'ct-23',
        {
          secretId: secret,
          resourcePolicy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'VendorReads',
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${VENDOR_ACCOUNT}:root` },
                Action: 'secretsmanager:GetSecretValue',
                Resource: '*',
              },
            ],
          }),
        },
        reauthWorker,
      ),
      cloudTrail(
        'iam',
        'DetachRolePolicy',
        'ct-24',
        { roleName: 'vendor-billing', policyArn: DISABLE_ARN },
        reauthWorker,
      ),
      cloudTrail(
        'iam',
        'DeleteRolePermissionsBoundary',
        'ct-26',
        { roleName: 'vendor-billing' },
        reauthWorker,
      ),
      cloudTrail(
        'iam',
        'UpdateAccessKey',
        'ct-25',
        { userName: 'etl', accessKeyId: seeded.keyIds.get('etl')?.[0], status: 'Active' },
        reauthWorker,
      ),
    );

    expect(await deliver()).toBe(5);
    expect(await store.history(secretCredential('vendor/api'))).toHaveLength(historyBefore);
    const roleEvents = (await store.history(`${ACCOUNT}:role:vendor-billing`)).map((d) => d.evidence.eventId);
    expect(roleEvents).toContain('ct-20');
    expect(roleEvents).not.toContain('ct-24');
    expect(roleEvents).not.toContain('ct-26');
    expect((await store.history(keyCredential('etl'))).map((d) => d.evidence.eventId)).not.toContain('ct-25');
    expect(postedSince(before)).toEqual([]);
  });
});

describe('drift: a credential recorded as disabled, turned back on outside reauth', () => {
  it('records drift with who did it, reopens the request, and tells the owner and the fallback owner', async () => {
    const policy = parsePolicyConfig({});
    const credentialId = keyCredential('batch');
    const keyId = seeded.keyIds.get('batch')?.[0] as string;
    // The key's request opened and was told; nobody answered; reauth disabled it (and recorded it).
    await put(
      cloudTrail('iam', 'AttachUserPolicy', 'ct-30', {
        userName: 'batch',
        policyArn: 'arn:aws:iam::aws:policy/AmazonEC2FullAccess',
      }),
    );
    await deliver();
    await clients.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'batch', AccessKeyId: keyId, Status: 'Inactive' }),
    );
    await store.transition(credentialId, (current) =>
      current?.status === 'pending'
        ? planDisable(
            current,
            { kind: 'access-key', keyId },
            {
              now: new Date(),
              policyId: policyIdOf(policy),
              mode: 'enforce',
              actor: 'system:enforce',
              reason: 'no answer by the deadline',
            },
          )
        : undefined,
    );
    expect(await store.getState(credentialId)).toMatchObject({ status: 'disabled' });
    const before = fake.calls('chat.postMessage').length;

    // mallory turns it back on, and CloudTrail says so.
    await clients.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'batch', AccessKeyId: keyId, Status: 'Active' }),
    );
    const turnedOn = cloudTrail(
      'iam',
      'UpdateAccessKey',
      'ct-31',
      { userName: 'batch', accessKeyId: keyId, status: 'Active' },
      user('mallory'),
    );
    await put(turnedOn);
    await deliver();

    const history = await store.history(credentialId);
    expect(history.map((d) => d.action)).toEqual([
      'flag',
      'notify',
      'disable',
      'drift',
      'notify',
      'escalate',
    ]);
    expect(history[3]).toMatchObject({
      action: 'drift',
      actor: 'system:events',
      evidence: { by: `arn:aws:iam::${ACCOUNT}:user/mallory`, seenBy: 'ct-31' },
    });
    expect(await store.getState(credentialId)).toMatchObject({
      status: 'pending',
      triggers: expect.arrayContaining(['drift']),
      notifiedAt: expect.any(String),
      escalatedAt: expect.any(String),
    });
    const posted = postedSince(before);
    expect(posted.map((m) => m.channel)).toEqual(['UERIN', policy.fallbackOwner]);
    expect(JSON.stringify(posted[0])).toContain('batch');
    expect(JSON.stringify(posted[1])).toContain('turned back on outside reauth');
    expect(JSON.stringify(posted[1])).toContain('mallory');

    // Delivered again (SQS at least once): nothing more is recorded or posted.
    await put(turnedOn);
    await deliver();
    expect(await store.history(credentialId)).toHaveLength(history.length);
    expect(postedSince(before)).toHaveLength(2);
  });
  it("records drift when someone else detaches reauth-disabled from a role reauth disabled, and none for reauth's own detach", async () => {
    const policy = parsePolicyConfig({});
    const credentialId = `${ACCOUNT}:role:vendor-monitoring`;
    const target = { kind: 'role' as const, id: 'vendor-monitoring', principal: 'vendor-monitoring' };
    const enforcer = testEnforcer(clients);
    // The role's request is open (above); nobody answered; reauth disabled it (and recorded it).
    const receipt = await enforcer.disable(target);
    expect(receipt).toEqual({ kind: 'role', policyArn: DISABLE_ARN });
    await store.transition(credentialId, (current) =>
      current?.status === 'pending'
        ? planDisable(current, receipt, {
            now: new Date(),
            policyId: policyIdOf(policy),
            mode: 'enforce',
            actor: 'system:enforce',
            reason: 'no answer by the deadline',
          })
        : undefined,
    );
    expect(await store.getState(credentialId)).toMatchObject({ status: 'disabled' });
    const historyBefore = (await store.history(credentialId)).length;
    const before = fake.calls('chat.postMessage').length;

    // reauth's own detach (a restore whose record comes after the call) is no drift, though the record
    // still says disabled.
    await put(
      cloudTrail(
        'iam',
        'DetachRolePolicy',
        'ct-32',
        { roleName: 'vendor-monitoring', policyArn: DISABLE_ARN },
        reauthWorker,
      ),
    );
    await deliver();
    expect(await store.history(credentialId)).toHaveLength(historyBefore);
    expect(await store.getState(credentialId)).toMatchObject({ status: 'disabled' });

    // mallory takes reauth's deny off the role, and CloudTrail says so.
    await clients.iam.send(
      new DetachRolePolicyCommand({ RoleName: 'vendor-monitoring', PolicyArn: DISABLE_ARN }),
    );
    expect(await enforcer.recheck(target)).toMatchObject({ exists: true, disabled: false });
    await put(
      cloudTrail(
        'iam',
        'DetachRolePolicy',
        'ct-33',
        { roleName: 'vendor-monitoring', policyArn: DISABLE_ARN },
        user('mallory'),
      ),
    );
    await deliver();

    const history = (await store.history(credentialId)).slice(historyBefore);
    expect(history.map((d) => d.action)).toEqual(['drift', 'notify', 'escalate']);
    expect(history[0]).toMatchObject({
      actor: 'system:events',
      evidence: { by: `arn:aws:iam::${ACCOUNT}:user/mallory`, seenBy: 'ct-33' },
    });
    expect(await store.getState(credentialId)).toMatchObject({
      status: 'pending',
      triggers: expect.arrayContaining(['drift']),
    });
    const posted = postedSince(before);
    expect(posted.map((m) => m.channel)).toEqual(['UBOB', policy.fallbackOwner]);
    expect(JSON.stringify(posted[1])).toContain('turned back on outside reauth');
    expect(JSON.stringify(posted[1])).toContain('mallory');
  });

  it('records drift on a key the inventory does not list (a key reauth disabled is Inactive in the credential report)', async () => {
    const policy = parsePolicyConfig({});
    const credentialId = keyCredential('etl');
    const keyId = seeded.keyIds.get('etl')?.[0] as string;
    await store.transition(credentialId, (current) =>
      current?.status === 'pending'
        ? planDisable(
            current,
            { kind: 'access-key', keyId },
            {
              now: new Date(),
              policyId: policyIdOf(policy),
              mode: 'enforce',
              actor: 'system:enforce',
              reason: 'no answer by the deadline',
            },
          )
        : undefined,
    );
    expect(await store.getState(credentialId)).toMatchObject({ status: 'disabled' });

    // A user's call on their own key names no user: the key's state says whose it is.
    const outcome = await applyTrustChange(
      {
        iam: clients.iam,
        secretsManager: clients.secretsManager,
        store,
        enforcer: testEnforcer(clients),
        grants: createGrantReader(clients.iam),
      },
      {
        eventId: 'ct-40',
        trigger: 'scope-changed',
        target: { kind: 'access-key', accessKeyId: keyId },
        widens: true,
        what: `UpdateAccessKey made access key ${keyId} Active`,
        at: new Date().toISOString(),
        by: `arn:aws:iam::${ACCOUNT}:user/etl`,
        turnsBackOn: true,
      },
      { accountId: ACCOUNT, policy, now: new Date(), inventory: async () => [], holder: 'test:ct-40' },
    );

    expect(outcome).toMatchObject({ affected: [credentialId], recorded: [credentialId] });
    expect((await store.history(credentialId)).at(-1)).toMatchObject({
      action: 'drift',
      evidence: { by: `arn:aws:iam::${ACCOUNT}:user/etl`, seenBy: 'ct-40' },
    });
    expect(await store.getState(credentialId)).toMatchObject({ status: 'pending' });
  });
});
