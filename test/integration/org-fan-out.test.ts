import { CreateRoleCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OrgSummary } from '../../lambdas/org-summary/handler';
import { createOrganizationsClient } from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { PolicyConfigInput } from '../../lambdas/shared/domain/policy';
import type { Execution } from '../../scripts/emulator/state-machines';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { runFanOut } from '../../scripts/local/org-fan-out';
import { VENDOR_ACCOUNT } from '../../scripts/local/seed';
import {
  HUB_ACCOUNT,
  idleKey,
  memberClients,
  type SeededOrganization,
  seedOrganization,
} from '../../scripts/local/seed-organization';
import { useEmulator } from '../support/emulator';
import { travelTo } from '../support/lambda';
import { captureMetrics } from '../support/metrics-output';

const { emulator, clients } = useEmulator();
const metrics = captureMetrics();
const TABLE = 'org-fan-out-under-test';
const DAY = 86_400_000;
const START = new Date();

let org: SeededOrganization;
let fake: FakeSlack;
let slack: { secretArn: string; apiBaseUrl: string };
let policy: PolicyConfigInput;
let scan: Execution;

const id = (name: string) => org.accounts.get(name)?.accountId as string;
const summaryOf = (execution: Execution) => execution.output as OrgSummary;
/** The principals of `name`'s credentials in the hub's table. */
const principals = async (name: string) =>
  [...(await createDecisionStore(clients.documents, TABLE).loadStates(id(name))).values()]
    .map((state) => state.principal)
    .sort();

async function keyStatus(account: string, user: string): Promise<string | undefined> {
  const { iam } = await memberClients(id(account));
  const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName: user }));
  return AccessKeyMetadata?.[0]?.Status;
}

/** An idle role in `account` (created 200 days ago, never used) that `trusted` may assume. */
async function crossAccountRole(account: string, name: string, trusted: string): Promise<void> {
  const { iam } = await memberClients(id(account));
  await emulator.freeze(new Date(START.getTime() - 200 * DAY));
  try {
    await iam.send(
      new CreateRoleCommand({
        RoleName: name,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${trusted}:root` }, Action: 'sts:AssumeRole' },
          ],
        }),
        // The plain `owner` tag: a `reauth:*` tag would bring the role into scope whoever it trusts.
        Tags: [{ Key: 'owner', Value: 'UCAROL' }],
      }),
    );
  } finally {
    await emulator.unfreeze();
  }
}

/** The hub synthesized from `policy`, its `job` state machine run on the emulated organization. */
const fanOut = (
  job: 'scan' | 'enforce',
  hubPolicy: PolicyConfigInput,
  options: { slack?: typeof slack; env?: Record<string, string>; summary?: string } = {},
) =>
  runFanOut({
    emulator,
    job,
    policy: hubPolicy,
    organizationId: org.organizationId,
    organizationRootId: org.rootId,
    table: TABLE,
    slack: options.slack,
    env: { POWERTOOLS_LOG_LEVEL: 'CRITICAL', ...options.env },
    ...(options.summary && { standIns: { summary: options.summary } }),
  });

beforeAll(async () => {
  // Prepare: the hub (the management account) and four members in nested OUs; one OU excluded.
  org = await seedOrganization(
    emulator,
    createOrganizationsClient(),
    {
      ous: [{ name: 'prod' }, { name: 'payments', parent: 'prod' }, { name: 'sandbox' }, { name: 'legacy' }],
      accounts: [
        { name: 'web', ou: 'prod', inventory: idleKey('web-deployer', 'UALICE') },
        { name: 'billing', ou: 'payments', inventory: idleKey('billing-batch', 'UALICE') },
        { name: 'sandbox', ou: 'sandbox', inventory: idleKey('experiments', 'UALICE') },
        { name: 'no-roles', ou: 'prod', memberRoles: false, inventory: idleKey('orphan', 'UBOB') },
        { name: 'retired', ou: 'legacy', inventory: idleKey('old-app', 'UBOB') },
      ],
    },
    START,
  );
  await crossAccountRole('web', 'billing-reader', id('billing'));
  await crossAccountRole('web', 'vendor-connector', VENDOR_ACCOUNT);
  policy = {
    actionBudget: { maxActions: 5, maxFraction: 1 },
    organization: {
      exclude: { ous: [org.ous.get('legacy') as string], accounts: [HUB_ACCOUNT] },
      overrides: [{ ous: [org.ous.get('sandbox') as string], mode: 'enforce' }],
      // One account of four fails (no roles): reported, within the tolerance.
      toleratedFailurePercentage: 50,
    },
  };
  const local = await startLocalStack(clients, { table: TABLE, policy });
  fake = local.slack;
  slack = { secretArn: local.env.SLACK_SECRET_ARN as string, apiBaseUrl: fake.apiBaseUrl };

  // Act: the synthesized scan state machine, every task the real handler.
  scan = await fanOut('scan', policy, {
    slack,
    env: { POWERTOOLS_METRICS_DISABLED: 'false' },
  });
});

afterEach(async () => {
  vi.useRealTimers();
  await emulator.unfreeze();
});

afterAll(() => fake?.close());

describe("the organization's synthesized scan state machine on the emulator", () => {
  it('succeeds, reporting the member without the reader role as failed with MemberRoleMissing', () => {
    expect(scan.status).toBe('SUCCEEDED');
    expect(summaryOf(scan).failed).toBe(1);
    expect(summaryOf(scan).failedAccounts).toEqual([
      {
        accountId: id('no-roles'),
        reason: expect.stringMatching(new RegExp(`^MemberRoleMissing: account ${id('no-roles')}`)),
      },
    ]);
    expect(summaryOf(scan).scanned).toBe(3);
    expect(metrics.published('reauth-org-summary', 'AccountsFailed')).toBe(1);
    expect(metrics.published('reauth-org-summary', 'AccountsScanned')).toBe(3);
  });

  it('scans the members into the one table and leaves the excluded OU unscanned', async () => {
    expect(await principals('billing')).toEqual(['billing-batch']);
    expect(await principals('sandbox')).toEqual(['experiments']);
    expect(await principals('retired')).toEqual([]);
    expect(await principals('no-roles')).toEqual([]);
  });

  it('flags a role trusted outside the organization, not one trusted by another member', async () => {
    expect(await principals('web')).toEqual(['vendor-connector', 'web-deployer']);
  });

  it('tells an owner of credentials in three accounts once', () => {
    const toAlice = fake.calls('chat.postMessage').filter((c) => c.body.channel === 'UALICE');
    expect(toAlice).toHaveLength(1);
    const text = JSON.stringify(toAlice[0]?.body);
    for (const user of ['web-deployer', 'billing-batch', 'experiments']) expect(text).toContain(user);
    // Each credential is told its own account's mode: sandbox enforces (an override), the rest report.
    const sections = (toAlice[0]?.body.blocks as { type: string; text?: { text: string } }[])
      .filter((block) => block.type === 'section')
      .map((block) => block.text?.text ?? '');
    const about = (user: string) => sections.find((section) => section.includes(`\`${user}\``)) ?? '';
    expect(sections[0]).toContain('Each says what happens at its deadline.');
    expect(about('experiments')).toContain('reauth *disables* it that day');
    for (const user of ['web-deployer', 'billing-batch'])
      expect(about(user)).toContain('*escalated to security* that day');
    const buttons = (
      toAlice[0]?.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]
    )
      .flatMap((block) => (block.type === 'actions' ? (block.elements ?? []) : []))
      .filter((button) => button.action_id === 'reauth:disable')
      .map((button) => button.value);
    expect(buttons).toEqual([expect.stringContaining(`${id('sandbox')}:access-key:`)]);
    // The owner in the excluded OU only is not told; the excluded account's key is nobody's news.
    expect(fake.calls('chat.postMessage').filter((c) => c.body.channel === 'UBOB')).toEqual([]);
  });
});

describe("the organization's synthesized enforce state machine", () => {
  it('reminds an owner of credentials in three accounts once, halfway to the deadline', async () => {
    await travelTo(emulator, new Date(START.getTime() + 8 * DAY));
    const before = fake.calls('chat.postMessage').length;

    const enforce = await fanOut('enforce', policy, { slack });

    expect(enforce.status).toBe('SUCCEEDED');
    const toAlice = fake
      .calls('chat.postMessage')
      .slice(before)
      // A reminder goes where the request went: the owner's direct-message channel.
      .filter((c) => c.body.channel === 'DALICE');
    expect(toAlice).toHaveLength(1);
    const text = JSON.stringify(toAlice[0]?.body);
    expect(text).toContain('Reminder');
    for (const user of ['web-deployer', 'billing-batch', 'experiments']) expect(text).toContain(user);
  });
});

describe("the organization's synthesized enforce state machine after the deadline", () => {
  it("disables the idle key in the enforce OU and leaves the report OU's active", async () => {
    await travelTo(emulator, new Date(START.getTime() + 30 * DAY));

    const enforce = await fanOut('enforce', policy, { slack });

    expect(enforce.status).toBe('SUCCEEDED');
    expect(summaryOf(enforce).failedAccounts.map((f) => f.accountId)).toEqual([id('no-roles')]);
    expect(await keyStatus('sandbox', 'experiments')).toBe('Inactive');
    expect(await keyStatus('web', 'web-deployer')).toBe('Active');
    expect(await keyStatus('billing', 'billing-batch')).toBe('Active');
  });
});

describe("the policy's failure tolerance, applied by the summary", () => {
  // One of two accounts fails: 50% of the run.
  const halfFailing = (toleratedFailurePercentage: number): PolicyConfigInput => ({
    organization: { include: { accounts: [id('web'), id('no-roles')] }, toleratedFailurePercentage },
  });

  it('fails the execution with ToleratedFailureExceeded when more accounts fail than tolerated', async () => {
    const execution = await fanOut('scan', halfFailing(10));

    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('ToleratedFailureExceeded');
    expect(JSON.parse(execution.cause ?? '{}')).toMatchObject({
      errorMessage: expect.stringContaining(`1 of 2 accounts failed (50.0%), more than the 10% tolerated`),
    });
  });

  it('succeeds when the failures are within the tolerance', async () => {
    const execution = await fanOut('scan', halfFailing(60));

    expect(execution.status).toBe('SUCCEEDED');
    expect(summaryOf(execution)).toMatchObject({
      scanned: 1,
      failed: 1,
      failedAccounts: [{ accountId: id('no-roles') }],
    });
    // Every failed account is in the run's failures object; the summary names only the first few.
    const { failures } = summaryOf(execution);
    const object = await clients.s3.send(
      new GetObjectCommand({ Bucket: failures?.Bucket, Key: failures?.Key }),
    );
    expect(JSON.parse((await object.Body?.transformToString()) ?? '[]')).toEqual([
      { accountId: id('no-roles'), reason: expect.stringMatching(/^MemberRoleMissing: /) },
    ]);
  });
});

describe("the summary's passes", () => {
  it('runs the summary again with the pass before as `previous` until it is done, and ends with its output', async () => {
    const summary = new URL('../fixtures/org-fan-out/summary-in-passes.ts', import.meta.url).pathname;

    const execution = await fanOut('scan', policy, { summary });

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.output).toEqual({
      done: true,
      passes: 3,
      runId: expect.any(String),
      // The first pass starts from nothing; each later one from where the one before stopped.
      seen: [
        { done: false },
        expect.objectContaining({ done: false, passes: 1, cursor: { shard: 5 } }),
        expect.objectContaining({ done: false, passes: 2, cursor: { shard: 10 } }),
      ],
    });
  });
});
