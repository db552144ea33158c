import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatScanReport } from '../../cli/commands/scan';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { createSlackClient } from '../../lambdas/shared/adapters/slack-client';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import { describeTrust } from '../../lambdas/shared/domain/identification';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { escalateBackdoors, notifyNewRequests } from '../../lambdas/shared/use-cases/notify-owners';
import { type ScanReport, scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { type FakeSlack, startFakeSlack } from '../../scripts/local/fake-slack';
import { useEmulator } from '../support/emulator';

const { clients } = useEmulator();
const ACCOUNT = '123456789012';
const MEMBER = '222233334444';
const OUTSIDER = '999988887777';
const ORG = 'o-a1b2c3d4e5';
const GITHUB = 'token.actions.githubusercontent.com';
const TERRAFORM = 'app.terraform.io';
// AWS's Elastic Load Balancing log delivery account in us-east-1: it writes to buckets, never assumes roles.
const ELB_LOGS = '127311923021';
const OWNER = 'U04PLATFORM';
// A month after the roles were created, none of them used: every role in scope is idle.
const NOW = new Date(Date.now() + 30 * 86_400_000);
const policy = parsePolicyConfig({});

const assume = (principal: unknown, condition?: object) => ({
  Effect: 'Allow',
  Principal: principal,
  Action: 'sts:AssumeRole',
  ...(condition && { Condition: condition }),
});
const federated = (host: string, condition?: object) => ({
  Effect: 'Allow',
  Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${host}` },
  Action: 'sts:AssumeRoleWithWebIdentity',
  ...(condition && { Condition: condition }),
});
const github = (condition?: object) => federated(GITHUB, condition);

const ROLES: Record<string, object> = {
  'member-deployer': assume({ AWS: `arn:aws:iam::${MEMBER}:root` }),
  'org-wide-reader': assume('*', { StringEquals: { 'aws:PrincipalOrgID': ORG } }),
  'vendor-connector': assume({ AWS: `arn:aws:iam::${OUTSIDER}:root` }),
  'github-deploy': github({
    StringEquals: { [`${GITHUB}:aud`]: 'sts.amazonaws.com' },
    StringLike: { [`${GITHUB}:sub`]: 'repo:acme/deploy:*' },
  }),
  'github-any-repo': github({ StringEquals: { [`${GITHUB}:aud`]: 'sts.amazonaws.com' } }),
  'github-acme-wide': github({
    StringEquals: { [`${GITHUB}:aud`]: 'sts.amazonaws.com' },
    StringLike: { [`${GITHUB}:sub`]: 'repo:acme/*:ref:refs/heads/main' },
  }),
  'terraform-any-org': federated(TERRAFORM, {
    StringEquals: { [`${TERRAFORM}:aud`]: 'aws.workload.identity' },
    StringLike: { [`${TERRAFORM}:sub`]: 'organization:*:project:*:workspace:*:run_phase:*' },
  }),
  'elb-log-backdoor': assume({ AWS: `arn:aws:iam::${ELB_LOGS}:root` }),
};

async function scan(
  table: string,
  organization?: { accounts: string[]; id: string },
  withPolicy = policy,
): Promise<ScanReport> {
  await ensureDecisionTable(clients.dynamodb, table);
  return scanAccount(
    {
      iam: clients.iam,
      secretsManager: clients.secretsManager,
      stacks: stackOwnersOfThisAccount(),
      store: createDecisionStore(clients.documents, table),
    },
    {
      accountId: ACCOUNT,
      policy: withPolicy,
      now: NOW,
      ...(organization && { organizationAccounts: organization.accounts, organizationId: organization.id }),
    },
  );
}

const row = (report: ScanReport, role: string) =>
  report.rows.find((r) => r.credentialId === `${ACCOUNT}:role:${role}`);

beforeAll(async () => {
  for (const [name, statement] of Object.entries(ROLES)) {
    await clients.iam.send(
      new CreateRoleCommand({
        RoleName: name,
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [statement] }),
        // The plain `owner` tag: a `reauth:*` tag would bring the role into scope whoever it trusts.
        Tags: [{ Key: 'owner', Value: OWNER }],
      }),
    );
  }
});

describe('a scan of a member account, the organization as the zone of trust', () => {
  let report: ScanReport;
  beforeAll(async () => {
    report = await scan('zone-org-under-test', { accounts: [ACCOUNT, MEMBER], id: ORG });
  });

  it('does not flag a role trusted by another account of the organization, or by `*` within it', () => {
    expect(row(report, 'member-deployer')).toBeUndefined();
    expect(row(report, 'org-wide-reader')).toBeUndefined();
  });

  it('flags a role trusted by an account outside the organization', () => {
    expect(row(report, 'vendor-connector')).toMatchObject({
      triggers: ['idle'],
      identification: { trustedAccounts: [OUTSIDER], requiresExternalId: false },
    });
  });

  it('flags a GitHub Actions role with the repository it trusts in its request', async () => {
    const state = await createDecisionStore(clients.documents, 'zone-org-under-test').getState(
      `${ACCOUNT}:role:github-deploy`,
    );

    expect(row(report, 'github-deploy')?.triggers).toEqual(['idle']);
    // What `reauth scan` prints beside the row and the owner's Slack message shows as "Trusts:".
    expect(describeTrust(row(report, 'github-deploy')?.identification)).toBe(
      `OIDC ${GITHUB} (GitHub Actions) for repo:acme/deploy:*`,
    );
    expect(state?.identification?.federated).toEqual([
      {
        provider: `oidc-provider/${GITHUB}`,
        subjects: ['repo:acme/deploy:*'],
        audiences: ['sts.amazonaws.com'],
      },
    ]);
  });

  it('finds a GitHub Actions role that any repository can assume too broad, and says so', async () => {
    const state = await createDecisionStore(clients.documents, 'zone-org-under-test').getState(
      `${ACCOUNT}:role:github-any-repo`,
    );

    expect(row(report, 'github-any-repo')?.triggers).toEqual(['idle', 'trust-too-broad']);
    expect(state).toMatchObject({ status: 'pending', triggers: ['idle', 'trust-too-broad'] });
    expect(state?.why).toContain(
      'no `sub` condition leaves the owner open: any GitHub repository can assume this role; an attacker needs only a workflow in a repository of their own',
    );
  });
});

describe('trust findings, from the scan to the owner and the security channel', () => {
  const TABLE = 'zone-trust-findings-under-test';
  const store = createDecisionStore(clients.documents, TABLE);
  let report: ScanReport;
  let fake: FakeSlack;
  beforeAll(async () => {
    report = await scan(TABLE, { accounts: [ACCOUNT, MEMBER], id: ORG });
    fake = await startFakeSlack();
  });
  afterAll(() => fake.close());

  it('flags a role an AWS log delivery account can assume as a likely backdoor, first, never as a vendor', async () => {
    const state = await store.getState(`${ACCOUNT}:role:elb-log-backdoor`);

    expect(row(report, 'elb-log-backdoor')).toMatchObject({
      triggers: ['aws-service-account-trusted', 'idle'],
      identification: { trustedAccounts: [ELB_LOGS], awsServiceAccounts: { [ELB_LOGS]: 'ELB logs' } },
    });
    expect(row(report, 'elb-log-backdoor')?.identification.vendors).toBeUndefined();
    expect(describeTrust(state?.identification)).toBe(
      `${ELB_LOGS} (owned by AWS for ELB logs: never a vendor); no ExternalId required`,
    );
    expect(state?.why).toMatch(/^trusts 127311923021 \(ELB logs\), .* likely a backdoor/);
  });

  it('says which part of each open subject is open and what an attacker needs, in the record and in reauth scan', async () => {
    const printed = formatScanReport(report);
    const flag = (await store.history(`${ACCOUNT}:role:github-acme-wide`))[0];

    expect(row(report, 'github-acme-wide')?.triggers).toEqual(['idle', 'trust-too-broad']);
    expect(flag?.evidence).toMatchObject({
      openTrust: [{ claim: 'sub', value: 'repo:acme/*:ref:refs/heads/main', part: 'repository' }],
    });
    expect(flag?.reason).toContain(
      'leaves the repository open: any repository of `acme` can assume this role; an attacker needs a workflow in any repository of `acme`',
    );
    expect(printed).toContain(
      'Likely backdoors (aws-service-account-trusted):\n  role elb-log-backdoor: trusts 127311923021',
    );
    expect(printed).toContain(
      'role terraform-any-org: sub `organization:*:project:*:workspace:*:run_phase:*` leaves the organization open: any Terraform Cloud workspace can assume this role; an attacker needs only a free Terraform Cloud organization of their own',
    );
  });

  it('tells the owner of each request, and the security channel once that a role is a likely backdoor', async () => {
    const slack = createSlackClient({ botToken: 'xoxb-trust', apiBaseUrl: fake.apiBaseUrl });
    const context = { policy, policyId: policyIdOf(policy), now: NOW, job: 'scan' };
    const states = [...(await store.loadStates(ACCOUNT)).values()];

    const warned = await escalateBackdoors({ store, slack }, states, context);
    const told = await notifyNewRequests({ store, slack }, states, context);
    const again = await escalateBackdoors(
      { store, slack },
      [...(await store.loadStates(ACCOUNT)).values()],
      context,
    );

    expect(warned).toMatchObject({ messages: 1, recorded: 1, failures: [] });
    expect(told.failures).toEqual([]);
    expect(again).toMatchObject({ messages: 0, recorded: 0 });
    const posts = fake
      .calls('chat.postMessage')
      .map((call) => ({ channel: call.body.channel, text: JSON.stringify(call.body) }));
    const security = posts.filter((post) => post.channel === '#security');
    expect(security).toHaveLength(1);
    expect(security[0]?.text).toContain('Likely backdoors: roles trusted by an AWS-owned account');
    expect(security[0]?.text).toContain('elb-log-backdoor');
    expect(security[0]?.text).not.toContain('github-acme-wide');
    const owner = posts
      .filter((post) => post.channel === OWNER)
      .map((post) => post.text)
      .join('\n');
    expect(owner).toContain('owned by AWS for ELB logs: never a vendor');
    expect(owner).toContain('any repository of `acme` can assume this role');
    expect((await store.history(`${ACCOUNT}:role:elb-log-backdoor`)).map((d) => d.action)).toEqual([
      'flag',
      'escalate',
      'notify',
    ]);
  });

  it('takes `repo:acme/*` as deliberate under a policy that names acme among trustedOidcOwners', async () => {
    const yours = await scan(
      'zone-trusted-owner-under-test',
      undefined,
      parsePolicyConfig({ trustedOidcOwners: ['acme'] }),
    );

    expect(row(yours, 'github-acme-wide')?.triggers).toEqual(['idle']);
    expect(row(yours, 'github-any-repo')?.triggers).toEqual(['idle', 'trust-too-broad']);
  });
});

describe('a scan in single-account mode', () => {
  it('flags every role another account trusts, as before, and federated roles alike', async () => {
    const report = await scan('zone-single-under-test');

    expect(report.rows.map((r) => [r.principal, r.triggers]).sort()).toEqual([
      ['elb-log-backdoor', ['aws-service-account-trusted', 'idle']],
      ['github-acme-wide', ['idle', 'trust-too-broad']],
      ['github-any-repo', ['idle', 'trust-too-broad']],
      ['github-deploy', ['idle']],
      ['member-deployer', ['idle']],
      ['org-wide-reader', ['idle']],
      ['terraform-any-org', ['idle', 'trust-too-broad']],
      ['vendor-connector', ['idle']],
    ]);
    expect(row(report, 'org-wide-reader')?.identification.trustedAccounts).toEqual(['*']);
  });
});
