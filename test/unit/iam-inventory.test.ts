import {
  CredentialReportExpiredException,
  CredentialReportNotPresentException,
  CredentialReportNotReadyException,
  type IAMClient,
  LimitExceededException,
  type RoleDetail,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import {
  accessKeysFromReport,
  CredentialReportUnavailableError,
  parseCredentialReportCsv,
  passwordsFromReport,
  readCredentialReport,
  readStatusCredentials,
  rolesInScope,
} from '../../lambdas/shared/adapters/iam-inventory';
import { listsSshKeysOf } from '../../lambdas/shared/domain/credential';

const ACCOUNT = '111122223333';
const VENDOR = '999988887777';
const OTHER_VENDOR = '444455556666';
const NOW = new Date('2026-11-22T12:00:00Z');

// The credential report's columns, in AWS's documented order.
const COLUMNS = [
  'user',
  'arn',
  'user_creation_time',
  'password_enabled',
  'password_last_used',
  'password_last_changed',
  'password_next_rotation',
  'mfa_active',
  'access_key_1_active',
  'access_key_1_last_rotated',
  'access_key_1_last_used_date',
  'access_key_1_last_used_region',
  'access_key_1_last_used_service',
  'access_key_2_active',
  'access_key_2_last_rotated',
  'access_key_2_last_used_date',
  'access_key_2_last_used_region',
  'access_key_2_last_used_service',
  'cert_1_active',
  'cert_1_last_rotated',
  'cert_2_active',
  'cert_2_last_rotated',
] as const;
type Column = (typeof COLUMNS)[number];

/** A report line for a user with no password, MFA, keys or certificates, as AWS writes it. */
function reportLine(user: string, overrides: Partial<Record<Column, string>> = {}): string {
  const defaults: Record<Column, string> = {
    user,
    arn: `arn:aws:iam::${ACCOUNT}:user/${user}`,
    user_creation_time: '2024-01-10T09:00:00+00:00',
    password_enabled: 'false',
    password_last_used: 'N/A',
    password_last_changed: 'N/A',
    password_next_rotation: 'N/A',
    mfa_active: 'false',
    access_key_1_active: 'false',
    access_key_1_last_rotated: 'N/A',
    access_key_1_last_used_date: 'N/A',
    access_key_1_last_used_region: 'N/A',
    access_key_1_last_used_service: 'N/A',
    access_key_2_active: 'false',
    access_key_2_last_rotated: 'N/A',
    access_key_2_last_used_date: 'N/A',
    access_key_2_last_used_region: 'N/A',
    access_key_2_last_used_service: 'N/A',
    cert_1_active: 'false',
    cert_1_last_rotated: 'N/A',
    cert_2_active: 'false',
    cert_2_last_rotated: 'N/A',
  };
  const fields = { ...defaults, ...overrides };
  return COLUMNS.map((column) => fields[column]).join(',');
}

const ROOT_LINE =
  `<root_account>,arn:aws:iam::${ACCOUNT}:root,2014-06-01T10:00:00+00:00,not_supported,2026-11-01T10:00:00+00:00,` +
  'not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A';

function report(...lines: string[]): string {
  return `${[COLUMNS.join(','), ROOT_LINE, ...lines].join('\n')}\n`;
}

describe('parseCredentialReportCsv', () => {
  it('keys each row by the report header and leaves out the root account', () => {
    const rows = parseCredentialReportCsv(report(reportLine('ci-deployer'), reportLine('backup-agent')));

    expect(rows.map((row) => row.user)).toEqual(['ci-deployer', 'backup-agent']);
    expect(rows[0]?.arn).toBe(`arn:aws:iam::${ACCOUNT}:user/ci-deployer`);
    expect(rows[1]?.cert_2_last_rotated).toBe('N/A');
  });

  it('reads quoted user names that contain commas, and CRLF line ends', () => {
    const csv = `${COLUMNS.join(',')}\r\n${reportLine('"ops,eu"', { arn: `"arn:aws:iam::${ACCOUNT}:user/ops,eu"` })}\r\n`;

    const [row] = parseCredentialReportCsv(csv);

    expect(row?.user).toBe('ops,eu');
    expect(row?.arn).toBe(`arn:aws:iam::${ACCOUNT}:user/ops,eu`);
    expect(row?.mfa_active).toBe('false');
  });
});

describe('accessKeysFromReport', () => {
  it("gives a user's idle key and busy key each their own dates", () => {
    const rows = parseCredentialReportCsv(
      report(
        reportLine('ci-deployer', {
          access_key_1_active: 'true',
          access_key_1_last_rotated: '2024-02-01T08:00:00+00:00',
          access_key_1_last_used_date: '2024-03-05T10:15:00+00:00',
          access_key_1_last_used_region: 'eu-west-1',
          access_key_1_last_used_service: 's3',
          access_key_2_active: 'true',
          access_key_2_last_rotated: '2026-06-01T08:00:00+00:00',
          access_key_2_last_used_date: '2026-11-21T23:59:00+00:00',
          access_key_2_last_used_region: 'us-east-1',
          access_key_2_last_used_service: 'sts',
        }),
      ),
    );

    const keys = accessKeysFromReport(rows, ACCOUNT);

    expect(keys).toEqual([
      {
        accountId: ACCOUNT,
        kind: 'access-key',
        keySlot: 1,
        principal: 'ci-deployer',
        principalArn: `arn:aws:iam::${ACCOUNT}:user/ci-deployer`,
        createdAt: new Date('2024-02-01T08:00:00Z'),
        lastRotatedAt: new Date('2024-02-01T08:00:00Z'),
        lastUsedAt: new Date('2024-03-05T10:15:00Z'),
        lastUsedService: 's3',
        lastUsedRegion: 'eu-west-1',
        tags: {},
      },
      {
        accountId: ACCOUNT,
        kind: 'access-key',
        keySlot: 2,
        principal: 'ci-deployer',
        principalArn: `arn:aws:iam::${ACCOUNT}:user/ci-deployer`,
        createdAt: new Date('2026-06-01T08:00:00Z'),
        lastRotatedAt: new Date('2026-06-01T08:00:00Z'),
        lastUsedAt: new Date('2026-11-21T23:59:00Z'),
        lastUsedService: 'sts',
        lastUsedRegion: 'us-east-1',
        tags: {},
      },
    ]);
    expect(keys.every((key) => key.id === undefined)).toBe(true);
  });

  it.each(['N/A', 'no_information', ''])('reads a last-used date of %j as never used', (lastUsed) => {
    const rows = parseCredentialReportCsv(
      report(
        reportLine('reporting', {
          access_key_1_active: 'true',
          access_key_1_last_rotated: '2025-01-01T00:00:00+00:00',
          access_key_1_last_used_date: lastUsed,
        }),
      ),
    );

    const [key] = accessKeysFromReport(rows, ACCOUNT);

    expect(key?.createdAt).toEqual(new Date('2025-01-01T00:00:00Z'));
    expect(key?.lastUsedAt).toBeUndefined();
    expect(key?.lastUsedService).toBeUndefined();
    expect(key?.lastUsedRegion).toBeUndefined();
  });

  it('skips inactive slots and reads an active second slot from its own columns only', () => {
    const rows = parseCredentialReportCsv(
      report(
        reportLine('rotated-user', {
          access_key_1_active: 'false',
          access_key_1_last_rotated: '2023-01-01T00:00:00+00:00',
          access_key_1_last_used_date: '2023-02-01T00:00:00+00:00',
          access_key_2_active: 'true',
          access_key_2_last_rotated: '2026-10-01T00:00:00+00:00',
          access_key_2_last_used_date: 'N/A',
        }),
        reportLine('no-keys'),
      ),
    );

    const keys = accessKeysFromReport(rows, ACCOUNT);

    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      principal: 'rotated-user',
      keySlot: 2,
      createdAt: new Date('2026-10-01T00:00:00Z'),
    });
    expect(keys[0]?.lastUsedAt).toBeUndefined();
  });
});

/** A RoleDetailList entry as GetAccountAuthorizationDetails documents it: the trust policy URL-encoded. */
function roleDetail(name: string, trust: object, extra: Partial<RoleDetail> = {}): RoleDetail {
  return {
    Path: '/',
    RoleName: name,
    RoleId: `AROA${name
      .toUpperCase()
      .replace(/[^A-Z]/g, '')
      .padEnd(17, 'X')}`,
    Arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
    CreateDate: new Date('2025-03-01T12:00:00Z'),
    AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: trust })),
    InstanceProfileList: [],
    RolePolicyList: [],
    AttachedManagedPolicies: [],
    Tags: [],
    RoleLastUsed: {},
    ...extra,
  };
}

const assumeBy = (principal: unknown, condition?: object) => [
  {
    Effect: 'Allow',
    Principal: principal,
    Action: 'sts:AssumeRole',
    ...(condition ? { Condition: condition } : {}),
  },
];

describe('passwordsFromReport', () => {
  it('gives each user with a console password a password credential: its last sign-in, and when it was set', () => {
    const rows = parseCredentialReportCsv(
      report(
        reportLine('alice', {
          password_enabled: 'true',
          password_last_used: '2026-08-01T10:00:00+00:00',
          password_last_changed: '2025-03-04T05:06:07+00:00',
          mfa_active: 'true',
        }),
        reportLine('bob', {
          password_enabled: 'true',
          password_last_used: 'no_information',
          password_last_changed: 'N/A',
        }),
        reportLine('ci-deployer', {
          access_key_1_active: 'true',
          access_key_1_last_rotated: '2024-02-01T08:00:00+00:00',
        }),
      ),
    );

    expect(passwordsFromReport(rows, ACCOUNT)).toEqual([
      {
        accountId: ACCOUNT,
        kind: 'password',
        id: 'alice',
        principal: 'alice',
        principalArn: `arn:aws:iam::${ACCOUNT}:user/alice`,
        createdAt: new Date('2025-03-04T05:06:07Z'),
        lastRotatedAt: new Date('2025-03-04T05:06:07Z'),
        lastUsedAt: new Date('2026-08-01T10:00:00Z'),
        tags: {},
      },
      {
        accountId: ACCOUNT,
        kind: 'password',
        id: 'bob',
        principal: 'bob',
        principalArn: `arn:aws:iam::${ACCOUNT}:user/bob`,
        // No date of its setting: the user's creation, the oldest it can be, so it is reviewed, not spared.
        createdAt: new Date('2024-01-10T09:00:00Z'),
        lastRotatedAt: new Date('2024-01-10T09:00:00Z'),
        lastUsedAt: undefined,
        tags: {},
      },
    ]);
  });

  it('counts a user without a console password (or the root account) as no password', () => {
    const rows = parseCredentialReportCsv(
      report(reportLine('carol', { password_last_used: '2026-01-01T00:00:00+00:00' })),
    );
    expect(passwordsFromReport(rows, ACCOUNT)).toEqual([]);
  });
});

describe('rolesInScope', () => {
  it('takes a vendor-trusted role with its trusted account, external id and last use', () => {
    const vendor = roleDetail(
      'datadog-integration',
      assumeBy({ AWS: `arn:aws:iam::${VENDOR}:root` }, { StringEquals: { 'sts:ExternalId': 'abc123' } }),
      {
        Tags: [{ Key: 'reauth:owner', Value: 'U0SEC' }],
        RoleLastUsed: { LastUsedDate: new Date('2026-11-20T06:00:00Z'), Region: 'us-east-1' },
      },
    );

    const roles = rolesInScope([vendor], ACCOUNT);

    expect(roles).toEqual([
      {
        accountId: ACCOUNT,
        kind: 'role',
        id: 'datadog-integration',
        principal: 'datadog-integration',
        principalArn: `arn:aws:iam::${ACCOUNT}:role/datadog-integration`,
        createdAt: new Date('2025-03-01T12:00:00Z'),
        lastUsedAt: new Date('2026-11-20T06:00:00Z'),
        lastUsedRegion: 'us-east-1',
        tags: { 'reauth:owner': 'U0SEC' },
        path: '/',
        trustedAccounts: [VENDOR],
        requiresExternalId: true,
      },
    ]);
  });

  it('marks a role with reauth-disabled attached or as its boundary as disabled by reauth, and not one whose policy only borrows its name', () => {
    const trust = assumeBy({ AWS: `arn:aws:iam::${VENDOR}:root` });
    const disableArn = `arn:aws:iam::${ACCOUNT}:policy/reauth/reauth-disabled`;
    const attached = (...arns: string[]) =>
      arns.map((PolicyArn) => ({ PolicyName: PolicyArn.split('/').pop(), PolicyArn }));
    const denyAll = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'ReauthDisabled', Effect: 'Deny', Action: '*', Resource: '*' }],
    };

    const roles = rolesInScope(
      [
        roleDetail('disabled', trust, {
          AttachedManagedPolicies: attached(`arn:aws:iam::aws:policy/ReadOnlyAccess`, disableArn),
        }),
        // A hub stack's copy is `<namePrefix>-disabled`.
        roleDetail('disabled-by-hub', trust, {
          AttachedManagedPolicies: attached(`arn:aws:iam::${ACCOUNT}:policy/reauth/acme-reauth-disabled`),
        }),
        // At IAM's quota of attached policies, reauth makes it the boundary instead.
        roleDetail('disabled-by-boundary', trust, {
          PermissionsBoundary: {
            PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
            PermissionsBoundaryArn: disableArn,
          },
        }),
        // A team's own inline deny named reauth-disabled, and its managed policy of that name outside /reauth/.
        roleDetail('inline-look-alike', trust, {
          RolePolicyList: [
            { PolicyName: 'reauth-disabled', PolicyDocument: encodeURIComponent(JSON.stringify(denyAll)) },
          ],
        }),
        roleDetail('managed-look-alike', trust, {
          AttachedManagedPolicies: attached(`arn:aws:iam::${ACCOUNT}:policy/reauth-disabled`),
        }),
        // reauth's session revocation ends old sessions; the role is not disabled.
        roleDetail('sessions-revoked', trust, {
          AttachedManagedPolicies: attached(
            `arn:aws:iam::${ACCOUNT}:policy/reauth/sessions/reauth-sessions-before-20261122T110000.000Z`,
          ),
        }),
        roleDetail('plain', trust),
      ],
      ACCOUNT,
    );

    expect(roles.map((role) => [role.id, role.disabledByReauth])).toEqual([
      ['disabled', true],
      ['disabled-by-hub', true],
      ['disabled-by-boundary', true],
      ['inline-look-alike', undefined],
      ['managed-look-alike', undefined],
      ['sessions-revoked', undefined],
      ['plain', undefined],
    ]);
  });

  it('leaves out roles trusted only by the same account or by services', () => {
    const roles = rolesInScope(
      [
        roleDetail('admin', assumeBy({ AWS: `arn:aws:iam::${ACCOUNT}:root` })),
        roleDetail('own-account-id', assumeBy({ AWS: ACCOUNT })),
        roleDetail('lambda-exec', assumeBy({ Service: 'lambda.amazonaws.com' })),
      ],
      ACCOUNT,
    );

    expect(roles).toEqual([]);
  });

  it('takes a role an OIDC provider can assume, with the provider and the subjects it trusts', () => {
    const [role] = rolesInScope(
      [
        roleDetail('github-deploy', [
          {
            Effect: 'Allow',
            Principal: {
              Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`,
            },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: { StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:acme/deploy:*' } },
          },
        ]),
      ],
      ACCOUNT,
    );

    expect(role).toMatchObject({
      id: 'github-deploy',
      trustedAccounts: [],
      federated: [
        { provider: 'oidc-provider/token.actions.githubusercontent.com', subjects: ['repo:acme/deploy:*'] },
      ],
    });
  });

  it('leaves out a role trusted only by accounts of the organization, and keeps the outside account of a mixed one', () => {
    const MEMBER = '222233334444';
    const zone = { accounts: [ACCOUNT, MEMBER] };

    const roles = rolesInScope(
      [
        roleDetail('from-member', assumeBy({ AWS: `arn:aws:iam::${MEMBER}:role/deployer` })),
        roleDetail('member-and-vendor', assumeBy({ AWS: [MEMBER, VENDOR] })),
      ],
      ACCOUNT,
      zone,
    );

    expect(roles.map((role) => [role.id, role.trustedAccounts])).toEqual([['member-and-vendor', [VENDOR]]]);
  });

  it('leaves out service-linked roles and cross-account statements that deny or do not grant AssumeRole', () => {
    const roles = rolesInScope(
      [
        roleDetail('AWSServiceRoleForSupport', assumeBy({ AWS: `arn:aws:iam::${VENDOR}:root` }), {
          Path: '/aws-service-role/support.amazonaws.com/',
        }),
        roleDetail('denied-vendor', [
          { Effect: 'Deny', Principal: { AWS: VENDOR }, Action: 'sts:AssumeRole' },
        ]),
        roleDetail('tag-session-only', [
          { Effect: 'Allow', Principal: { AWS: VENDOR }, Action: 'sts:TagSession' },
        ]),
      ],
      ACCOUNT,
    );

    expect(roles).toEqual([]);
  });

  it('takes a role tagged for reauth even when only its own account trusts it', () => {
    const roles = rolesInScope(
      [
        roleDetail('break-glass', assumeBy({ AWS: `arn:aws:iam::${ACCOUNT}:root` }), {
          Tags: [{ Key: 'reauth:tier', Value: 'critical' }],
        }),
      ],
      ACCOUNT,
    );

    expect(roles).toHaveLength(1);
    expect(roles[0]).toMatchObject({ id: 'break-glass', trustedAccounts: [], requiresExternalId: false });
    expect(roles[0]?.tags).toEqual({ 'reauth:tier': 'critical' });
    expect(roles[0]?.lastUsedAt).toBeUndefined();
  });

  it('leaves out a role whose tags mention reauth only in a value', () => {
    const roles = rolesInScope(
      [roleDetail('app', assumeBy({ AWS: ACCOUNT }), { Tags: [{ Key: 'team', Value: 'reauth:payments' }] })],
      ACCOUNT,
    );

    expect(roles).toEqual([]);
  });

  it.each([
    ['Principal "*"', '*'],
    ['Principal { AWS: "*" }', { AWS: '*' }],
  ])('treats a wildcard principal (%s) as any account', (_label, principal) => {
    const [role] = rolesInScope([roleDetail('open-role', assumeBy(principal))], ACCOUNT);

    expect(role?.trustedAccounts).toEqual(['*']);
    expect(role?.requiresExternalId).toBe(false);
  });

  it('collects every foreign account across principal forms, sorted and without the scanned account', () => {
    const trust = [
      {
        Effect: 'Allow',
        Principal: {
          AWS: [
            `arn:aws:iam::${VENDOR}:role/connector`,
            OTHER_VENDOR,
            `arn:aws:iam::${ACCOUNT}:root`,
            `arn:aws:iam::${VENDOR}:root`,
          ],
        },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: { StringEquals: { 'sts:ExternalId': 'x' } },
      },
      { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ];

    const [role] = rolesInScope([roleDetail('multi-vendor', trust)], ACCOUNT);

    expect(role?.trustedAccounts).toEqual([OTHER_VENDOR, VENDOR]);
    expect(role?.requiresExternalId).toBe(true);
  });

  it('says no external id is required when one statement trusting another account lacks it', () => {
    const trust = [
      {
        Effect: 'Allow',
        Principal: { AWS: VENDOR },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': 'x' } },
      },
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OTHER_VENDOR}:root` }, Action: 'sts:*' },
    ];

    const [role] = rolesInScope([roleDetail('mixed', trust)], ACCOUNT);

    expect(role?.trustedAccounts).toEqual([OTHER_VENDOR, VENDOR]);
    expect(role?.requiresExternalId).toBe(false);
  });

  it('reads a trust policy encoded with + for spaces, and one given as plain JSON', () => {
    const json = JSON.stringify({ Version: '2012-10-17', Statement: assumeBy({ AWS: VENDOR }) }, null, 1);
    const formEncoded = encodeURIComponent(json).replace(/%20/g, '+');

    const roles = rolesInScope(
      [
        roleDetail('form-encoded', [], { AssumeRolePolicyDocument: formEncoded }),
        roleDetail('plain', [], { AssumeRolePolicyDocument: json }),
      ],
      ACCOUNT,
    );

    expect(roles.map((role) => [role.id, role.trustedAccounts])).toEqual([
      ['form-encoded', [VENDOR]],
      ['plain', [VENDOR]],
    ]);
  });
});

type Step = Record<string, unknown> | Error;

/**
 * An IAM client answering each command from a script of documented response shapes or errors, and
 * recording what was sent and slept: the faults IAM produces under load, which the emulator cannot.
 */
function scriptedIam(script: { GenerateCredentialReport?: Step[]; GetCredentialReport?: Step[] }) {
  const sent: string[] = [];
  const slept: number[] = [];
  const iam = {
    send: async (command: object) => {
      const name = command.constructor.name.replace(/Command$/, '') as keyof typeof script;
      sent.push(name);
      const step = script[name]?.shift();
      if (!step) throw new Error(`unscripted call: ${name}`);
      if (step instanceof Error) throw step;
      return { $metadata: {}, ...step };
    },
  } as unknown as IAMClient;
  const sleep = async (ms: number) => {
    slept.push(ms);
  };
  return { iam, sent, slept, sleep };
}

const meta = { $metadata: {} };
const reportCsv = report(
  reportLine('ci-deployer', {
    access_key_1_active: 'true',
    access_key_1_last_rotated: '2026-01-01T00:00:00+00:00',
  }),
);
const reportGeneratedAt = (at: Date) => ({
  Content: new TextEncoder().encode(reportCsv),
  ReportFormat: 'text/csv',
  GeneratedTime: at,
});
const minutesBefore = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
const named = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('readCredentialReport', () => {
  it('reuses a report younger than the maximum age without generating one', async () => {
    const fake = scriptedIam({ GetCredentialReport: [reportGeneratedAt(minutesBefore(30))] });

    const { rows } = await readCredentialReport(fake.iam, { now: NOW, maxAgeMinutes: 60, sleep: fake.sleep });

    expect(rows.map((row) => row.user)).toEqual(['ci-deployer']);
    expect(fake.sent).toEqual(['GetCredentialReport']);
    expect(fake.slept).toEqual([]);
  });

  it('generates a new report when the existing one is too old, asking every second while it is in progress', async () => {
    const fake = scriptedIam({
      GetCredentialReport: [
        reportGeneratedAt(minutesBefore(61)),
        new CredentialReportNotReadyException({ message: 'Report is in progress', ...meta }),
        reportGeneratedAt(minutesBefore(0)),
      ],
      GenerateCredentialReport: [
        { State: 'STARTED', Description: 'No report exists. Starting a new report generation task' },
      ],
    });

    const { rows } = await readCredentialReport(fake.iam, { now: NOW, maxAgeMinutes: 60, sleep: fake.sleep });

    expect(rows).toHaveLength(1);
    expect(fake.sent).toEqual([
      'GetCredentialReport',
      'GenerateCredentialReport',
      'GetCredentialReport',
      'GetCredentialReport',
    ]);
    expect(fake.slept).toEqual([1000, 1000]);
  });

  it('waits for a report already being generated (started ahead) without asking for another', async () => {
    const fake = scriptedIam({
      GetCredentialReport: [
        new CredentialReportNotReadyException({ message: 'Report is in progress', ...meta }),
        new CredentialReportNotReadyException({ message: 'Report is in progress', ...meta }),
        reportGeneratedAt(NOW),
      ],
    });

    const { rows } = await readCredentialReport(fake.iam, { now: NOW, maxAgeMinutes: 60, sleep: fake.sleep });

    expect(rows).toHaveLength(1);
    expect(fake.sent).toEqual(['GetCredentialReport', 'GetCredentialReport', 'GetCredentialReport']);
    expect(fake.slept).toEqual([1000, 1000]);
  });

  it('backs off and retries when GenerateCredentialReport hits its limit', async () => {
    const fake = scriptedIam({
      GetCredentialReport: [
        new CredentialReportNotPresentException({ message: 'Credential report not present', ...meta }),
        reportGeneratedAt(NOW),
      ],
      GenerateCredentialReport: [
        new LimitExceededException({ message: 'Rate exceeded', ...meta }),
        new LimitExceededException({ message: 'Rate exceeded', ...meta }),
        { State: 'INPROGRESS' },
      ],
    });

    const { rows } = await readCredentialReport(fake.iam, { now: NOW, maxAgeMinutes: 60, sleep: fake.sleep });

    expect(rows).toHaveLength(1);
    // Doubling on the limit only; then the fixed poll while it is generated.
    expect(fake.slept).toEqual([1000, 2000, 1000]);
  });

  it('handles errors carrying the raw IAM codes ReportInProgress and LimitExceeded', async () => {
    const fake = scriptedIam({
      GetCredentialReport: [
        named('ReportExpired', 'The report has expired'),
        named('ReportInProgress', 'Report is in progress'),
        reportGeneratedAt(NOW),
      ],
      GenerateCredentialReport: [named('LimitExceeded', 'Rate exceeded'), { State: 'COMPLETE' }],
    });

    const { rows } = await readCredentialReport(fake.iam, { now: NOW, maxAgeMinutes: 60, sleep: fake.sleep });

    expect(rows).toHaveLength(1);
    expect(fake.slept).toEqual([1000, 1000]);
  });

  it('generates again when a completed report has expired by the time it is read', async () => {
    const fake = scriptedIam({
      GetCredentialReport: [
        new CredentialReportExpiredException({ message: 'expired', ...meta }),
        new CredentialReportExpiredException({ message: 'expired', ...meta }),
        reportGeneratedAt(NOW),
      ],
      GenerateCredentialReport: [{ State: 'COMPLETE' }, { State: 'COMPLETE' }],
    });

    const { rows } = await readCredentialReport(fake.iam, { now: NOW, maxAgeMinutes: 60, sleep: fake.sleep });

    expect(rows).toHaveLength(1);
    expect(fake.sent).toEqual([
      'GetCredentialReport',
      'GenerateCredentialReport',
      'GetCredentialReport',
      'GenerateCredentialReport',
      'GetCredentialReport',
    ]);
  });

  it('gives up with a clear error once the total wait would pass its bound', async () => {
    const inProgress = () =>
      new CredentialReportNotReadyException({ message: 'Report is in progress', ...meta });
    const fake = scriptedIam({
      GetCredentialReport: [inProgress(), ...Array.from({ length: 20 }, inProgress)],
      GenerateCredentialReport: [{ State: 'STARTED' }],
    });

    const reading = readCredentialReport(fake.iam, {
      now: NOW,
      maxAgeMinutes: 60,
      sleep: fake.sleep,
      maxWaitMs: 10_500,
    });

    await expect(reading).rejects.toThrow(CredentialReportUnavailableError);
    await expect(reading).rejects.toThrow(/not available after waiting 10s/);
    expect(fake.slept).toEqual(Array(10).fill(1000));
  });

  it('lets other IAM errors through untouched', async () => {
    const denied = named('AccessDenied', 'not authorized to perform iam:GetCredentialReport');
    const fake = scriptedIam({ GetCredentialReport: [denied] });

    await expect(
      readCredentialReport(fake.iam, { now: NOW, maxAgeMinutes: 60, sleep: fake.sleep }),
    ).rejects.toBe(denied);
  });
});

describe('readStatusCredentials', () => {
  /** An IAM client answering each command from a queue of documented response shapes, recording inputs. */
  function listingIam(script: Record<string, Record<string, unknown>[]>) {
    const sent: [string, Record<string, unknown>][] = [];
    const iam = {
      send: async (command: { input: Record<string, unknown> }) => {
        const name = command.constructor.name.replace(/Command$/, '');
        sent.push([name, command.input]);
        const answer = script[name]?.shift();
        if (!answer) throw new Error(`unscripted call: ${name} ${JSON.stringify(command.input)}`);
        return { $metadata: {}, ...answer };
      },
    } as unknown as IAMClient;
    return { iam, sent };
  }
  const at = new Date('2025-01-01T00:00:00Z');
  const rows = parseCredentialReportCsv(
    report(
      reportLine('alice', { cert_1_active: 'true', cert_1_last_rotated: '2025-01-01T00:00:00+00:00' }),
      reportLine('bob', { cert_1_active: 'false', cert_1_last_rotated: '2025-01-01T00:00:00+00:00' }),
      reportLine('carol', {}),
    ),
  );

  it('lists certificates only for users with an active one, SSH keys per user, service credentials of all users in pages, and keeps the Active ones', async () => {
    const { iam, sent } = listingIam({
      ListSigningCertificates: [
        {
          Certificates: [
            {
              UserName: 'alice',
              CertificateId: 'CERTACTIVE',
              Status: 'Active',
              UploadDate: at,
              CertificateBody: '',
            },
            {
              UserName: 'alice',
              CertificateId: 'CERTOFF',
              Status: 'Inactive',
              UploadDate: at,
              CertificateBody: '',
            },
          ],
          IsTruncated: false,
        },
      ],
      ListSSHPublicKeys: [
        {
          SSHPublicKeys: [
            { UserName: 'alice', SSHPublicKeyId: 'APKAALICE', Status: 'Active', UploadDate: at },
          ],
        },
        { SSHPublicKeys: [] },
        {
          SSHPublicKeys: [
            { UserName: 'carol', SSHPublicKeyId: 'APKACAROL', Status: 'Inactive', UploadDate: at },
          ],
        },
      ],
      ListServiceSpecificCredentials: [
        {
          ServiceSpecificCredentials: [
            {
              UserName: 'bob',
              ServiceSpecificCredentialId: 'ACCABOB',
              ServiceName: 'codecommit.amazonaws.com',
              Status: 'Active',
              CreateDate: at,
            },
          ],
          IsTruncated: true,
          Marker: 'page-2',
        },
        {
          ServiceSpecificCredentials: [
            {
              UserName: 'carol',
              ServiceSpecificCredentialId: 'ACCACAROL',
              ServiceName: 'bedrock.amazonaws.com',
              Status: 'Expired',
              CreateDate: at,
            },
          ],
          IsTruncated: false,
        },
      ],
    });

    const found = await readStatusCredentials(iam, rows, { accountId: ACCOUNT, sshKeysOf: () => true });

    expect(found.map((c) => [c.kind, c.id, c.principal])).toEqual([
      ['signing-certificate', 'CERTACTIVE', 'alice'],
      ['ssh-key', 'APKAALICE', 'alice'],
      ['service-credential', 'ACCABOB', 'bob'],
    ]);
    expect(found[2]).toMatchObject({
      serviceName: 'codecommit.amazonaws.com',
      principalArn: `arn:aws:iam::${ACCOUNT}:user/bob`,
      createdAt: at,
      lastRotatedAt: at,
    });
    expect(
      sent.filter(([name]) => name === 'ListSigningCertificates').map(([, input]) => input.UserName),
    ).toEqual(['alice']);
    expect(sent.filter(([name]) => name === 'ListSSHPublicKeys')).toHaveLength(3);
    expect(
      sent.filter(([name]) => name === 'ListServiceSpecificCredentials').map(([, input]) => input),
    ).toEqual([
      { AllUsers: true, Marker: undefined },
      { AllUsers: true, Marker: 'page-2' },
    ]);
  });

  it('makes no SSH key call when told not to list them', async () => {
    const { iam, sent } = listingIam({
      ListSigningCertificates: [{ Certificates: [] }],
      ListServiceSpecificCredentials: [{ ServiceSpecificCredentials: [] }],
    });
    expect(await readStatusCredentials(iam, rows, { accountId: ACCOUNT, sshKeysOf: () => false })).toEqual(
      [],
    );
    expect(sent.map(([name]) => name)).toEqual(['ListSigningCertificates', 'ListServiceSpecificCredentials']);
  });
});

describe('whose SSH keys a run lists (listSshPublicKeys)', () => {
  const users = Array.from({ length: 7000 }, (_, i) => `svc-${i}`);
  const day = (n: number) => new Date(Date.UTC(2026, 11, 6 + n, 6));

  it('weekly: every user on exactly one day of any seven, about a seventh a day', () => {
    for (const user of users.slice(0, 200)) {
      const days = [0, 1, 2, 3, 4, 5, 6].filter((n) => listsSshKeysOf(user, day(n), 'weekly'));
      expect(days, user).toHaveLength(1);
    }
    const today = users.filter((user) => listsSshKeysOf(user, day(0), 'weekly')).length;
    expect(today).toBeGreaterThan(800);
    expect(today).toBeLessThan(1200);
    // The same day at another hour lists the same users: a run's choice is the day's.
    expect(
      users.filter((user) => listsSshKeysOf(user, new Date(day(0).getTime() + 3_600_000 * 10), 'weekly')),
    ).toHaveLength(today);
  });

  it('daily lists everyone, never no one', () => {
    expect(users.every((user) => listsSshKeysOf(user, day(0), 'daily'))).toBe(true);
    expect(users.some((user) => listsSshKeysOf(user, day(0), 'never'))).toBe(false);
  });
});
