import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/shared/domain/credential';
import { describeFinding, evaluateCredential } from '../../lambdas/shared/domain/evaluate';
import { describeTrust, identify } from '../../lambdas/shared/domain/identification';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { classifyTrust, type FederatedTrust } from '../../lambdas/shared/domain/role-trust';
import { openTrust } from '../../lambdas/shared/domain/trust-breadth';

const ACCOUNT = '111122223333';
const GITHUB = 'token.actions.githubusercontent.com';
const GITLAB = 'gitlab.com';
const TERRAFORM = 'app.terraform.io';
const BUILDKITE = 'agent.buildkite.com';
const BITBUCKET = 'api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc';
const CIRCLE_ORG = '8e4bf53a-43a1-4d2c-9c1e-3f2b6a0c2d11';
const CIRCLECI = `oidc.circleci.com/org/${CIRCLE_ORG}`;
const EKS = 'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E';
const NOW = new Date('2026-12-01T00:00:00Z');

/** The provider's trust as reauth reads it from a trust policy with `condition`. */
function federated(host: string, condition?: object): FederatedTrust {
  const statement = {
    Effect: 'Allow',
    Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${host}` },
    Action: 'sts:AssumeRoleWithWebIdentity',
    ...(condition && { Condition: condition }),
  };
  const [trust] = classifyTrust(JSON.stringify({ Statement: [statement] }), ACCOUNT).federated;
  if (!trust) throw new Error('no federated trust read');
  return trust;
}
const like = (host: string, sub: string | string[], aud = 'sts.amazonaws.com') => ({
  StringEquals: { [`${host}:aud`]: aud },
  StringLike: { [`${host}:sub`]: sub },
});
/** The parts `sub` leaves open under `host` (StringLike, with an audience), given the owners that are yours. */
const openParts = (host: string, sub: string | undefined, owners: string[] = []) =>
  openTrust(
    federated(host, sub === undefined ? { StringEquals: { [`${host}:aud`]: 'x' } } : like(host, sub)),
    owners,
  ).map((open) => open.part);

describe('trust-too-broad: GitHub Actions', () => {
  it.each([
    ['no sub condition', undefined, 'owner'],
    ['a bare `*`', '*', 'owner'],
    ['`repo:*` (any owner)', 'repo:*', 'owner'],
    ['a wildcard inside the owner (acme-evil)', 'repo:acme*', 'owner'],
    ['a wildcard owner with a fixed repository name', 'repo:*/deploy:ref:refs/heads/main', 'owner'],
    ['`repo:owner/*` (any repository of the owner)', 'repo:acme/*:ref:refs/heads/main', 'repository'],
    ['a wildcard inside the repository name (deploy-evil)', 'repo:acme/deploy*', 'repository'],
    ['a `?` in the repository name', 'repo:acme/de?loy:ref:refs/heads/main', 'repository'],
    ['an owner-only customized subject, even exact', 'repository_owner:acme:environment:prod', 'repository'],
    [
      "a reusable workflow's ref alone (any caller's repository)",
      'job_workflow_ref:acme/pipelines/.github/workflows/deploy.yml@refs/heads/main',
      'owner',
    ],
  ])('finds %s too broad', (_label, sub, part) => {
    expect(openParts(GITHUB, sub)).toEqual([part]);
  });

  it.each([
    ['any ref of one repository', 'repo:acme/deploy:*'],
    ['one branch', 'repo:acme/deploy:ref:refs/heads/main'],
    ['one environment', 'repo:acme/deploy:environment:prod'],
    ['pull requests of one repository', 'repo:acme/deploy:pull_request'],
    ['immutable ids of owner and repository', 'repository_owner_id:1342004:repository_id:92467:*'],
  ])('leaves %s alone', (_label, sub) => {
    expect(openParts(GITHUB, sub)).toEqual([]);
  });

  it('says which part is open and what an attacker needs', () => {
    const [anyRepo] = openTrust(federated(GITHUB, like(GITHUB, 'repo:*')));
    const [anyOfAcme] = openTrust(federated(GITHUB, like(GITHUB, 'repo:acme/*:ref:refs/heads/main')));

    expect(anyRepo).toEqual({
      provider: `oidc-provider/${GITHUB}`,
      claim: 'sub',
      value: 'repo:*',
      part: 'owner',
      why: 'sub `repo:*` leaves the owner open: any GitHub repository can assume this role; an attacker needs only a workflow in a repository of their own',
    });
    expect(anyOfAcme?.why).toBe(
      "sub `repo:acme/*:ref:refs/heads/main` leaves the repository open: any repository of `acme` can assume this role; an attacker needs a workflow in any repository of `acme` (push access to one, or the right to create one) (if `acme` is yours and that is deliberate, name it in the policy's trustedOidcOwners)",
    );
  });

  it('takes `repo:acme/*` as deliberate when acme is one of trustedOidcOwners, in any case, and only then', () => {
    const sub = 'repo:acme/*:ref:refs/heads/main';

    expect(openParts(GITHUB, sub, ['acme'])).toEqual([]);
    expect(openParts(GITHUB, sub, ['ACME'])).toEqual([]);
    expect(openParts(GITHUB, sub, ['acme-labs'])).toEqual(['repository']);
    // A wildcard in the owner itself is never deliberate: `acme*` is also `acme-evil`.
    expect(openParts(GITHUB, 'repo:acme*', ['acme'])).toEqual(['owner']);
    expect(openParts(GITHUB, 'repo:*', ['acme'])).toEqual(['owner']);
  });

  it('reads `*` as a wildcard under StringLike and as the character under StringEquals', () => {
    const sub = 'repo:acme/*:ref:refs/heads/main';
    const exact = federated(GITHUB, { StringEquals: { [`${GITHUB}:sub`]: sub } });
    const exactStar = federated(GITHUB, { StringEquals: { [`${GITHUB}:sub`]: '*' } });

    expect(openParts(GITHUB, sub)).toEqual(['repository']);
    expect(exact.subjects).toEqual(['repo:acme/${*}:ref:refs/heads/main']);
    expect(openTrust(exact)).toEqual([]);
    expect(openTrust(exactStar)).toEqual([]);
  });

  it('judges by the narrowest subject condition when several must all hold', () => {
    const both = federated(GITHUB, {
      StringEquals: { [`${GITHUB}:sub`]: 'repo:acme/deploy:ref:refs/heads/main' },
      StringLike: { [`${GITHUB}:sub`]: 'repo:*' },
    });

    expect(both.subjects).toEqual(['repo:acme/deploy:ref:refs/heads/main']);
    expect(openTrust(both)).toEqual([]);
  });

  it('finds every open subject of a list, each with its own part', () => {
    const open = openTrust(
      federated(GITHUB, like(GITHUB, ['repo:acme/deploy:*', 'repo:acme/*', 'repo:octo*/tools:*'])),
    );

    expect(open.map(({ value, part }) => [value, part])).toEqual([
      ['repo:acme/*', 'repository'],
      ['repo:octo*/tools:*', 'owner'],
    ]);
  });

  it('names a GitHub Enterprise issuer as the only place tokens come from', () => {
    const [open] = openTrust(federated(`${GITHUB}/acme-corp`, like(`${GITHUB}/acme-corp`, 'repo:*')));

    expect(open?.why).toContain('any repository of the GitHub enterprise `acme-corp` can assume this role');
  });
});

describe('trust-too-broad: GitLab', () => {
  it.each([
    ['no sub condition', undefined, 'group'],
    ['`project_path:*`', 'project_path:*', 'group'],
    ['a wildcard inside the top-level group', 'project_path:acme*:ref_type:branch:ref:main', 'group'],
    ['any project of a group', 'project_path:acme/*', 'project'],
    ['any project of a subgroup', 'project_path:acme/platform/*:ref_type:branch:ref:main', 'project'],
  ])('finds %s too broad', (_label, sub, part) => {
    expect(openParts(GITLAB, sub)).toEqual([part]);
  });

  it('leaves one project alone, whatever its ref, and a group that is yours', () => {
    expect(openParts(GITLAB, 'project_path:acme/infra:ref_type:branch:ref:*')).toEqual([]);
    expect(openParts(GITLAB, 'project_path:acme/platform/*', ['acme'])).toEqual([]);
  });

  it('says whom an open group lets in, on gitlab.com and on a self-managed instance', () => {
    const [saas] = openTrust(federated(GITLAB, like(GITLAB, 'project_path:*')));
    const [selfManaged] = openTrust(
      federated('gitlab.acme.example', like('gitlab.acme.example', 'project_path:*')),
    );
    const [subgroup] = openTrust(federated(GITLAB, like(GITLAB, 'project_path:acme/platform/*')));

    expect(saas?.why).toContain(
      'any project on gitlab.com can assume this role; an attacker needs only a project of their own on gitlab.com',
    );
    expect(selfManaged?.why).toContain('any project on gitlab.acme.example can assume this role');
    expect(subgroup?.why).toContain('any project under `acme/platform` can assume this role');
  });
});

describe('trust-too-broad: Terraform Cloud', () => {
  it.each([
    ['every part a wildcard', 'organization:*:project:*:workspace:*:run_phase:*', 'organization'],
    ['no sub condition', undefined, 'organization'],
    ['any workspace of an organization', 'organization:acme:project:*:workspace:*:run_phase:*', 'workspace'],
    ['any workspace of a project', 'organization:acme:project:infra:workspace:*', 'workspace'],
  ])('finds %s too broad', (_label, sub, part) => {
    expect(openParts(TERRAFORM, sub)).toEqual([part]);
  });

  it('leaves a named workspace alone, in a named or any project (its name is unique in the organization)', () => {
    expect(openParts(TERRAFORM, 'organization:acme:project:infra:workspace:prod:run_phase:*')).toEqual([]);
    expect(openParts(TERRAFORM, 'organization:acme:project:*:workspace:prod:run_phase:*')).toEqual([]);
    expect(openParts(TERRAFORM, 'organization:acme:project:*:workspace:*:run_phase:*', ['acme'])).toEqual([]);
  });

  it('says an open organization lets in anyone with a free organization', () => {
    const [open] = openTrust(
      federated(TERRAFORM, like(TERRAFORM, 'organization:*:project:*:workspace:*:run_phase:*')),
    );

    expect(open?.why).toBe(
      'sub `organization:*:project:*:workspace:*:run_phase:*` leaves the organization open: any Terraform Cloud workspace can assume this role; an attacker needs only a free Terraform Cloud organization of their own',
    );
  });
});

describe('trust-too-broad: Bitbucket, CircleCI and Buildkite', () => {
  it('takes the Bitbucket workspace from the issuer, and any repository of it as open unless it is yours', () => {
    expect(openParts(BITBUCKET, undefined)).toEqual(['repository']);
    expect(openParts(BITBUCKET, '*')).toEqual(['repository']);
    expect(openParts(BITBUCKET, '{b1a4c1d2-0000-4c3e-9f00-2a1b3c4d5e6f}*')).toEqual(['repository']);
    expect(openParts(BITBUCKET, '{b1a4c1d2-0000-4c3e-9f00-2a1b3c4d5e6f}:*')).toEqual([]);
    expect(openParts(BITBUCKET, '*', ['acme'])).toEqual([]);
    expect(openTrust(federated(BITBUCKET))[0]?.why).toContain(
      'any repository of Bitbucket workspace `acme` can assume this role',
    );
  });

  it('takes the CircleCI organization from the issuer, and any project of it as open unless it is yours', () => {
    expect(openParts(CIRCLECI, undefined)).toEqual(['project']);
    expect(openParts(CIRCLECI, `org/${CIRCLE_ORG}/project/*`)).toEqual(['project']);
    expect(
      openParts(CIRCLECI, `org/${CIRCLE_ORG}/project/5ff1ac0e-7e3a-4b5c-a9d8-000000000000/user/*`),
    ).toEqual([]);
    expect(openParts(CIRCLECI, `org/${CIRCLE_ORG}/project/*`, [CIRCLE_ORG.toUpperCase()])).toEqual([]);
  });

  it('reads a Buildkite organization and pipeline from the subject: one issuer serves every organization', () => {
    expect(openParts(BUILDKITE, undefined)).toEqual(['organization']);
    expect(openParts(BUILDKITE, 'organization:*')).toEqual(['organization']);
    expect(openParts(BUILDKITE, 'organization:acme:pipeline:*')).toEqual(['pipeline']);
    expect(openParts(BUILDKITE, 'organization:acme:pipeline:*', ['acme'])).toEqual([]);
    expect(openParts(BUILDKITE, 'organization:acme:pipeline:deploy:ref:refs/heads/main:*')).toEqual([]);
  });
});

describe('trust-too-broad: any other OIDC provider', () => {
  const sub = `${EKS}:sub`;
  const aud = `${EKS}:aud`;
  const serviceAccount = 'system:serviceaccount:payments:api';

  it('finds a missing subject, a bare `*` one, and a missing or wildcard audience too broad', () => {
    const parts = (condition?: object) => openTrust(federated(EKS, condition)).map((o) => o.part);

    expect(parts()).toEqual(['subject', 'audience']);
    expect(parts({ StringEquals: { [sub]: serviceAccount } })).toEqual(['audience']);
    expect(parts({ StringEquals: { [sub]: serviceAccount }, StringLike: { [aud]: '*' } })).toEqual([
      'audience',
    ]);
    expect(parts({ StringEquals: { [sub]: serviceAccount }, StringLike: { [aud]: 'sts.*' } })).toEqual([
      'audience',
    ]);
    expect(parts({ StringLike: { [sub]: '*' }, StringEquals: { [aud]: 'sts.amazonaws.com' } })).toEqual([
      'subject',
    ]);
  });

  it('leaves a pinned subject and audience alone, and an exact `*` audience (the character) too', () => {
    const parts = (condition: object) => openTrust(federated(EKS, condition)).map((o) => o.part);

    expect(parts({ StringEquals: { [sub]: serviceAccount, [aud]: 'sts.amazonaws.com' } })).toEqual([]);
    expect(parts({ StringEquals: { [sub]: serviceAccount, [aud]: '*' } })).toEqual([]);
  });

  it('says what an open audience lets in', () => {
    const [open] = openTrust(federated(EKS, { StringEquals: { [sub]: serviceAccount } }));

    expect(open?.why).toBe(
      `no \`aud\` condition leaves the audience open: a token ${EKS} issued to any application can assume this role; an attacker needs a token from ${EKS} meant for another application, for a subject the trust allows`,
    );
  });

  it('does not judge a CI platform by its audience: its jobs choose their own', () => {
    expect(openTrust(federated(GITHUB, { StringLike: { [`${GITHUB}:sub`]: 'repo:acme/deploy:*' } }))).toEqual(
      [],
    );
  });

  it('finds a SAML trust too broad only with a bare `*` subject', () => {
    const saml = (subjects: string[]): FederatedTrust => ({ provider: 'saml-provider/Okta', subjects });

    expect(openTrust(saml([]))).toEqual([]);
    expect(openTrust(saml(['ops@acme.example']))).toEqual([]);
    expect(openTrust(saml(['*'])).map((o) => o.part)).toEqual(['subject']);
  });
});

describe('trust-too-broad in a finding', () => {
  const role = (sub: string): Credential => ({
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
    federated: [federated(GITHUB, like(GITHUB, sub))],
  });

  it('flags `repo:acme/*` under a policy that trusts no owner, and not under one that names acme', () => {
    const open = evaluateCredential(
      role('repo:acme/*:ref:refs/heads/main'),
      undefined,
      parsePolicyConfig({}),
      NOW,
    );
    const yours = evaluateCredential(
      role('repo:acme/*:ref:refs/heads/main'),
      undefined,
      parsePolicyConfig({ trustedOidcOwners: ['acme'] }),
      NOW,
    );

    expect(open.outcome).toBe('finding');
    if (open.outcome !== 'finding') return;
    expect(open.triggers).toEqual(['trust-too-broad']);
    expect(open.evidence.openTrust?.map((o) => o.part)).toEqual(['repository']);
    // The owner's request says it in the same words (its reason, and the message's Why).
    expect(describeFinding(open)).toMatch(
      /^sub `repo:acme\/\*:ref:refs\/heads\/main` leaves the repository open:/,
    );
    expect(yours.outcome).toBe('ok');
  });

  it('shows the subject as written beside the provider', () => {
    expect(describeTrust(identify(role('repo:acme/*:ref:refs/heads/main')))).toBe(
      `OIDC ${GITHUB} (GitHub Actions) for repo:acme/*:ref:refs/heads/main`,
    );
  });
});
