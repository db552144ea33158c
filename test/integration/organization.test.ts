import { ListAccessKeysCommand, ListUsersCommand } from '@aws-sdk/client-iam';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OrgAccountsResult } from '../../lambdas/org-accounts/handler';
import type { OrgSummary, OrgSummaryEvent } from '../../lambdas/org-summary/handler';
import type { MemberScanResult } from '../../lambdas/scan/handler';
import { createOrganizationsClient } from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { accountLocator } from '../../lambdas/shared/adapters/organization';
import type { MemberRunEvent } from '../../lambdas/shared/domain/organization';
import { recordedEventIds } from '../../lambdas/shared/domain/trust-change';
import type { EnforceReport } from '../../lambdas/shared/use-cases/enforce-account';
import type { FakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import {
  idleKey,
  memberClients,
  type SeededOrganization,
  seedOrganization,
} from '../../scripts/local/seed-organization';
import { buttonClickBody, drainQueue, slackEvent } from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart, travelTo } from '../support/lambda';
import { readListing, runsBucket } from '../support/org-runs';

const { emulator, clients } = useEmulator();
const TABLE = 'organization-under-test';
const DAY = 86_400_000;
const START = new Date();

let org: SeededOrganization;
let fake: FakeSlack;
let env: Record<string, string>;
let signingSecret: string;
let listing: OrgAccountsResult;
/** What the list step wrote to S3, read back. */
let listed: Awaited<ReturnType<typeof readListing>>;
const scanResults = new Map<string, MemberScanResult | Error>();

const id = (name: string) => org.accounts.get(name)?.accountId as string;
const target = (name: string) => listed.accounts.find((a) => a.accountId === id(name));
const memberEvent = (name: string, runId = listing.runId): MemberRunEvent => {
  const account = target(name);
  if (!account) throw new Error(`${name} is not a target`);
  return {
    account,
    // As the Distributed Map gives it: a reference to the organization's account ids, not the ids.
    organization: listing.organization,
    organizationId: listing.organizationId,
    runId,
  };
};

async function keyStatus(account: string, user: string): Promise<string | undefined> {
  const { iam } = await memberClients(id(account));
  const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName: user }));
  return AccessKeyMetadata?.[0]?.Status;
}

beforeAll(async () => {
  org = await seedOrganization(
    emulator,
    createOrganizationsClient(),
    {
      ous: [{ name: 'prod' }, { name: 'payments', parent: 'prod' }, { name: 'sandbox' }, { name: 'legacy' }],
      accounts: [
        { name: 'web', ou: 'prod', inventory: idleKey('web-deployer', 'UALICE') },
        { name: 'billing', ou: 'payments', inventory: idleKey('billing-batch', 'UALICE') },
        { name: 'sandbox-a', ou: 'sandbox', inventory: idleKey('experiments', 'UALICE') },
        { name: 'sandbox-b', ou: 'sandbox', inventory: idleKey('prototype', 'UBOB') },
        { name: 'retired', ou: 'legacy', inventory: idleKey('old-app', 'UBOB') },
        { name: 'no-roles', ou: 'prod', memberRoles: false, inventory: idleKey('orphan', 'UBOB') },
      ],
    },
    START,
  );
  const sandbox = org.ous.get('sandbox') as string;
  const local = await startLocalStack(clients, {
    table: TABLE,
    policy: {
      // One disable per account fits each account's budget; the organization allows one per run.
      actionBudget: { maxActions: 5, maxFraction: 1 },
      organization: {
        // The hub (here also the management account) scans itself in single-account mode.
        exclude: { ous: [org.ous.get('legacy')], accounts: ['123456789012'] },
        overrides: [{ ous: [sandbox], mode: 'enforce' }],
        maxActionsPerRun: 1,
        // The one account without roles is a fifth of the targets: reported, within the tolerance.
        toleratedFailurePercentage: 50,
      },
    },
  });
  fake = local.slack;
  signingSecret = local.signingSecret;
  env = {
    ...local.env,
    ...(await runsBucket(clients.s3)),
    ORG_MODE: 'true',
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  };

  const listAccounts = await coldStart<(event?: unknown) => Promise<OrgAccountsResult>>(
    '../../lambdas/org-accounts/handler',
    env,
  );
  listing = await listAccounts({});
  listed = await readListing(clients.s3, listing);
  const scan = await coldStart<(event: MemberRunEvent) => Promise<MemberScanResult>>(
    '../../lambdas/scan/handler',
    env,
  );
  for (const account of listed.accounts) {
    const name = [...org.accounts].find(([, a]) => a.accountId === account.accountId)?.[0] as string;
    scanResults.set(name, await scan(memberEvent(name)).catch((error: Error) => error));
  }
});

afterEach(async () => {
  vi.useRealTimers();
  await emulator.unfreeze();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.unfreeze();
  await fake.close();
});

describe('the organization fan-out on the emulator', () => {
  it('lists the ACTIVE accounts with their OU path, leaving out the excluded OU and account', () => {
    const byName = (name: string) => target(name)?.ouPath;
    expect(byName('billing')).toEqual([org.rootId, org.ous.get('prod'), org.ous.get('payments')]);
    expect(byName('sandbox-a')).toEqual([org.rootId, org.ous.get('sandbox')]);
    expect(target('retired')).toBeUndefined();
    expect(listed.accounts.map((a) => a.accountId)).not.toContain('123456789012');
    // The zone of trust keeps every account of the organization, excluded or not.
    expect(listed.organizationAccounts).toEqual(
      expect.arrayContaining([id('retired'), id('web'), '123456789012']),
    );
    expect(listing.organizationId).toBe(org.organizationId);
  });

  it("finds one account's place as the listing does, for the Slack functions, in a few calls", async () => {
    const organization = {
      include: { ous: [], accounts: [] },
      exclude: { ous: [org.ous.get('legacy') as string], accounts: [] },
    };
    const locate = accountLocator(createOrganizationsClient(), organization);
    const now = new Date();
    expect(await locate(id('billing'), now)).toEqual({ inOrganization: true, target: target('billing') });
    expect(await locate(id('retired'), now)).toEqual({ inOrganization: true });
    expect(await locate('999988887777', now)).toEqual({ inOrganization: false });
  });

  it('scans each member through its reader role into the one table, telling nobody', async () => {
    expect(scanResults.get('web')).toMatchObject({ accountId: id('web'), mode: 'report', findings: 1 });
    expect(scanResults.get('sandbox-a')).toMatchObject({ mode: 'enforce', findings: 1 });
    const store = createDecisionStore(clients.documents, TABLE);
    const states = [...(await store.loadStates(id('billing'))).values()];
    // The roles trusted by the hub (reauth's, and the one Organizations creates) are internal: the
    // organization is the zone of trust.
    expect(states).toEqual([
      expect.objectContaining({ principal: 'billing-batch', status: 'pending', owner: 'UALICE' }),
    ]);
    expect(fake.calls('chat.postMessage')).toEqual([]);
  });

  it('fails a member account without the reader role with MemberRoleMissing naming it', () => {
    const failure = scanResults.get('no-roles');
    expect(failure).toBeInstanceOf(Error);
    expect(failure).toMatchObject({ name: 'MemberRoleMissing' });
    expect((failure as Error).message).toContain(id('no-roles'));
  });

  it('summarizes once: the failed account with its reason, and one message per owner across accounts', async () => {
    const summarize = await coldStart<(event: OrgSummaryEvent) => Promise<OrgSummary>>(
      '../../lambdas/org-summary/handler',
      env,
    );
    // Where the Map's ResultWriter puts them, as the state machine shapes each item's outcome: the
    // scan's output, or its Catch's { accountId, ok: false, error, cause }.
    const outcomes = [...scanResults].map(([name, result]) =>
      result instanceof Error
        ? {
            accountId: id(name),
            ok: false,
            error: result.name,
            cause: JSON.stringify({ errorType: result.name, errorMessage: result.message }),
          }
        : result,
    );
    // Two member runs could not reach the same private fallback channel: the summary names it once.
    const notInChannel = { channel: '#security', code: 'not_in_channel', fix: 'invite the bot' };
    const reported = outcomes.filter((outcome) => !('ok' in outcome && outcome.ok === false)).slice(0, 2);
    for (const outcome of reported) Object.assign(outcome, { slackSetup: [notInChannel] });
    expect(reported).toHaveLength(2);
    const Bucket = 'fan-out-results';
    await clients.s3.send(new CreateBucketCommand({ Bucket }));
    const children = outcomes.map((output, n) => ({
      ExecutionArn: `run:${n}`,
      Status: 'SUCCEEDED',
      Output: JSON.stringify(output),
    }));
    await clients.s3.send(
      new PutObjectCommand({ Bucket, Key: 'scan/run-1/SUCCEEDED_0.json', Body: JSON.stringify(children) }),
    );
    const manifest = {
      ResultFiles: { SUCCEEDED: [{ Key: 'scan/run-1/SUCCEEDED_0.json' }], FAILED: [], PENDING: [] },
    };
    await clients.s3.send(
      new PutObjectCommand({ Bucket, Key: 'scan/run-1/manifest.json', Body: JSON.stringify(manifest) }),
    );

    const summary = await summarize({
      job: 'scan',
      runId: listing.runId,
      accounts: listing.accounts,
      results: { MapRunArn: 'run', ResultWriterDetails: { Bucket, Key: 'scan/run-1/manifest.json' } },
    });

    expect(summary).toMatchObject({ done: true, failed: 1 });
    expect(summary.failedAccounts).toEqual([
      {
        accountId: id('no-roles'),
        reason: expect.stringMatching(new RegExp(`^MemberRoleMissing: account ${id('no-roles')}`)),
      },
    ]);
    expect(summary.scanned).toBe(listing.selected - 1);
    expect(summary.findings).toBe(4);
    const toAlice = fake.calls('chat.postMessage').filter((c) => c.body.channel === 'UALICE');
    expect(toAlice).toHaveLength(1);
    const text = JSON.stringify(toAlice[0]?.body);
    for (const user of ['web-deployer', 'billing-batch', 'experiments']) expect(text).toContain(user);
    expect(fake.calls('chat.postMessage').filter((c) => c.body.channel === 'UBOB')).toHaveLength(1);
    expect(summary.notified).toBe(4);
    expect(summary.slackSetup).toEqual([notInChannel]);
  });

  it('enforces past the deadline in the enforce OU only, within the organization budget', async () => {
    const enforce = await coldStart<(event: MemberRunEvent) => Promise<EnforceReport & { mode: string }>>(
      '../../lambdas/enforce/handler',
      env,
    );
    await travelTo(emulator, new Date(START.getTime() + 30 * DAY));
    const runId = 'enforce-run-1';

    const web = await enforce(memberEvent('web', runId));
    const sandboxA = await enforce(memberEvent('sandbox-a', runId));
    const sandboxB = await enforce(memberEvent('sandbox-b', runId));

    // Report OU: nothing changed in IAM, the deadline is escalated instead.
    expect(web).toMatchObject({ mode: 'report', disabled: [] });
    expect(await keyStatus('web', 'web-deployer')).toBe('Active');
    // Enforce OU: the first account's disable takes the organization's one action of this run.
    expect(sandboxA).toMatchObject({ mode: 'enforce', disabled: [expect.stringContaining(id('sandbox-a'))] });
    expect(await keyStatus('sandbox-a', 'experiments')).toBe('Inactive');
    expect(sandboxB.disabled).toEqual([]);
    expect(sandboxB.heldBack).toEqual([
      { reason: 'org-budget-exceeded', credentialIds: [expect.stringContaining(id('sandbox-b'))] },
    ]);
    expect(await keyStatus('sandbox-b', 'prototype')).toBe('Active');
    // The next run has a budget of its own.
    expect((await enforce(memberEvent('sandbox-b', 'enforce-run-2'))).disabled).toHaveLength(1);
    expect(await keyStatus('sandbox-b', 'prototype')).toBe('Inactive');
    // The hourly run judges roles as the daily scan does: one only the organization trusts (the role
    // Organizations creates, trusted by the management account) is no third party here either.
    const store = createDecisionStore(clients.documents, TABLE);
    for (const name of ['web', 'sandbox-a', 'sandbox-b']) {
      const roles = [...(await store.loadStates(id(name))).values()].filter((s) => s.kind === 'role');
      expect(roles).toEqual([]);
    }
  });

  it('reports a member account without the enforcer role, never skipping it', async () => {
    const enforce = await coldStart<(event: MemberRunEvent) => Promise<unknown>>(
      '../../lambdas/enforce/handler',
      env,
    );
    // As if its OU enforced: the enforce job needs the enforcer role there (a report-mode account gets the reader).
    const noRoles = {
      accountId: id('no-roles'),
      name: 'no-roles',
      ouPath: [org.rootId, org.ous.get('sandbox') as string],
    };
    await expect(
      enforce({ account: noRoles, organizationAccounts: listed.organizationAccounts, runId: 'r' }),
    ).rejects.toMatchObject({
      name: 'MemberRoleMissing',
      message: expect.stringContaining('reauth-enforcer'),
    });
  });
});

/** A CloudTrail AttachUserPolicy made in `account`, as EventBridge forwards it to the hub's bus. */
function attachAdmin(
  account: string,
  userName: string,
  eventId: string,
  policy = 'AdministratorAccess',
): string {
  return JSON.stringify({
    version: '0',
    id: `eb-${eventId}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account,
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity: {
        type: 'IAMUser',
        principalId: 'AIDAEXAMPLEMALLORY',
        arn: `arn:aws:iam::${account}:user/admin`,
        accountId: account,
        userName: 'admin',
      },
      eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'iam.amazonaws.com',
      eventName: 'AttachUserPolicy',
      awsRegion: 'us-east-1',
      requestParameters: { userName, policyArn: `arn:aws:iam::aws:policy/${policy}` },
      responseElements: null,
      eventID: eventId,
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    },
  });
}

describe('trust-change events from member accounts', () => {
  it('applies a member event in that account, judged by what it grants there, ignores an excluded one, dead-letters an outsider', async () => {
    const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: 'org-invalid-events' }));
    const consumer = await coldStart<(event: SQSEvent, context: Context) => Promise<SQSBatchResponse>>(
      '../../lambdas/events/handler',
      {
        ...env,
        INVALID_EVENTS_QUEUE_URL: QueueUrl as string,
        TRUST_EVENTS_QUEUE_URL: QueueUrl as string,
        REAUTH_ROLE_ARNS: 'arn:aws:iam::123456789012:role/Reauth-EnforceJobServiceRole',
      },
    );
    const bodies = [
      attachAdmin(id('billing'), 'billing-batch', 'ct-org-member'),
      attachAdmin(id('retired'), 'old-app', 'ct-org-excluded'),
      // AWS's quarantine of a leaked key, read through the member's reader role: it only denies.
      attachAdmin(id('billing'), 'billing-batch', 'ct-org-quarantine', 'AWSCompromisedKeyQuarantineV3'),
      attachAdmin('999988887777', 'intruder', 'ct-org-outsider'),
    ];
    const event = {
      Records: bodies.map((body, n) => ({
        messageId: `m-${n}`,
        body,
        attributes: {},
        eventSource: 'aws:sqs',
      })),
    } as unknown as SQSEvent;

    const response = await consumer(event, {} as Context);

    expect(response.batchItemFailures).toEqual([]);
    const store = createDecisionStore(clients.documents, TABLE);
    const billing = [...(await store.loadStates(id('billing'))).values()].find(
      (s) => s.principal === 'billing-batch',
    );
    expect(billing && recordedEventIds(billing)).toHaveProperty('ct-org-member');
    const history = billing ? await store.history(billing.credentialId) : [];
    expect(history.find((d) => d.evidence.eventId === 'ct-org-member')).toMatchObject({
      action: 'flag',
      evidence: {
        change: expect.stringContaining(
          'AdministratorAccess attached to user billing-batch: it allows * on *',
        ),
      },
    });
    expect(history.find((d) => d.evidence.eventId === 'ct-org-quarantine')).toMatchObject({
      action: 'observe',
      evidence: { widens: false },
    });
    expect((await store.loadStates(id('retired'))).size).toBe(0);
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
    );
    expect(Messages.map((m) => m.MessageAttributes?.reason?.StringValue)).toEqual([
      'account 999988887777 is not in the organization: reauth acts only for its accounts',
    ]);
  });
});

describe("owners' answers in Slack for member accounts", () => {
  /** `userId` clicks `actionId` on the credential's open request; the worker runs what it queued. */
  async function click(userId: string, actionId: string, credentialId: string, responseName: string) {
    const endpoint = await coldStart<
      (e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>
    >('../../lambdas/slack/handler', env);
    const worker = await coldStart<(e: SQSEvent) => Promise<SQSBatchResponse>>(
      '../../lambdas/slack-worker/handler',
      env,
    );
    const state = await createDecisionStore(clients.documents, TABLE).getState(credentialId);
    const body = buttonClickBody({
      userId,
      actionId,
      value: `${credentialId}|${state?.requestSeq}`,
      responseUrl: fake.responseUrl(responseName),
    });
    const reply = await endpoint(slackEvent(body, { signingSecret, at: new Date() }));
    expect(reply.statusCode).toBe(200);
    await drainQueue(clients.sqs, env.ACTION_QUEUE_URL as string, worker);
    return fake.calls(`response:${responseName}`).map((c) => String(c.body.text ?? ''));
  }
  const keyOf = async (account: string) => {
    const states = await createDecisionStore(clients.documents, TABLE).loadStates(id(account));
    return [...states.values()][0] as { credentialId: string; status: string };
  };

  it('restores, then disables now, a key in an enforce-OU account through its enforcer role, in that account', async () => {
    // The enforce run above disabled sandbox-a's idle key at its deadline.
    const key = await keyOf('sandbox-a');
    expect(key.status).toBe('disabled');

    await click('UALICE', 'reauth:restore', key.credentialId, 'restore-sandbox-a');
    expect(await keyStatus('sandbox-a', 'experiments')).toBe('Active');

    await click('UALICE', 'reauth:disable', key.credentialId, 'disable-sandbox-a');
    expect(await keyStatus('sandbox-a', 'experiments')).toBe('Inactive');
    expect(await keyOf('sandbox-a')).toMatchObject({ status: 'disabled' });
    // Nothing of it in the hub: the key's user exists only in the member.
    const { Users = [] } = await clients.iam.send(new ListUsersCommand({}));
    expect(Users.map((u) => u.UserName)).not.toContain('experiments');
  });

  it('changes nothing in a report-OU account and replies as report mode does', async () => {
    const key = await keyOf('web');
    const replies = await click('UALICE', 'reauth:disable', key.credentialId, 'disable-web');
    expect(replies.join('\n')).toContain('reauth runs in report mode');
    expect(await keyStatus('web', 'web-deployer')).toBe('Active');
    expect((await keyOf('web')).status).toBe(key.status);
  });
});
