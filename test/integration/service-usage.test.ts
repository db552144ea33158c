import {
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { formatScanReport } from '../../cli/commands/scan';
import { main } from '../../cli/main';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import {
  ServiceUsageUnavailableError,
  serviceUsageReader,
} from '../../lambdas/shared/adapters/service-usage';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { seedAccount, VENDOR_ACCOUNT } from '../../scripts/local/seed';
import { captureOutput } from '../support/cli-output';
import { useEmulator } from '../support/emulator';
import { FORTY_SERVICES } from '../support/forty-services';
import { coldStart, travelTo, undoTravelAfter } from '../support/lambda';

/**
 * What a credential's user or role uses, shown where its owner decides (#25): IAM's service
 * last-accessed data read for the principals a request opens for (one job each), the one line in the
 * owner's Slack message, and the over-privileged trigger of tiers that set `maxUnusedServiceShare`.
 */

const { emulator, clients } = useEmulator();
const TABLE = 'service-usage-under-test';
const ACCOUNT = '123456789012';
const DAY = 86_400_000;
const START = new Date();
const OWNER = 'UOWNER';
const store = createDecisionStore(clients.documents, TABLE);

const arnOf = (role: string) => `arn:aws:iam::${ACCOUNT}:role/${role}`;
const roleId = (role: string) => `${ACCOUNT}:role:${role}`;

let fake: FakeSlack;
let env: Record<string, string>;
let writePolicy: (policy: object) => string;

const POLICY = {
  tiers: {
    // Idle after 30 days: a role last used 45 days ago is asked about, its 90-day usage shown.
    short: {
      idleDays: 30,
      maxAgeDays: 365,
      graceDays: 14,
      reauthorizeForDays: 90,
      newCredentialGraceDays: 14,
    },
    // Never idle here; asked when more than 80% of what it is granted went unused.
    narrow: {
      idleDays: 365,
      maxAgeDays: 365,
      graceDays: 14,
      reauthorizeForDays: 90,
      newCredentialGraceDays: 14,
      maxUnusedServiceShare: 0.8,
    },
  },
};

async function scanOnDay(days: number, policyFile?: string): Promise<Record<string, unknown>> {
  await travelTo(emulator, new Date(START.getTime() + days * DAY));
  const handler = await coldStart<() => Promise<Record<string, unknown>>>('../../lambdas/scan/handler', {
    ...env,
    ...(policyFile && { POLICY_FILE: policyFile }),
  });
  return handler();
}

/** The text of every message posted so far, as one string. */
const posted = () => JSON.stringify(fake.calls('chat.postMessage').map((call) => call.body));

async function grantForty(role: string): Promise<void> {
  await clients.iam.send(
    new PutRolePolicyCommand({
      RoleName: role,
      PolicyName: 'everything-it-might-need',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: FORTY_SERVICES.map((s) => `${s}:*`), Resource: '*' }],
      }),
    }),
  );
}

/** `services` used by `role` `daysAgo` days before the start, at the emulator's clock. */
async function used(role: string, daysAgo: number, services: string[]): Promise<void> {
  await emulator.freeze(new Date(START.getTime() - daysAgo * DAY));
  for (const service of services) await emulator.seedServiceUsage({ arn: arnOf(role), service });
  await emulator.unfreeze();
}

beforeAll(async () => {
  const local = await startLocalStack(clients, { table: TABLE, policy: POLICY });
  fake = local.slack;
  writePolicy = local.writePolicy;
  env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  const vendorRole = (name: string, tier: string, usedDaysAgo: number) => ({
    name,
    createdDaysAgo: 200,
    trustedAccounts: [VENDOR_ACCOUNT],
    usedDaysAgo,
    tags: { 'reauth:owner': OWNER, 'reauth:tier': tier },
  });
  await seedAccount(
    emulator,
    clients,
    {
      users: [],
      secrets: [],
      roles: [
        vendorRole('etl-idle', 'short', 45),
        vendorRole('etl-failing', 'short', 45),
        vendorRole('etl-broad', 'narrow', 45),
        vendorRole('etl-lean', 'narrow', 45),
      ],
    },
    START,
  );
  for (const role of ['etl-idle', 'etl-failing', 'etl-broad']) await grantForty(role);
  // The seeded session called Secrets Manager; two more services make three.
  await used('etl-idle', 45, ['s3', 'kms']);
  await used('etl-failing', 45, ['s3', 'kms']);
  await used('etl-broad', 45, ['s3', 'kms']);
  // Granted 4, uses 3: 25% unused, within the tier's 80%.
  await clients.iam.send(
    new PutRolePolicyCommand({
      RoleName: 'etl-lean',
      PolicyName: 'what-it-needs',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['s3:*', 'kms:*', 'secretsmanager:*', 'sqs:*'], Resource: '*' },
        ],
      }),
    }),
  );
  await used('etl-lean', 45, ['s3', 'kms']);
  await emulator.seedServiceUsage({ arn: arnOf('etl-failing'), failJobs: true });
});

undoTravelAfter(emulator, () => fake.close());

describe('service usage shown where the owner decides', () => {
  it('reads one job per principal, polls with short then longer waits, and keeps the window', async () => {
    const sleeps: number[] = [];
    const reader = serviceUsageReader(clients.iam, {
      now: START,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    const ninety = await reader.usageOf(arnOf('etl-idle'), 90);
    expect(ninety.granted).toHaveLength(40);
    expect(ninety.used.map((u) => u.service).sort()).toEqual(['kms', 's3', 'secretsmanager']);
    // Generate, a read that found it running, a read that found it done: and nothing more for the
    // principal's other credentials or another window.
    expect(reader.calls()).toBe(3);
    expect(sleeps).toEqual([250, 500]);
    const thirty = await reader.usageOf(arnOf('etl-idle'), 30);
    expect(thirty.used).toEqual([]);
    expect(thirty.windowDays).toBe(30);
    expect(reader.calls()).toBe(3);

    await expect(reader.usageOf(arnOf('etl-failing'), 90)).rejects.toBeInstanceOf(
      ServiceUsageUnavailableError,
    );
  });

  it("says in the owner's message what a role granted 40 services uses: 3 of them; a failed job leaves the line out", async () => {
    const before = await clients.iam.send(new ListRolePoliciesCommand({ RoleName: 'etl-idle' }));
    const result = await scanOnDay(0);
    expect(result.findings).toBe(2);

    const state = await store.getState(roleId('etl-idle'));
    expect(state?.status).toBe('pending');
    expect(state?.serviceUsage).toMatchObject({ grantedCount: 40, usedCount: 3, windowDays: 90 });
    const messages = posted();
    expect(messages).toMatch(
      /uses 3 of 40 services granted in the last 90 days: (kms|s3|secretsmanager), (kms|s3|secretsmanager), (kms|s3|secretsmanager)/,
    );

    // IAM's job for etl-failing failed: its request went out all the same, without the line.
    const failing = await store.getState(roleId('etl-failing'));
    expect(failing?.status).toBe('pending');
    expect(failing?.notifiedAt).toBeDefined();
    expect(failing?.serviceUsage).toBeUndefined();
    expect(messages.match(/uses \d+ of \d+ services/g)).toHaveLength(1);
    expect(messages).toContain('etl-failing');

    // Report mode (the default): the roles' policies are as they were.
    const after = await clients.iam.send(new ListRolePoliciesCommand({ RoleName: 'etl-idle' }));
    expect(after.PolicyNames).toEqual(before.PolicyNames);
    expect(
      (await clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'etl-idle' })))
        .AttachedPolicies,
    ).toEqual([]);
    expect(
      (await clients.iam.send(new GetRoleCommand({ RoleName: 'etl-idle' }))).Role?.PermissionsBoundary,
    ).toBeUndefined();
  });

  it('opens an over-privileged request, saying what is unused, once the usage is learned; a lean role is not asked', async () => {
    // The first scan learned where the narrow tier's roles are used (from day 0): not yet past learning.
    expect(await store.getState(roleId('etl-broad'))).toMatchObject({ status: 'active' });
    expect((await store.getState(roleId('etl-broad')))?.triggers ?? []).not.toContain('over-privileged');

    const result = await scanOnDay(31);
    expect(result.findings).toBe(3);
    const broad = await store.getState(roleId('etl-broad'));
    expect(broad?.status).toBe('pending');
    expect(broad?.triggers).toEqual(['over-privileged']);
    expect(broad?.why).toContain('uses 3 of 40 services granted in the last 90 days');
    expect(broad?.why).toMatch(/unused: 37 services \(acm, apigateway, athena/);
    expect(broad?.why).toContain('at most 80% unused');
    expect(posted()).toContain('over-privileged: uses 3 of 40');

    const lean = await store.getState(roleId('etl-lean'));
    expect(lean?.status).toBe('active');
    expect(lean?.serviceUsage).toMatchObject({ grantedCount: 4, usedCount: 3 });
  });

  it('reads nothing more on an unchanged re-run, nor within a week of the last check, but the request still without its line', async () => {
    const { calls, printed } = await scanWithReport(31);
    // etl-failing's request went out without its line: its job is tried again (it fails again here:
    // the generate and two reads, the second saying FAILED), and nobody else's is read.
    expect(calls).toBe(3);
    // reauth scan prints each request's line (from the state: no new read), and what is unused.
    expect(printed).toMatch(/etl-idle[^\n]*\n[^\n]*uses 3 of 40 services granted in the last 90 days/);
    expect(printed).toContain('Over-privileged (over-privileged):');
    expect(printed).toMatch(/role etl-broad: uses 3 of 40 services granted .*; unused: 37 services \(acm, /);

    // reauth decisions: the access its owner is shown, with where it came from.
    const output = captureOutput();
    expect(await main(['decisions', roleId('etl-idle'), '--table', TABLE])).toBe(0);
    expect(output.join('\n')).toMatch(
      new RegExp(
        `Access: uses 3 of 40 services granted in the last 90 days: .* \\(IAM's last-accessed data of ${arnOf('etl-idle')}, read `,
      ),
    );
    vi.restoreAllMocks();

    expect((await scanWithReport(36)).calls).toBe(3);
    // A week on, the lean role is due its next check too (one job: three calls); nobody else is.
    expect((await scanWithReport(39)).calls).toBe(3 + 3);
  });
});

/** The scan use case (as `reauth scan` runs it), for its report's count of usage calls and what the CLI prints. */
async function scanWithReport(days: number): Promise<{ calls: number; printed: string }> {
  await travelTo(emulator, new Date(START.getTime() + days * DAY));
  const { scanAccount } = await import('../../lambdas/shared/use-cases/scan-account');
  const { loadPolicyFile } = await import('../../lambdas/shared/policy-file');
  const report = await scanAccount(
    {
      iam: clients.iam,
      secretsManager: clients.secretsManager,
      store,
      stacks: { ownerOf: async () => undefined, failures: () => 0 },
      serviceUsage: serviceUsageReader(clients.iam, { now: new Date(), sleep: async () => {} }),
    },
    { accountId: ACCOUNT, policy: loadPolicyFile(writePolicy(POLICY)), now: new Date() },
  );
  return { calls: report.serviceUsage.calls, printed: formatScanReport(report) };
}
