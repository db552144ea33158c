import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DetachRolePolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  PutRolePermissionsBoundaryCommand,
} from '@aws-sdk/client-iam';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createIamClient } from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { assumeMemberRole, memberEnforcer } from '../../lambdas/shared/adapters/member-account';
import { reauthPolicies } from '../../lambdas/shared/adapters/session-policies';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import type { ServiceUsage } from '../../lambdas/shared/domain/service-usage';
import type { UsageSummary } from '../../lambdas/shared/domain/usage-summary';
import { recordRightSizeDrift } from '../../lambdas/shared/use-cases/right-size';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { type LocalStack, startLocalStack } from '../../scripts/local/local-stack';
import { buttonClickBody, drainQueue, slackEvent } from '../../scripts/local/slack-play';
import { emulatorDaysAgo, useEmulator } from '../support/emulator';
import { testEnforcer } from '../support/enforcer';
import { FORTY_SERVICES, seedThreeUses } from '../support/forty-services';
import { coldStart } from '../support/lambda';

/**
 * *Still needed, only what it uses* (issue #25), the whole loop on the emulator through the real
 * Slack endpoint and worker: a role granted 40 services that used 3 is narrowed by its owner's click,
 * IAM's evaluation (iam-simulate over the policies read back from IAM) allows exactly those 3, *Widen*
 * gives back the original (a team's boundary untouched throughout), a deny detached outside reauth is
 * drift, and report mode changes nothing. In enforce mode what it used is read at the click, from the
 * emulator's service last-accessed data (seeded at its clock), not from the request's summary.
 */

const { emulator, clients } = useEmulator();
const ACCOUNT = '123456789012';
const TABLE = 'right-size-under-test';
const DAY = 86_400_000;
const store = createDecisionStore(clients.documents, TABLE);
const idOf = (role: string) => `${ACCOUNT}:role:${role}`;

const TEAM_GRANTS = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: FORTY_SERVICES.map((s) => `${s}:*`), Resource: '*' }],
};
const TEAM_BOUNDARY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:*', 'sqs:*', 'kms:*', 'ec2:*'], Resource: '*' }],
};
const TRUST = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999988887777:root' }, Action: 'sts:AssumeRole' },
  ],
};

let local: LocalStack;
let fake: FakeSlack;
let teamGrantsArn: string;
let teamBoundaryArn: string;
let endpoint: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let worker: (event: SQSEvent) => Promise<SQSBatchResponse>;

function usageOf(roleArn: string, now = new Date()): ServiceUsage {
  const ago = (days: number) => new Date(now.getTime() - days * DAY).toISOString();
  return {
    principalArn: roleArn,
    granted: FORTY_SERVICES,
    used: [
      { service: 's3', lastAccessed: ago(3) },
      { service: 'sqs', lastAccessed: ago(20) },
      { service: 'kms', lastAccessed: ago(50) },
    ],
    readAt: ago(0),
    trackedSince: ago(400),
    windowDays: 90,
  };
}

/** What the scan keeps on the request's state (issue #25's other half): counts and the used names. */
function summaryOf(usage: ServiceUsage): UsageSummary {
  const used = usage.used.map((u) => u.service);
  return {
    principalArn: usage.principalArn,
    grantedCount: usage.granted.length,
    usedCount: used.length,
    used,
    unused: usage.granted.filter((s) => !used.includes(s)).slice(0, 20),
    windowDays: usage.windowDays,
    readAt: usage.readAt,
    trackedSince: usage.trackedSince,
  };
}

/** Runs `act` with the emulator's clock `days` before now: what it creates or uses is dated then. */
const daysAgo = <T>(days: number, act: () => Promise<T>) => emulatorDaysAgo(emulator, days, act);

/**
 * A role trusted by a vendor, made 200 days ago (so its data covers the window), granted 40 services,
 * with the team's boundary or none, that used s3, sqs and kms; and its open request, whose state holds
 * the scan's summary of those uses (or none).
 */
async function roleAsked(
  name: string,
  options: { boundary?: boolean; createdDaysAgo?: number; summary?: boolean; uses?: boolean } = {},
): Promise<string> {
  const { Role } = await daysAgo(options.createdDaysAgo ?? 200, () =>
    clients.iam.send(
      new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(TRUST) }),
    ),
  );
  const arn = Role?.Arn as string;
  await clients.iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: teamGrantsArn }));
  if (options.boundary)
    await clients.iam.send(
      new PutRolePermissionsBoundaryCommand({ RoleName: name, PermissionsBoundary: teamBoundaryArn }),
    );
  if (options.uses !== false) await seedThreeUses(emulator, arn);
  const at = new Date();
  const about = {
    credentialId: idOf(name),
    accountId: ACCOUNT,
    kind: 'role',
    principal: name,
    owner: 'UALICE',
  } as const;
  await store.transition(idOf(name), () => ({
    state: {
      ...about,
      status: 'pending',
      triggers: ['idle'],
      tier: 'standard',
      requestSeq: 1,
      requestedAt: at.toISOString(),
      deadlineAt: new Date(at.getTime() + 14 * DAY).toISOString(),
      why: 'trusted by 999988887777, unused for 120 days',
      ...(options.summary !== false && { serviceUsage: summaryOf(usageOf(arn, at)) }),
    },
    decision: {
      ...about,
      action: 'flag',
      reason: 'unused for 120 days',
      actor: 'system:scan',
      at: at.toISOString(),
      mode: 'enforce',
      policyId: 'test',
      evidence: {},
    },
  }));
  return arn;
}

async function click(actionId: string, role: string, seq: number, reply: string): Promise<number> {
  const answer = await endpoint(
    slackEvent(
      buttonClickBody({
        userId: 'UALICE',
        actionId,
        value: `${idOf(role)}|${seq}`,
        responseUrl: fake.responseUrl(reply),
      }),
      { signingSecret: local.signingSecret, at: new Date() },
    ),
  );
  expect(answer.statusCode).toBe(200);
  return drainQueue(clients.sqs, local.queueUrl, worker);
}

const attached = async (role: string) =>
  ((await clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role }))).AttachedPolicies ?? [])
    .map((p) => p.PolicyArn as string)
    .sort();
const boundaryOf = async (role: string) =>
  (await clients.iam.send(new GetRoleCommand({ RoleName: role }))).Role?.PermissionsBoundary
    ?.PermissionsBoundaryArn;

async function documentOf(policyArn: string): Promise<object> {
  const { Policy } = await clients.iam.send(new GetPolicyCommand({ PolicyArn: policyArn }));
  const { PolicyVersion } = await clients.iam.send(
    new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: Policy?.DefaultVersionId }),
  );
  const text = PolicyVersion?.Document as string;
  return JSON.parse(text.startsWith('{') ? text : decodeURIComponent(text));
}

/** What IAM would answer the role, from the policies and boundary IAM holds for it now. */
async function mayDo(role: string, roleArn: string, action: string, resource = '*'): Promise<boolean> {
  const identityPolicies = await Promise.all(
    (await attached(role)).map(async (arn) => ({ name: arn, policy: await documentOf(arn) })),
  );
  const boundary = await boundaryOf(role);
  const result = await runSimulation(
    {
      identityPolicies,
      ...(boundary && {
        permissionBoundaryPolicies: [{ name: boundary, policy: await documentOf(boundary) }],
      }),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action,
        principal: roleArn,
        resource: { accountId: ACCOUNT, resource },
        contextVariables: {},
      },
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`${action}: ${JSON.stringify(result.errors)}`);
  return result.overallResult === 'Allowed';
}

const state = async (role: string) => (await store.getState(idOf(role))) as CredentialState;
const replies = (name: string) => fake.calls(`response:${name}`).map((c) => c.body.text as string);

beforeAll(async () => {
  const grants = await clients.iam.send(
    new CreatePolicyCommand({ PolicyName: 'team-grants', PolicyDocument: JSON.stringify(TEAM_GRANTS) }),
  );
  const boundary = await clients.iam.send(
    new CreatePolicyCommand({ PolicyName: 'team-boundary', PolicyDocument: JSON.stringify(TEAM_BOUNDARY) }),
  );
  teamGrantsArn = grants.Policy?.Arn as string;
  teamBoundaryArn = boundary.Policy?.Arn as string;
  local = await startLocalStack(clients, { table: TABLE, policy: { mode: 'enforce' } });
  fake = local.slack;
  const env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  endpoint = await coldStart('../../lambdas/slack/handler', env);
  worker = await coldStart('../../lambdas/slack-worker/handler', env);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fake.close();
});

describe('Still needed, only what it uses, in enforce mode', () => {
  it('narrows a role granted 40 services that used 3 to exactly those 3, as IAM evaluates it', async () => {
    const arn = await roleAsked('app-worker');
    expect(await mayDo('app-worker', arn, 'ec2:DescribeInstances')).toBe(true);

    expect(await click('reauth:right-size', 'app-worker', 1, 'narrow')).toBe(1);

    const narrowed = await state('app-worker');
    expect(narrowed).toMatchObject({ status: 'active', rightSize: { principalArn: arn, boundary: null } });
    expect(narrowed.rightSize?.kept).toEqual(['kms:*', 's3:*', 'sqs:*']);
    const policyArn = narrowed.rightSize?.policyArn as string;
    expect(policyArn).toMatch(
      /^arn:aws:iam::123456789012:policy\/reauth\/right-size\/reauth-right-size-[0-9a-f]{24}$/,
    );
    expect(await attached('app-worker')).toEqual([policyArn, teamGrantsArn].sort());
    expect(await boundaryOf('app-worker')).toBeUndefined();
    for (const [action, resource] of [
      ['s3:GetObject', 'arn:aws:s3:::app-data/x.csv'],
      ['sqs:SendMessage', `arn:aws:sqs:us-east-1:${ACCOUNT}:jobs`],
      ['kms:ListKeys', '*'],
      ['sts:GetCallerIdentity', '*'],
    ] as const)
      expect(await mayDo('app-worker', arn, action, resource), action).toBe(true);
    for (const action of ['ec2:DescribeInstances', 'dynamodb:ListTables', 'organizations:ListAccounts'])
      expect(await mayDo('app-worker', arn, action), action).toBe(false);

    const decision = (await store.history(idOf('app-worker'))).at(-1);
    expect(decision).toMatchObject({
      action: 'right-size',
      actor: 'slack:UALICE',
      mode: 'enforce',
      evidence: {
        rightSize: {
          kept: ['kms:*', 's3:*', 'sqs:*'],
          usedServices: ['s3', 'sqs', 'kms'],
          before: { boundary: null, rightSizePolicy: null },
          after: { boundary: null, rightSizePolicy: policyArn },
          windowDays: 90,
          granted: 40,
        },
      },
    });
    expect(decision?.evidence.controls).toEqual(
      expect.arrayContaining([
        'NIST CSF 2.0 PR.AA-05',
        'CIS AWS Foundations v3.0.0 1.16',
        'ISO/IEC 27001:2022 A.8.2',
      ]),
    );
    // The answered message offers Widen, carrying the right-size's seq.
    const updated = fake.calls('response:narrow').at(-1)?.body;
    expect(JSON.stringify(updated)).toContain(`"action_id":"reauth:widen"`);
    expect(JSON.stringify(updated)).toContain(`${idOf('app-worker')}|${narrowed.rightSize?.seq}`);
  });

  it('gives back exactly the original on Widen', async () => {
    const arn = (await clients.iam.send(new GetRoleCommand({ RoleName: 'app-worker' }))).Role?.Arn as string;
    const seq = (await state('app-worker')).rightSize?.seq as number;

    expect(await click('reauth:widen', 'app-worker', seq, 'widen')).toBe(1);

    expect(await attached('app-worker')).toEqual([teamGrantsArn]);
    expect(await boundaryOf('app-worker')).toBeUndefined();
    expect(await mayDo('app-worker', arn, 'ec2:DescribeInstances')).toBe(true);
    const widened = await state('app-worker');
    expect(widened.status).toBe('active');
    expect(widened.rightSize).toBeUndefined();
    expect((await store.history(idOf('app-worker'))).at(-1)).toMatchObject({
      action: 'widen',
      evidence: { rightSize: { kept: ['kms:*', 's3:*', 'sqs:*'] } },
    });
    // A second Widen on the same message: nothing left to widen, nothing recorded.
    await click('reauth:widen', 'app-worker', seq, 'widen-again');
    expect(replies('widen-again').join(' ')).toMatch(/nothing to widen/);
    expect((await store.history(idOf('app-worker'))).at(-1)?.action).toBe('widen');
  });

  it('keeps a team’s boundary where it is: the narrowing is its intersection, and Widen leaves the boundary as it was', async () => {
    const arn = await roleAsked('bounded-worker', { boundary: true });
    expect(await mayDo('bounded-worker', arn, 'ec2:DescribeInstances')).toBe(true);
    expect(await mayDo('bounded-worker', arn, 'dynamodb:ListTables')).toBe(false);

    await click('reauth:right-size', 'bounded-worker', 1, 'bounded');

    const narrowed = await state('bounded-worker');
    expect(narrowed.rightSize?.boundary).toBe(teamBoundaryArn);
    expect(await boundaryOf('bounded-worker')).toBe(teamBoundaryArn);
    expect(await mayDo('bounded-worker', arn, 's3:ListAllMyBuckets')).toBe(true);
    // ec2: inside the boundary, outside what is kept; dynamodb: outside both.
    expect(await mayDo('bounded-worker', arn, 'ec2:DescribeInstances')).toBe(false);
    expect(await mayDo('bounded-worker', arn, 'dynamodb:ListTables')).toBe(false);
    expect((await store.history(idOf('bounded-worker'))).at(-1)?.evidence.rightSize).toMatchObject({
      before: { boundary: teamBoundaryArn },
      after: { boundary: teamBoundaryArn },
    });

    await click('reauth:widen', 'bounded-worker', narrowed.rightSize?.seq as number, 'bounded-widen');
    expect(await boundaryOf('bounded-worker')).toBe(teamBoundaryArn);
    expect(await attached('bounded-worker')).toEqual([teamGrantsArn]);
    expect(await mayDo('bounded-worker', arn, 'ec2:DescribeInstances')).toBe(true);
  });

  it('records a deny detached outside reauth as drift, and asks the owner again', async () => {
    await roleAsked('drifting-worker');
    await click('reauth:right-size', 'drifting-worker', 1, 'drifting');
    const narrowed = await state('drifting-worker');
    const policy = parsePolicyConfig({ mode: 'enforce' });
    const context = {
      now: new Date(),
      policyId: policyIdOf(policy),
      mode: 'enforce' as const,
      actor: 'system:enforce',
    };
    const deps = { store, enforcer: testEnforcer(clients) };

    // Still attached: no drift.
    expect(await recordRightSizeDrift(deps, [narrowed], { policy, context })).toEqual([]);
    await clients.iam.send(
      new DetachRolePolicyCommand({ RoleName: 'drifting-worker', PolicyArn: narrowed.rightSize?.policyArn }),
    );
    expect(await recordRightSizeDrift(deps, [narrowed], { policy, context })).toEqual([
      idOf('drifting-worker'),
    ]);

    const drifted = await state('drifting-worker');
    expect(drifted).toMatchObject({ status: 'pending', triggers: expect.arrayContaining(['drift']) });
    expect(drifted.rightSize).toBeUndefined();
    expect((await store.history(idOf('drifting-worker'))).at(-1)).toMatchObject({
      action: 'drift',
      evidence: { rightSizeRemoved: { policyArn: narrowed.rightSize?.policyArn } },
    });
    // reauth does not narrow it again by itself.
    expect(await attached('drifting-worker')).toEqual([teamGrantsArn]);
  });

  it('narrows an access key’s user the same way, and Widen gives it back', async () => {
    const { User } = await daysAgo(200, () =>
      clients.iam.send(new CreateUserCommand({ UserName: 'ci-deployer' })),
    );
    await seedThreeUses(emulator, User?.Arn as string);
    await clients.iam.send(
      new AttachUserPolicyCommand({ UserName: 'ci-deployer', PolicyArn: teamGrantsArn }),
    );
    const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: 'ci-deployer' }));
    const id = `${ACCOUNT}:access-key:${AccessKey?.AccessKeyId}`;
    const about = {
      credentialId: id,
      accountId: ACCOUNT,
      kind: 'access-key',
      principal: 'ci-deployer',
      owner: 'UALICE',
    } as const;
    const at = new Date();
    await store.transition(id, () => ({
      state: {
        ...about,
        status: 'pending',
        triggers: ['max-age'],
        requestSeq: 1,
        deadlineAt: new Date(at.getTime() + 14 * DAY).toISOString(),
        serviceUsage: summaryOf(usageOf(User?.Arn as string, at)),
      },
      decision: {
        ...about,
        action: 'flag',
        reason: 'old',
        actor: 'system:scan',
        at: at.toISOString(),
        mode: 'enforce',
        policyId: 'test',
        evidence: {},
      },
    }));
    const userPolicies = async () =>
      (
        (await clients.iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'ci-deployer' })))
          .AttachedPolicies ?? []
      )
        .map((p) => p.PolicyArn as string)
        .sort();
    const clickKey = async (actionId: string, seq: number, reply: string) => {
      const answer = await endpoint(
        slackEvent(
          buttonClickBody({
            userId: 'UALICE',
            actionId,
            value: `${id}|${seq}`,
            responseUrl: fake.responseUrl(reply),
          }),
          { signingSecret: local.signingSecret, at: new Date() },
        ),
      );
      expect(answer.statusCode).toBe(200);
      return drainQueue(clients.sqs, local.queueUrl, worker);
    };

    await clickKey('reauth:right-size', 1, 'key');
    const narrowed = (await store.getState(id)) as CredentialState;
    expect(narrowed).toMatchObject({
      status: 'active',
      rightSize: { principalArn: User?.Arn, boundary: null },
    });
    expect(await userPolicies()).toEqual([narrowed.rightSize?.policyArn, teamGrantsArn].sort());

    await clickKey('reauth:widen', narrowed.rightSize?.seq as number, 'key-widen');
    expect(await userPolicies()).toEqual([teamGrantsArn]);
    expect((await store.getState(id))?.rightSize).toBeUndefined();
  });

  it('narrows a service last used more than 7 days ago to the actions IAM saw, read at the click', async () => {
    // The request's summary says s3, sqs and kms; IAM says, now, s3's GetObject 20 days ago and sqs 2 days ago.
    const arn = await roleAsked('reading-worker', { uses: false });
    await daysAgo(20, () => emulator.seedServiceUsage({ arn, service: 's3', actions: ['GetObject'] }));
    await daysAgo(2, () => emulator.seedServiceUsage({ arn, service: 'sqs' }));

    await click('reauth:right-size', 'reading-worker', 1, 'reading');

    const narrowed = await state('reading-worker');
    expect(narrowed.rightSize?.kept).toEqual(['s3:GetObject', 'sqs:*']);
    const document = (await documentOf(narrowed.rightSize?.policyArn as string)) as {
      Statement: { NotAction: string[] }[];
    };
    expect(document.Statement[0]?.NotAction).toContain('s3:GetObject');
    expect(document.Statement[0]?.NotAction).not.toContain('s3:*');
    const object = 'arn:aws:s3:::app-data/x.csv';
    expect(await mayDo('reading-worker', arn, 's3:GetObject', object)).toBe(true);
    expect(await mayDo('reading-worker', arn, 's3:PutObject', object)).toBe(false);
    // Used within the 7-day floor: kept whole.
    expect(
      await mayDo('reading-worker', arn, 'sqs:DeleteQueue', `arn:aws:sqs:us-east-1:${ACCOUNT}:jobs`),
    ).toBe(true);
    expect(await mayDo('reading-worker', arn, 'kms:ListKeys')).toBe(false);
    expect((await store.history(idOf('reading-worker'))).at(-1)?.evidence.rightSize).toMatchObject({
      kept: ['s3:GetObject', 'sqs:*'],
      usedServices: ['sqs', 's3'],
    });
  });

  it('keeps a service first used after the request was opened, which the request’s summary lacks', async () => {
    const arn = await roleAsked('growing-worker');
    // Between the scan's read for the request and the owner's click.
    await emulator.seedServiceUsage({ arn, service: 'dynamodb' });
    expect((await state('growing-worker')).serviceUsage?.used).not.toContain('dynamodb');

    await click('reauth:right-size', 'growing-worker', 1, 'growing');

    expect((await state('growing-worker')).rightSize?.kept).toEqual(['dynamodb:*', 'kms:*', 's3:*', 'sqs:*']);
    expect(await mayDo('growing-worker', arn, 'dynamodb:ListTables')).toBe(true);
    expect(await mayDo('growing-worker', arn, 'ec2:DescribeInstances')).toBe(false);
  });

  it('narrows a request whose state holds no usage summary (past the run’s cap, or opened by an event)', async () => {
    const arn = await roleAsked('unread-worker', { summary: false });
    expect((await state('unread-worker')).serviceUsage).toBeUndefined();

    await click('reauth:right-size', 'unread-worker', 1, 'unread');

    const narrowed = await state('unread-worker');
    expect(narrowed.status).toBe('active');
    expect(narrowed.rightSize?.kept).toEqual(['kms:*', 's3:*', 'sqs:*']);
    expect(await mayDo('unread-worker', arn, 'ec2:DescribeInstances')).toBe(false);
  });

  it('leaves the principal untouched and tells its owner when IAM’s job fails; the request stays open', async () => {
    const arn = await roleAsked('failing-worker');
    await emulator.seedServiceUsage({ arn, failJobs: true });
    const recorded = (await store.history(idOf('failing-worker'))).length;

    await click('reauth:right-size', 'failing-worker', 1, 'failing');

    expect(replies('failing').join(' ')).toMatch(
      /failing-worker was not narrowed: reauth could not read what it uses now: IAM's service last-accessed job for .*failing-worker failed: ServiceFailure.*The request stays open/,
    );
    expect(await attached('failing-worker')).toEqual([teamGrantsArn]);
    expect(await mayDo('failing-worker', arn, 'ec2:DescribeInstances')).toBe(true);
    const after = await state('failing-worker');
    expect(after.status).toBe('pending');
    expect(after.rightSize).toBeUndefined();
    expect(await store.history(idOf('failing-worker'))).toHaveLength(recorded);
  });

  it('refuses a role whose usage data is younger than the window, changing nothing', async () => {
    await roleAsked('young-worker', { createdDaysAgo: 10 });
    await click('reauth:right-size', 'young-worker', 1, 'young');
    expect(replies('young').join(' ')).toMatch(
      /was not narrowed: its usage data starts .* less than the 90-day window ago/,
    );
    expect(await attached('young-worker')).toEqual([teamGrantsArn]);
    expect((await state('young-worker')).status).toBe('pending');
  });
});

describe('what a click reads', () => {
  const target = (role: string) => ({ kind: 'role' as const, id: role, principal: role });
  const options = () => ({ windowDays: 90, now: new Date() });

  it('costs one GetRole, one job and its reads, a new job each click, through the enforcer that narrows', async () => {
    const arn = await roleAsked('counted-worker');
    const iam = createIamClient();
    const calls: string[] = [];
    iam.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(context.commandName as string);
        return next(args);
      },
      { step: 'initialize' },
    );
    const enforcer = testEnforcer({ iam, secretsManager: clients.secretsManager });

    const usage = await enforcer.serviceUsage(target('counted-worker'), options());

    expect(usage).toMatchObject({ principalArn: arn, windowDays: 90, granted: FORTY_SERVICES.toSorted() });
    expect('used' in usage && usage.used.map((u) => u.service)).toEqual(['s3', 'sqs', 'kms']);
    // The emulator's job is IN_PROGRESS at its first read: one poll more.
    expect(calls).toEqual([
      'GetRoleCommand',
      'GenerateServiceLastAccessedDetailsCommand',
      'GetServiceLastAccessedDetailsCommand',
      'GetServiceLastAccessedDetailsCommand',
    ]);
    calls.length = 0;
    await enforcer.serviceUsage(target('counted-worker'), options());
    expect(calls.filter((c) => c === 'GenerateServiceLastAccessedDetailsCommand')).toHaveLength(1);
    expect(await enforcer.serviceUsage(target('no-such-worker'), options())).toEqual({
      unavailable: 'role no-such-worker no longer exists',
    });
    // A job still running when the click's wait is up (the worker's invocation has too little left).
    expect(await enforcer.serviceUsage(target('counted-worker'), { ...options(), maxWaitMs: 0 })).toEqual({
      unavailable: `IAM's service last-accessed job for ${arn} was not done after 0 s`,
    });
  });

  it("reads a member account's role through its enforcer role (org mode), not the hub's", async () => {
    const MEMBER = '210987654321';
    const member = await assumeMemberRole(clients.sts, {
      accountId: MEMBER,
      roleName: 'reauth-enforcer',
      job: 'test',
      runId: 'read',
    });
    const { Role } = await daysAgo(200, () =>
      member.iam.send(
        new CreateRoleCommand({ RoleName: 'member-worker', AssumeRolePolicyDocument: JSON.stringify(TRUST) }),
      ),
    );
    await daysAgo(30, () => emulator.seedServiceUsage({ arn: Role?.Arn as string, service: 'kms' }));
    const enforcer = memberEnforcer(
      clients.sts,
      { accountId: MEMBER, roleName: 'reauth-enforcer', job: 'slack', runId: 'read' },
      reauthPolicies(MEMBER, async () => 'unused'),
    );

    const usage = await enforcer.serviceUsage(target('member-worker'), options());

    expect(usage).toMatchObject({ principalArn: `arn:aws:iam::${MEMBER}:role/member-worker` });
    expect(await testEnforcer(clients).serviceUsage(target('member-worker'), options())).toEqual({
      unavailable: 'role member-worker no longer exists',
    });
  });
});

describe('Still needed, only what it uses, in report mode', () => {
  it('records the choice and suggests the change to the security channel, changing nothing in IAM', async () => {
    const arn = await roleAsked('reported-worker');
    const env = {
      ...local.env,
      POLICY_FILE: local.writePolicy({ mode: 'report' }),
      POWERTOOLS_LOG_LEVEL: 'CRITICAL',
    };
    endpoint = await coldStart('../../lambdas/slack/handler', env);
    worker = await coldStart('../../lambdas/slack-worker/handler', env);
    const posted = fake.calls('chat.postMessage').length;

    expect(await click('reauth:right-size', 'reported-worker', 1, 'reported')).toBe(1);

    expect(await attached('reported-worker')).toEqual([teamGrantsArn]);
    expect(await mayDo('reported-worker', arn, 'ec2:DescribeInstances')).toBe(true);
    const recorded = await state('reported-worker');
    expect(recorded.status).toBe('active');
    expect(recorded.rightSize).toBeUndefined();
    expect((await store.history(idOf('reported-worker'))).at(-1)).toMatchObject({
      action: 'right-size',
      mode: 'report',
      evidence: {
        rightSize: { suggested: true, kept: ['kms:*', 's3:*', 'sqs:*'], after: { rightSizePolicy: null } },
      },
    });
    const suggestion = fake
      .calls('chat.postMessage')
      .slice(posted)
      .find((c) => c.body.channel === '#security');
    expect(suggestion?.body.text).toMatch(
      /Still needed, only what it uses.*report mode and changed nothing/s,
    );
    expect(suggestion?.body.text).toContain('"NotAction"');
    // From the request's summary (report mode reads nothing at the click), dated.
    expect(suggestion?.body.text).toContain(`read ${recorded.serviceUsage?.readAt.slice(0, 10)}`);
  });
});
