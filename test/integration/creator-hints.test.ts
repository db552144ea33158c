import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { CreateAccountCommand, CreateOrganizationCommand } from '@aws-sdk/client-organizations';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import {
  type AssumedCredentials,
  createIamClient,
  createOrganizationsClient,
  createSecretsManagerClient,
} from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { captureOutput } from '../support/cli-output';
import { creatorCase, creatorRecordOf } from '../support/creator-records';
import { useEmulator } from '../support/emulator';
import {
  cloudTrailEntry,
  putEvents,
  startTrustEventConsumer,
  type TrustEventConsumer,
} from '../support/trust-event-rules';

const { emulator, clients } = useEmulator();
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

/** Credentials of `role` in `account`, assumed with the emulator's own, under the session `name`. */
async function sessionIn(account: string, role: string, name: string): Promise<AssumedCredentials> {
  const { Credentials } = await clients.sts.send(
    new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/${role}`, RoleSessionName: name }),
  );
  return {
    accessKeyId: Credentials?.AccessKeyId as string,
    secretAccessKey: Credentials?.SecretAccessKey as string,
    sessionToken: Credentials?.SessionToken as string,
  };
}

describe('reauth owners backfill', () => {
  const BACKFILL_TABLE = 'creators-backfill-under-test';
  const backfilled = createDecisionStore(clients.documents, BACKFILL_TABLE);
  const SSO_ROLE = 'AWSReservedSSO_PowerUserAccess_0123456789abcdef';
  const TRUST = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
    ],
  });
  let config: string;
  let keyId: string;

  const session = (role: string, name: string) => sessionIn(ACCOUNT, role, name);

  beforeAll(async () => {
    await emulator.reset(); // the history holds only what this part creates
    config = join(mkdtempSync(join(tmpdir(), 'reauth-backfill-')), 'policy.json');
    writeFileSync(config, JSON.stringify({ owners: { byCreatorRole: { 'deploy-pipeline': 'U0PLATFORM' } } }));
    for (const role of [SSO_ROLE, 'deploy-pipeline', 'nightly-job'])
      await clients.iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: TRUST }));
    // 120 days ago: beyond CloudTrail's history, never read.
    await emulator.freeze(new Date(Date.now() - 120 * 86_400_000));
    await createIamClient(await session(SSO_ROLE, 'old@example.com')).send(
      new CreateUserCommand({ UserName: 'legacy' }),
    );
    // 30 days ago: an Identity Center session creates a user and its key, a pipeline a role and a secret.
    await emulator.freeze(new Date(Date.now() - 30 * 86_400_000));
    const alice = createIamClient(await session(SSO_ROLE, 'alice@example.com'));
    await alice.send(new CreateUserCommand({ UserName: 'svc-reports' }));
    const { AccessKey } = await alice.send(new CreateAccessKeyCommand({ UserName: 'svc-reports' }));
    keyId = AccessKey?.AccessKeyId as string;
    const pipeline = await session('deploy-pipeline', 'run-42');
    await createIamClient(pipeline).send(
      new CreateRoleCommand({ RoleName: 'reports-app', AssumeRolePolicyDocument: TRUST }),
    );
    await createSecretsManagerClient(pipeline).send(
      new CreateSecretCommand({ Name: 'reports/db', SecretString: 'not-for-the-record' }),
    );
    await createIamClient(await session('nightly-job', 'cron')).send(
      new CreateUserCommand({ UserName: 'svc-nightly' }),
    );
    await emulator.unfreeze();
  });

  afterEach(() => vi.restoreAllMocks());
  afterAll(() => emulator.unfreeze());

  const backfill = (...flags: string[]) =>
    main(['owners', 'backfill', '--config', config, '--table', BACKFILL_TABLE, ...flags]);

  it('--dry-run counts what it would remember and remembers nothing', async () => {
    const out = captureOutput();
    expect(await backfill('--dry-run', '--json')).toBe(0);
    const report = JSON.parse(out.join('\n'));
    expect(report.dryRun).toBe(true);
    expect(report.byEvent.CreateUser).toEqual({ read: 2, hints: 1, none: 1 });
    expect((await backfilled.loadAccount(ACCOUNT)).creators.size).toBe(0);
  });

  it('remembers the creators of the last 90 days: people, and the pipelines the policy maps', async () => {
    const out = captureOutput();
    expect(await backfill()).toBe(0);
    expect(out.join('\n')).toContain('4 creator hints remembered');
    const { creators } = await backfilled.loadAccount(ACCOUNT);
    const owners = Object.fromEntries([...creators].map(([subject, hint]) => [subject, hint.owner]));
    expect(owners).toEqual({
      'user/svc-reports': 'alice@example.com',
      [`access-key/${keyId}`]: 'alice@example.com',
      'role/reports-app': 'U0PLATFORM',
      'secret/reports/db': 'U0PLATFORM',
    });
    // The three roles made with the emulator's own credentials are root's: nobody's.
    expect(out.join('\n')).toMatch(/3 × the root user is no person reauth can ask/);
    expect(out.join('\n')).toMatch(/1 × role nightly-job is not a person/);
  });

  it('run again, changes nothing: a creator already known is kept', async () => {
    const before = (await backfilled.loadAccount(ACCOUNT)).creators;
    captureOutput();
    expect(await backfill('--days', '45')).toBe(0);
    expect((await backfilled.loadAccount(ACCOUNT)).creators).toEqual(before);
  });

  it('refuses more days than CloudTrail keeps', async () => {
    captureOutput();
    expect(await backfill('--days', '91')).toBe(2);
  });
});

describe('reauth owners backfill --organization', () => {
  const ORG_TABLE = 'creators-org-backfill-under-test';
  const backfilled = createDecisionStore(clients.documents, ORG_TABLE);
  const SSO_ROLE = 'AWSReservedSSO_Admin_0123456789abcdef';
  let config: string;
  let member: string;
  let unreachable: string;

  beforeAll(async () => {
    await emulator.reset();
    config = join(mkdtempSync(join(tmpdir(), 'reauth-org-backfill-')), 'policy.json');
    writeFileSync(config, JSON.stringify({}));
    const organizations = createOrganizationsClient();
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const account = async (name: string) =>
      (
        await organizations.send(
          new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
        )
      ).CreateAccountStatus?.AccountId as string;
    member = await account('payments');
    unreachable = await account('sandbox');
    // In the member, an Identity Center session of bob's creates a user.
    const admin = createIamClient(await sessionIn(member, 'OrganizationAccountAccessRole', 'setup'));
    await admin.send(
      new CreateRoleCommand({
        RoleName: SSO_ROLE,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${member}:root` }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    await createIamClient(await sessionIn(member, SSO_ROLE, 'bob@example.com')).send(
      new CreateUserCommand({ UserName: 'svc-payments' }),
    );
  });

  afterEach(() => vi.restoreAllMocks());

  it("reads every active account's history through --role, says which it could not, and exits 1", async () => {
    // The sandbox account has no such role: STS refuses, as AWS does.
    const send = STSClient.prototype.send;
    vi.spyOn(STSClient.prototype, 'send').mockImplementation(function (this: STSClient, command: unknown) {
      if (command instanceof AssumeRoleCommand && command.input.RoleArn?.includes(`::${unreachable}:`))
        return Promise.reject(
          Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' }),
        );
      return (send as (c: unknown) => Promise<unknown>).call(this, command);
    } as typeof send);
    const out = captureOutput();
    const code = await main([
      'owners',
      'backfill',
      '--organization',
      '--config',
      config,
      '--table',
      ORG_TABLE,
      '--json',
    ]);
    expect(code).toBe(1);
    const results = JSON.parse(out.join('\n')) as Array<{ accountId: string; failed?: string }>;
    expect(results.map((r) => r.accountId).sort()).toEqual([ACCOUNT, member, unreachable].sort());
    expect(results.find((r) => r.accountId === unreachable)?.failed).toMatch(
      new RegExp(`cannot assume the role OrganizationAccountAccessRole in account ${unreachable}`),
    );
    const { creators } = await backfilled.loadAccount(member);
    expect(Object.fromEntries([...creators].map(([subject, hint]) => [subject, hint.owner]))).toEqual({
      'user/svc-payments': 'bob@example.com',
    });
  });
});
