import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { describeTrust } from '../../lambdas/shared/domain/identification';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { type ScanReport, scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { useEmulator } from '../support/emulator';

const { clients } = useEmulator();
const ACCOUNT = '123456789012';
const MEMBER = '222233334444';
const OUTSIDER = '999988887777';
const ORG = 'o-a1b2c3d4e5';
const GITHUB = 'token.actions.githubusercontent.com';
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
const github = (condition?: object) => ({
  Effect: 'Allow',
  Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${GITHUB}` },
  Action: 'sts:AssumeRoleWithWebIdentity',
  ...(condition && { Condition: condition }),
});

const ROLES: Record<string, object> = {
  'member-deployer': assume({ AWS: `arn:aws:iam::${MEMBER}:root` }),
  'org-wide-reader': assume('*', { StringEquals: { 'aws:PrincipalOrgID': ORG } }),
  'vendor-connector': assume({ AWS: `arn:aws:iam::${OUTSIDER}:root` }),
  'github-deploy': github({
    StringEquals: { [`${GITHUB}:aud`]: 'sts.amazonaws.com' },
    StringLike: { [`${GITHUB}:sub`]: 'repo:acme/deploy:*' },
  }),
  'github-any-repo': github({ StringEquals: { [`${GITHUB}:aud`]: 'sts.amazonaws.com' } }),
};

async function scan(table: string, organization?: { accounts: string[]; id: string }): Promise<ScanReport> {
  await ensureDecisionTable(clients.dynamodb, table);
  return scanAccount(
    {
      iam: clients.iam,
      secretsManager: clients.secretsManager,
      store: createDecisionStore(clients.documents, table),
    },
    {
      accountId: ACCOUNT,
      policy,
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

describe('a scan in single-account mode', () => {
  it('flags every role another account trusts, as before, and federated roles alike', async () => {
    const report = await scan('zone-single-under-test');

    expect(report.rows.map((r) => [r.principal, r.triggers]).sort()).toEqual([
      ['github-any-repo', ['idle', 'trust-too-broad']],
      ['github-deploy', ['idle']],
      ['member-deployer', ['idle']],
      ['org-wide-reader', ['idle']],
      ['vendor-connector', ['idle']],
    ]);
    expect(row(report, 'org-wide-reader')?.identification.trustedAccounts).toEqual(['*']);
  });
});
