import { randomUUID } from 'node:crypto';
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateUserCommand,
  DeleteRolePermissionsBoundaryCommand,
  PutGroupPolicyCommand,
  PutRolePermissionsBoundaryCommand,
  SetDefaultPolicyVersionCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { mapWithConcurrency } from '../../lambdas/shared/concurrency';
import { FAN_OUT_PART_SIZE } from '../../lambdas/shared/use-cases/trust-events';
import { type Seeded, seedAccount, VENDOR_ACCOUNT } from '../../scripts/local/seed';
import { useEmulator } from '../support/emulator';
import {
  cloudTrailEntry,
  putEvents,
  startTrustEventConsumer,
  type TrustEventConsumer,
} from '../support/trust-event-rules';

/**
 * Every path by which access grows, made for real in the emulator's IAM and told to the consumer as
 * CloudTrail tells it, through the stack's own rules: the consumer reads what was granted (AWS's own
 * managed policies among them) and asks the owners of exactly the credentials it reaches.
 */

const { emulator, clients } = useEmulator();
const TABLE = 'grant-paths-under-test';
const ACCOUNT = '123456789012';
const store = createDecisionStore(clients.documents, TABLE);
const AWS_POLICY = (name: string) => `arn:aws:iam::aws:policy/${name}`;
let events: TrustEventConsumer;
let seeded: Seeded;
let deployArn: string;

const keyOf = (user: string) => `${ACCOUNT}:access-key:${seeded.keyIds.get(user)?.[0]}`;
const roleOf = (name: string) => `${ACCOUNT}:role:${name}`;

/** What CloudTrail records for a call by an administrator, with the call's own parameters. */
function record(eventName: string, requestParameters: object, responseElements: object | null = null) {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLEADMIN',
      arn: `arn:aws:iam::${ACCOUNT}:user/admin`,
      accountId: ACCOUNT,
      userName: 'admin',
    },
    eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'iam.amazonaws.com',
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.7',
    userAgent: 'aws-cli/2.22.0',
    requestParameters,
    responseElements,
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
  };
}

/** Puts the records on EventBridge, delivers what the rules matched, and returns each one's event id. */
async function tell(...records: ReturnType<typeof record>[]): Promise<number> {
  await putEvents(clients.events, ...records.map(cloudTrailEntry));
  return events.deliver();
}

/** The last decision on a credential, if it was about `eventId`. */
async function decisionAbout(credentialId: string, eventId: string) {
  const history = await store.history(credentialId);
  return history.filter((d) => d.evidence.eventId === eventId).at(-1);
}

const ALLOW = (actions: string[], condition?: object) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: actions, Resource: '*', ...(condition && { Condition: condition }) },
    ],
  });

beforeAll(async () => {
  const owner = (id: string) => ({ 'reauth:owner': id });
  const used = [{ createdDaysAgo: 40, usedDaysAgo: 1 }];
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        { name: 'ops-ann', tags: owner('UANN'), keys: used },
        { name: 'ops-ben', tags: owner('UBEN'), keys: used },
        { name: 'solo', tags: owner('USOLO'), keys: used },
        { name: 'bystander', tags: owner('UBYSTANDER'), keys: used },
        // Reached only by the change split into parts.
        { name: 'crowd-lead', tags: owner('UCROWD'), keys: used },
        { name: 'crowd-second', tags: owner('UCROWD'), keys: used },
      ],
      secrets: [],
      roles: [
        {
          name: 'vendor-etl',
          createdDaysAgo: 40,
          trustedAccounts: [VENDOR_ACCOUNT],
          usedDaysAgo: 1,
          tags: owner('UVERA'),
        },
      ],
    },
    new Date(),
  );
  await clients.iam.send(new CreateGroupCommand({ GroupName: 'ops' }));
  for (const user of ['ops-ann', 'ops-ben'])
    await clients.iam.send(new AddUserToGroupCommand({ GroupName: 'ops', UserName: user }));
  const created = await clients.iam.send(
    new CreatePolicyCommand({ PolicyName: 'deploy', PolicyDocument: ALLOW(['s3:GetObject']) }),
  );
  deployArn = created.Policy?.Arn as string;
  await clients.iam.send(new AttachGroupPolicyCommand({ GroupName: 'ops', PolicyArn: deployArn }));
  await clients.iam.send(new AttachUserPolicyCommand({ UserName: 'solo', PolicyArn: deployArn }));
  await clients.iam.send(new AttachRolePolicyCommand({ RoleName: 'vendor-etl', PolicyArn: deployArn }));

  events = await startTrustEventConsumer(clients, { table: TABLE, name: 'grant-paths' });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await events.slack.close();
});

describe('a change is judged by what it grants, wherever it is granted', () => {
  it("AWS's leaked-key quarantine attached to a user narrows: recorded, nobody asked", async () => {
    const call = { userName: 'solo', policyArn: AWS_POLICY('AWSCompromisedKeyQuarantineV2') };
    await clients.iam.send(
      new AttachUserPolicyCommand({ UserName: call.userName, PolicyArn: call.policyArn }),
    );
    const quarantine = record('AttachUserPolicy', call);
    const posted = events.slack.calls('chat.postMessage').length;

    expect(await tell(quarantine)).toBe(1);

    expect(await decisionAbout(keyOf('solo'), quarantine.eventID)).toMatchObject({
      action: 'observe',
      evidence: {
        widens: false,
        change:
          'AttachUserPolicy: managed policy AWSCompromisedKeyQuarantineV2 attached to user solo: it only denies',
      },
    });
    expect(await store.getState(keyOf('solo'))).not.toMatchObject({ status: 'pending' });
    expect(events.slack.calls('chat.postMessage')).toHaveLength(posted);
  });

  it("AdministratorAccess attached to a group asks each member's owner, naming the group, and no one else", async () => {
    await clients.iam.send(
      new AttachGroupPolicyCommand({ GroupName: 'ops', PolicyArn: AWS_POLICY('AdministratorAccess') }),
    );
    const attach = record('AttachGroupPolicy', {
      groupName: 'ops',
      policyArn: AWS_POLICY('AdministratorAccess'),
    });
    const posted = events.slack.calls('chat.postMessage').length;

    expect(await tell(attach)).toBe(1);

    for (const user of ['ops-ann', 'ops-ben']) {
      expect(await store.getState(keyOf(user))).toMatchObject({
        status: 'pending',
        triggers: ['scope-changed'],
      });
      expect(await decisionAbout(keyOf(user), attach.eventID)).toMatchObject({
        action: 'flag',
        evidence: {
          widens: true,
          change:
            'AttachGroupPolicy: managed policy AdministratorAccess attached to group ops (every member): it allows * on *',
        },
      });
    }
    expect(await decisionAbout(keyOf('bystander'), attach.eventID)).toBeUndefined();
    expect(
      events.slack
        .calls('chat.postMessage')
        .slice(posted)
        .map((c) => c.body.channel)
        .sort(),
    ).toEqual(['UANN', 'UBEN']);
  });

  it('a deny-only inline group policy is recorded on every member and asks nobody', async () => {
    const document = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
    });
    await clients.iam.send(
      new PutGroupPolicyCommand({ GroupName: 'ops', PolicyName: 'DenyAll', PolicyDocument: document }),
    );
    const put = record('PutGroupPolicy', {
      groupName: 'ops',
      policyName: 'DenyAll',
      policyDocument: document,
    });

    expect(await tell(put)).toBe(1);

    for (const user of ['ops-ann', 'ops-ben'])
      expect(await decisionAbout(keyOf(user), put.eventID)).toMatchObject({ action: 'observe' });
  });

  it('a new default version of a policy reaches every user, group member and role it is attached to; one that only adds a condition asks nobody', async () => {
    const widened = await clients.iam.send(
      new CreatePolicyVersionCommand({
        PolicyArn: deployArn,
        PolicyDocument: ALLOW(['s3:GetObject', 'iam:PassRole']),
        SetAsDefault: true,
      }),
    );
    const v2 = widened.PolicyVersion?.VersionId as string;
    const create = record(
      'CreatePolicyVersion',
      { policyArn: deployArn, policyDocument: ALLOW(['s3:GetObject', 'iam:PassRole']), setAsDefault: true },
      { policyVersion: { versionId: v2, isDefaultVersion: true } },
    );

    expect(await tell(create)).toBe(1);

    for (const credential of [keyOf('solo'), roleOf('vendor-etl'), keyOf('ops-ann'), keyOf('ops-ben')]) {
      expect(await decisionAbout(credential, create.eventID), credential).toMatchObject({
        evidence: {
          widens: true,
          change: expect.stringContaining(
            'it allows s3:GetObject, iam:PassRole on * beyond the version it replaced',
          ),
        },
      });
    }
    expect(await store.getState(roleOf('vendor-etl'))).toMatchObject({ status: 'pending' });
    expect(await decisionAbout(keyOf('bystander'), create.eventID)).toBeUndefined();

    const mfa = { Bool: { 'aws:MultiFactorAuthPresent': 'true' } };
    const narrowed = await clients.iam.send(
      new CreatePolicyVersionCommand({
        PolicyArn: deployArn,
        PolicyDocument: ALLOW(['s3:GetObject', 'iam:PassRole'], mfa),
        SetAsDefault: true,
      }),
    );
    const v3 = narrowed.PolicyVersion?.VersionId as string;
    const condition = record(
      'CreatePolicyVersion',
      {
        policyArn: deployArn,
        policyDocument: ALLOW(['s3:GetObject', 'iam:PassRole'], mfa),
        setAsDefault: true,
      },
      { policyVersion: { versionId: v3, isDefaultVersion: true } },
    );
    expect(await tell(condition)).toBe(1);
    expect(await decisionAbout(roleOf('vendor-etl'), condition.eventID)).toMatchObject({
      action: 'observe',
      evidence: { widens: false },
    });

    // Back to the version without the condition: the condition is dropped, which widens.
    await clients.iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: deployArn, VersionId: v2 }));
    const rollback = record('SetDefaultPolicyVersion', { policyArn: deployArn, versionId: v2 });
    expect(await tell(rollback)).toBe(1);
    expect(await decisionAbout(keyOf('solo'), rollback.eventID)).toMatchObject({
      evidence: { widens: true },
    });
  });

  it('a boundary deleted from a role widens; a deny-only boundary put narrows', async () => {
    const boundary = AWS_POLICY('AWSDenyAll');
    await clients.iam.send(
      new PutRolePermissionsBoundaryCommand({ RoleName: 'vendor-etl', PermissionsBoundary: boundary }),
    );
    const put = record('PutRolePermissionsBoundary', {
      roleName: 'vendor-etl',
      permissionsBoundary: boundary,
    });
    await clients.iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: 'vendor-etl' }));
    const deleted = record('DeleteRolePermissionsBoundary', { roleName: 'vendor-etl' });

    expect(await tell(put, deleted)).toBe(2);

    expect(await decisionAbout(roleOf('vendor-etl'), put.eventID)).toMatchObject({
      action: 'observe',
      evidence: { widens: false },
    });
    expect(await decisionAbout(roleOf('vendor-etl'), deleted.eventID)).toMatchObject({
      evidence: {
        widens: true,
        change:
          'DeleteRolePermissionsBoundary: permissions boundary deleted from role vendor-etl: nothing limits its policies now',
      },
    });
  });

  it('a policy that no longer exists counts as a widening and says so', async () => {
    const gone = record('AttachUserPolicy', {
      userName: 'bystander',
      policyArn: `arn:aws:iam::${ACCOUNT}:policy/deleted-since`,
    });

    expect(await tell(gone)).toBe(1);

    expect(await decisionAbout(keyOf('bystander'), gone.eventID)).toMatchObject({
      action: 'flag',
      evidence: {
        change: expect.stringContaining(
          'could not be read (it no longer exists), so it counts as a widening',
        ),
      },
    });
  });

  it('a change that reaches more principals than one delivery records comes back in parts, each credential recorded once however often the event comes', async () => {
    const { Policy } = await clients.iam.send(
      new CreatePolicyCommand({ PolicyName: 'everyone', PolicyDocument: ALLOW(['s3:ListBucket']) }),
    );
    const policyArn = Policy?.Arn as string;
    // Users without keys make the crowd (nothing of theirs to record); the seeded ones have a key each.
    const crowd = Array.from({ length: FAN_OUT_PART_SIZE }, (_, i) => `crowd-${i}`);
    await mapWithConcurrency(crowd, 8, async (name) => {
      await clients.iam.send(new CreateUserCommand({ UserName: name }));
      await clients.iam.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: policyArn }));
    });
    for (const user of ['crowd-lead', 'crowd-second'])
      await clients.iam.send(new AttachUserPolicyCommand({ UserName: user, PolicyArn: policyArn }));
    const wider = ALLOW(['s3:ListBucket', 's3:DeleteObject']);
    const { PolicyVersion } = await clients.iam.send(
      new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: wider, SetAsDefault: true }),
    );
    const create = record(
      'CreatePolicyVersion',
      { policyArn, policyDocument: wider, setAsDefault: true },
      { policyVersion: { versionId: PolicyVersion?.VersionId, isDefaultVersion: true } },
    );
    const reached = [keyOf('crowd-lead'), keyOf('crowd-second')];
    const about = async () =>
      Promise.all(
        reached.map(async (id) =>
          (await store.history(id)).filter((d) => d.evidence.eventId === create.eventID),
        ),
      );

    // 102 principals: the event, then its two parts, each a message of its own. Owners hear of the
    // parts' requests from the next hourly run, in one message each, not once per part.
    const posted = events.slack.calls('chat.postMessage').length;
    expect(await tell(create)).toBe(3);
    expect(events.slack.calls('chat.postMessage')).toHaveLength(posted);
    for (const id of reached) {
      expect(await store.getState(id)).toMatchObject({ status: 'pending', triggers: ['scope-changed'] });
      expect(await store.getState(id)).not.toHaveProperty('notifiedAt');
    }
    expect((await about()).map((decisions) => decisions.map((d) => d.action))).toEqual(
      reached.map(() => ['flag']),
    );

    // SQS delivers the event again: it is split again, and its parts record nothing new.
    await putEvents(clients.events, cloudTrailEntry(create));
    expect(await events.deliver()).toBe(3);
    expect((await about()).map((decisions) => decisions.length)).toEqual(reached.map(() => 1));
  });

  it('read-only calls and failed ones reach nobody: the rules do not match reads', async () => {
    const read = { ...record('GetPolicy', { policyArn: deployArn }), readOnly: true };
    expect(await tell(read)).toBe(0);
  });
});
