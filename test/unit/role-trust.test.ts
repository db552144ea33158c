import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/shared/domain/credential';
import { describeFinding, evaluateCredential } from '../../lambdas/shared/domain/evaluate';
import { describeTrust, identify } from '../../lambdas/shared/domain/identification';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { classifyTrust, type TrustZone } from '../../lambdas/shared/domain/role-trust';
import { isTooBroad } from '../../lambdas/shared/domain/trust-breadth';

const ACCOUNT = '111122223333';
const MEMBER = '222233334444';
const OUTSIDER = '999988887777';
const ORG = 'o-a1b2c3d4e5';
const ZONE: TrustZone = { accounts: [ACCOUNT, MEMBER], organizationId: ORG };
const GITHUB = 'token.actions.githubusercontent.com';
const NOW = new Date('2026-12-01T00:00:00Z');

const trust = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const assume = (principal: unknown, condition?: object) => ({
  Effect: 'Allow',
  Principal: principal,
  Action: 'sts:AssumeRole',
  ...(condition && { Condition: condition }),
});
const oidc = (host: string, condition?: object) => ({
  Effect: 'Allow',
  Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${host}` },
  Action: 'sts:AssumeRoleWithWebIdentity',
  ...(condition && { Condition: condition }),
});

describe('classifyTrust: the organization is the zone of trust', () => {
  it('counts an account of the organization as internal and one outside it as a third party', () => {
    expect(classifyTrust(trust(assume({ AWS: `arn:aws:iam::${MEMBER}:root` })), ACCOUNT, ZONE)).toEqual({
      trustedAccounts: [],
      requiresExternalId: false,
      federated: [],
    });
    expect(
      classifyTrust(
        trust(assume({ AWS: OUTSIDER }, { StringEquals: { 'sts:ExternalId': 'x' } })),
        ACCOUNT,
        ZONE,
      ),
    ).toEqual({ trustedAccounts: [OUTSIDER], requiresExternalId: true, federated: [] });
  });

  it('in single-account mode counts another account of the organization as a third party, as before', () => {
    expect(classifyTrust(trust(assume({ AWS: MEMBER })), ACCOUNT).trustedAccounts).toEqual([MEMBER]);
  });

  it.each([
    ['StringEquals', { StringEquals: { 'aws:PrincipalOrgID': ORG } }],
    ['a list of the one org id', { StringEquals: { 'aws:PrincipalOrgID': [ORG] } }],
    ['the key in another case', { StringEquals: { 'aws:principalorgid': ORG } }],
    ['StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { 'aws:PrincipalOrgID': ORG.toUpperCase() } }],
    ['ForAnyValue:StringEquals', { 'ForAnyValue:StringEquals': { 'aws:PrincipalOrgID': ORG } }],
    ['StringLike without a wildcard', { StringLike: { 'aws:PrincipalOrgID': ORG } }],
    [
      'PrincipalOrgPaths under the organization',
      { 'ForAnyValue:StringLike': { 'aws:PrincipalOrgPaths': [`${ORG}/r-ab12/ou-ab12-11111111/*`] } },
    ],
  ])('counts `*` restricted to the organization by %s as internal', (_label, condition) => {
    for (const principal of ['*', { AWS: '*' }]) {
      expect(classifyTrust(trust(assume(principal, condition)), ACCOUNT, ZONE).trustedAccounts).toEqual([]);
    }
  });

  it.each([
    ['another org id', { StringEquals: { 'aws:PrincipalOrgID': 'o-zzzzzzzzzz' } }],
    ['a list with another org id', { StringEquals: { 'aws:PrincipalOrgID': [ORG, 'o-zzzzzzzzzz'] } }],
    ['StringLike with a wildcard', { StringLike: { 'aws:PrincipalOrgID': 'o-a1b2*' } }],
    ['a wildcard org id', { StringLike: { 'aws:PrincipalOrgID': '*' } }],
    [
      'StringEqualsIfExists (true when the key is absent)',
      { StringEqualsIfExists: { 'aws:PrincipalOrgID': ORG } },
    ],
    [
      'ForAllValues (true when the key is absent)',
      { 'ForAllValues:StringEquals': { 'aws:PrincipalOrgID': ORG } },
    ],
    ['a negated condition', { StringNotEquals: { 'aws:PrincipalOrgID': ORG } }],
    [
      'PrincipalOrgPaths under a prefix of the id',
      { 'ForAnyValue:StringLike': { 'aws:PrincipalOrgPaths': ['o-a1b2*'] } },
    ],
    ['another condition key', { StringEquals: { 'aws:SourceOrgID': ORG } }],
  ])('counts `*` under %s as any account', (_label, condition) => {
    expect(classifyTrust(trust(assume('*', condition)), ACCOUNT, ZONE).trustedAccounts).toEqual(['*']);
  });

  it('honours a PrincipalOrgID condition only when the organization id is given', () => {
    const orgOnly = trust(assume('*', { StringEquals: { 'aws:PrincipalOrgID': ORG } }));

    expect(classifyTrust(orgOnly, ACCOUNT).trustedAccounts).toEqual(['*']);
    expect(classifyTrust(orgOnly, ACCOUNT, { accounts: [ACCOUNT, MEMBER] }).trustedAccounts).toEqual(['*']);
  });

  it('keeps the outside account of a statement beside an internal `*` one, and judges ExternalId on it alone', () => {
    const mixed = trust(
      assume('*', { StringEquals: { 'aws:PrincipalOrgID': ORG } }),
      assume({ AWS: [MEMBER, OUTSIDER] }, { StringEquals: { 'sts:ExternalId': 'x' } }),
    );

    expect(classifyTrust(mixed, ACCOUNT, ZONE)).toEqual({
      trustedAccounts: [OUTSIDER],
      requiresExternalId: true,
      federated: [],
    });
  });
});

describe('classifyTrust: conditions that pin the principal', () => {
  it('reads `*` pinned by aws:PrincipalArn or aws:PrincipalAccount as the accounts it names, and a wildcard account as no pin', () => {
    const self = `arn:aws:iam::${ACCOUNT}:role/admin`;
    expect(
      classifyTrust(trust(assume({ AWS: '*' }, { ArnLike: { 'aws:PrincipalArn': self } })), ACCOUNT)
        .trustedAccounts,
    ).toEqual([]);
    expect(
      classifyTrust(
        trust(assume({ AWS: '*' }, { StringEquals: { 'aws:PrincipalAccount': [OUTSIDER] } })),
        ACCOUNT,
      ).trustedAccounts,
    ).toEqual([OUTSIDER]);
    expect(
      classifyTrust(
        trust(assume({ AWS: '*' }, { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/admin' } })),
        ACCOUNT,
      ).trustedAccounts,
    ).toEqual(['*']);
    // Optional when absent: it pins nothing.
    expect(
      classifyTrust(trust(assume({ AWS: '*' }, { ArnLikeIfExists: { 'aws:PrincipalArn': self } })), ACCOUNT)
        .trustedAccounts,
    ).toEqual(['*']);
  });
});

describe('classifyTrust: federated connectors', () => {
  it('reads the web identity providers IAM knows by name, and judges them by their user and app claims', () => {
    const web = (provider: string, condition: object) => ({
      Effect: 'Allow',
      Principal: { Federated: provider },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: condition,
    });
    const google = classifyTrust(
      trust(web('accounts.google.com', { StringEquals: { 'accounts.google.com:aud': '666777888999000' } })),
      ACCOUNT,
    ).federated;
    expect(google).toEqual([
      { provider: 'oidc-provider/accounts.google.com', subjects: [], audiences: ['666777888999000'] },
    ]);
    // Any Google account signed in to the app: too broad.
    expect(google.some((f) => isTooBroad(f))).toBe(true);
    const pool = 'us-east-1:12345678-ffff-ffff-ffff-123456';
    // An identity pool of the account's own decides who gets in; without a pool, any pool's identity does.
    expect(
      classifyTrust(
        trust(
          web('cognito-identity.amazonaws.com', {
            StringEquals: { 'cognito-identity.amazonaws.com:aud': pool },
          }),
        ),
        ACCOUNT,
      ).federated.some((f) => isTooBroad(f)),
    ).toBe(false);
    expect(
      classifyTrust(trust(web('cognito-identity.amazonaws.com', {})), ACCOUNT).federated.some((f) =>
        isTooBroad(f),
      ),
    ).toBe(true);
  });

  it('names a GitHub OIDC provider and the subject it trusts', () => {
    const { trustedAccounts, federated } = classifyTrust(
      trust(
        oidc(GITHUB, {
          StringEquals: { [`${GITHUB}:aud`]: 'sts.amazonaws.com' },
          StringLike: { [`${GITHUB}:sub`]: 'repo:acme/deploy:*' },
        }),
      ),
      ACCOUNT,
      ZONE,
    );

    expect(trustedAccounts).toEqual([]);
    expect(federated).toEqual([
      {
        provider: `oidc-provider/${GITHUB}`,
        subjects: ['repo:acme/deploy:*'],
        audiences: ['sts.amazonaws.com'],
      },
    ]);
    expect(federated.some((t) => isTooBroad(t))).toBe(false);
  });

  it.each([
    ['no condition at all', undefined],
    ['only an audience', { StringEquals: { [`${GITHUB}:aud`]: 'sts.amazonaws.com' } }],
    ['a bare `*` subject', { StringLike: { [`${GITHUB}:sub`]: '*' } }],
    ['a negated subject', { StringNotLike: { [`${GITHUB}:sub`]: 'repo:evil/*' } }],
  ])('finds an OIDC trust with %s too broad', (_label, condition) => {
    const { federated } = classifyTrust(trust(oidc(GITHUB, condition)), ACCOUNT);

    expect(federated).toHaveLength(1);
    expect(federated.some((t) => isTooBroad(t))).toBe(true);
  });

  it('reads any OIDC provider, GitLab and Terraform Cloud alike, by its own subject key', () => {
    const { federated } = classifyTrust(
      trust(
        oidc('gitlab.com', {
          StringLike: { 'gitlab.com:sub': 'project_path:acme/infra:ref_type:branch:ref:main' },
        }),
        oidc('app.terraform.io', { StringLike: { 'app.terraform.io:sub': 'organization:acme:project:*' } }),
        // The GitHub key under another provider is not its subject.
        oidc('oidc.eks.eu-west-1.amazonaws.com/id/ABC', { StringLike: { [`${GITHUB}:sub`]: 'repo:a/b:*' } }),
      ),
      ACCOUNT,
    );

    expect(federated).toEqual([
      {
        provider: 'oidc-provider/gitlab.com',
        subjects: ['project_path:acme/infra:ref_type:branch:ref:main'],
        audiences: [],
      },
      {
        provider: 'oidc-provider/app.terraform.io',
        subjects: ['organization:acme:project:*'],
        audiences: [],
      },
      { provider: 'oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC', subjects: [], audiences: [] },
    ]);
  });

  it('takes a SAML provider with sts:AssumeRoleWithSAML; its subject is optional, the IdP assigns the role', () => {
    const saml = (condition?: object) => ({
      Effect: 'Allow',
      Principal: { Federated: `arn:aws:iam::${ACCOUNT}:saml-provider/Okta` },
      Action: 'sts:AssumeRoleWithSAML',
      ...(condition && { Condition: condition }),
    });

    const plain = classifyTrust(
      trust(saml({ StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml' } })),
      ACCOUNT,
    );
    const withSubject = classifyTrust(
      trust(saml({ StringEquals: { 'SAML:sub': 'ops@acme.example' } })),
      ACCOUNT,
    );

    expect(plain.federated).toEqual([{ provider: 'saml-provider/Okta', subjects: [] }]);
    expect(plain.federated.some((t) => isTooBroad(t))).toBe(false);
    expect(withSubject.federated).toEqual([
      { provider: 'saml-provider/Okta', subjects: ['ops@acme.example'] },
    ]);
  });

  it('ignores a federated principal whose statement denies, or allows another action', () => {
    const denied = { ...oidc(GITHUB), Effect: 'Deny' };
    const wrongAction = { ...oidc(GITHUB), Action: 'sts:AssumeRoleWithSAML' };

    expect(classifyTrust(trust(denied, wrongAction), ACCOUNT).federated).toEqual([]);
  });
});

describe('trust-too-broad', () => {
  const policy = parsePolicyConfig({});
  const role = (federated: Credential['federated']): Credential => ({
    accountId: ACCOUNT,
    kind: 'role',
    id: 'ci',
    principal: 'ci',
    principalArn: `arn:aws:iam::${ACCOUNT}:role/ci`,
    createdAt: new Date('2026-11-20T00:00:00Z'),
    lastUsedAt: new Date('2026-11-30T00:00:00Z'),
    tags: { 'reauth:owner': 'U0PLATFORM' },
    trustedAccounts: [],
    requiresExternalId: false,
    federated,
  });

  it('flags an OIDC role with no subject, says why, and leaves a role with a subject alone', () => {
    const open = evaluateCredential(
      role([{ provider: `oidc-provider/${GITHUB}`, subjects: [] }]),
      undefined,
      policy,
      NOW,
    );
    const pinned = evaluateCredential(
      role([{ provider: `oidc-provider/${GITHUB}`, subjects: ['repo:acme/deploy:*'] }]),
      undefined,
      policy,
      NOW,
    );

    expect(open.outcome).toBe('finding');
    if (open.outcome !== 'finding') return;
    expect(open.triggers).toEqual(['trust-too-broad']);
    expect(describeFinding(open)).toBe(
      'no `sub` condition leaves the owner open: any GitHub repository can assume this role; an attacker needs only a workflow in a repository of their own',
    );
    expect(open.evidence.federated).toEqual([{ provider: `oidc-provider/${GITHUB}`, subjects: [] }]);
    expect(open.evidence.openTrust).toEqual([
      expect.objectContaining({ provider: `oidc-provider/${GITHUB}`, claim: 'sub', part: 'owner' }),
    ]);
    expect(pinned.outcome).toBe('ok');
  });

  it('shows the provider and its subjects to the owner', () => {
    const described = (federated: Credential['federated']) => describeTrust(identify(role(federated)));

    expect(described([{ provider: `oidc-provider/${GITHUB}`, subjects: ['repo:acme/deploy:*'] }])).toBe(
      `OIDC ${GITHUB} (GitHub Actions) for repo:acme/deploy:*`,
    );
    expect(described([{ provider: 'oidc-provider/gitlab.com', subjects: [] }])).toBe(
      'OIDC gitlab.com (GitLab) for any subject (no subject condition)',
    );
    expect(described([{ provider: 'saml-provider/Okta', subjects: [] }])).toBe('SAML Okta');
    expect(
      describeTrust(
        identify({
          ...role([{ provider: 'saml-provider/Okta', subjects: ['ops@acme.example'] }]),
          trustedAccounts: [OUTSIDER],
        }),
      ),
    ).toBe(`${OUTSIDER}; no ExternalId required; SAML Okta for ops@acme.example`);
  });
});
