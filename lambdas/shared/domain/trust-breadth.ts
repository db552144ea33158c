import { type FederatedTrust, hasWildcard, literalPrefix } from './role-trust';

/**
 * How far a federated trust reaches. A token's subject names who runs the job: on a CI platform, the
 * owner (organization, group, workspace) and, inside it, the repository, project or workspace. A
 * wildcard in the owner's part lets anyone on the platform assume the role with a job of their own; a
 * wildcard in the repository's part lets in anyone who can run a job anywhere in that owner, which is
 * a deliberate choice only when the owner is yours (the policy's `trustedOidcOwners`). Wildcards after
 * those parts (a branch, an environment, a run phase) narrow *which jobs* of one repository, not *who*,
 * and are left alone. Providers reauth does not know are judged by what any OIDC trust needs: a
 * subject and an audience, neither of them a wildcard. Pure: a function of the trust and the owners.
 */

/** One way a federated trust lets in more than one repository, project or workspace. */
export interface OpenTrust {
  /** As {@link FederatedTrust.provider}. */
  provider: string;
  /** The token claim whose condition is open: `sub` (`SAML:sub` for SAML) or `aud`. */
  claim: 'sub' | 'aud';
  /** The condition's value that is open; absent when no condition restricts the claim. */
  value?: string;
  /** The part left open, as the platform names it: `owner`, `repository`, `group`, `project`, `organization`… */
  part: string;
  /** In words: which part is open, whom that lets in, and what an attacker would need. */
  why: string;
}

/**
 * What a subject pattern leaves open on one platform: nothing; or the owner's part (anyone on the
 * platform); or everything inside one owner.
 */
type Reach =
  | { open: 'nothing' }
  | { open: 'owner'; part: string; who: string; needs: string }
  | { open: 'within'; part: string; who: string; needs: string; owner: string };

interface Platform {
  /** `GitHub Actions`, shown beside the provider; undefined for a provider reauth does not know. */
  name?: string;
  /** Its tokens' audience says who may come in (Cognito's identity pool): judged as for an unknown provider. */
  judgesAudience?: true;
  /** What `pattern` (undefined: no subject condition) leaves open. */
  reach(pattern: string | undefined): Reach;
}

const NOTHING: Reach = { open: 'nothing' };

/**
 * The ways `trust` lets in more than one repository, project or workspace, each with why; none when
 * it pins one. `trustedOwners` are the owners the policy says are yours (compared ignoring case, as
 * the platforms compare their names): a wildcard inside one of them is not a finding.
 */
export function openTrust(trust: FederatedTrust, trustedOwners: readonly string[] = []): OpenTrust[] {
  const [type, host = ''] = trust.provider.split(/\/(.*)/s);
  if (type === 'saml-provider') {
    // The IdP's assertion must name the role, so who gets it is decided there; only a bare `*` is too broad.
    return trust.subjects.filter(isBareWildcard).map((value) => ({
      provider: trust.provider,
      claim: 'sub',
      value,
      part: 'subject',
      why: `SAML:sub \`${value}\` lets any user ${host} sends with this role assume it: an attacker needs only such an account at ${host}`,
    }));
  }
  const platform = platformOf(host, trust.subjects);
  const yours = new Set(trustedOwners.map((owner) => owner.toLowerCase()));
  const open: OpenTrust[] = [];
  for (const value of trust.subjects.length > 0 ? trust.subjects : [undefined]) {
    const reach = platform.reach(value);
    if (reach.open === 'nothing' || (reach.open === 'within' && yours.has(reach.owner.toLowerCase())))
      continue;
    const condition = value === undefined ? 'no `sub` condition' : `sub \`${value}\``;
    const deliberate =
      reach.open === 'within'
        ? ` (if \`${reach.owner}\` is yours and that is deliberate, name it in the policy's trustedOidcOwners)`
        : '';
    open.push({
      provider: trust.provider,
      claim: 'sub',
      ...(value !== undefined && { value }),
      part: reach.part,
      why: `${condition} leaves the ${reach.part} open: ${reach.who} can assume this role; an attacker needs ${reach.needs}${deliberate}`,
    });
  }
  if (platform.name === undefined || platform.judgesAudience) open.push(...openAudiences(trust, host));
  return open;
}

/** Whether `trust` lets in more than one repository, project or workspace (see {@link openTrust}). */
export function isTooBroad(trust: FederatedTrust, trustedOwners: readonly string[] = []): boolean {
  return openTrust(trust, trustedOwners).length > 0;
}

/** `GitHub Actions` for `oidc-provider/token.actions.githubusercontent.com`; undefined for a provider reauth does not know. */
export function providerName(provider: string): string | undefined {
  const [type, host = ''] = provider.split(/\/(.*)/s);
  return type === 'oidc-provider' ? platformOf(host, []).name : undefined;
}

/**
 * Any provider's tokens carry an audience: the client they were issued to. Without an `aud` condition
 * (or with a wildcard one) a token the provider issued to another application, for a subject the trust
 * allows, assumes the role. The CI platforms are judged by their subject instead: their jobs choose
 * their own audience, so it restricts nobody.
 */
function openAudiences(trust: FederatedTrust, host: string): OpenTrust[] {
  const audiences = trust.audiences ?? [];
  const open = audiences.length === 0 ? [undefined] : audiences.filter(hasWildcard);
  return open.map((value) => ({
    provider: trust.provider,
    claim: 'aud',
    ...(value !== undefined && { value }),
    part: 'audience',
    why: `${value === undefined ? 'no `aud` condition' : `aud \`${value}\``} leaves the audience open: a token ${host} issued to any application can assume this role; an attacker needs a token from ${host} meant for another application, for a subject the trust allows`,
  }));
}

/** A provider reauth does not know: its subject's format is its own, so only a missing or bare `*` one is open. */
function generic(host: string): Platform {
  return {
    reach: (pattern) =>
      pattern === undefined || isBareWildcard(pattern)
        ? {
            open: 'owner',
            part: 'subject',
            who: `any identity ${host} issues a token to`,
            needs: `any token from ${host}`,
          }
        : NOTHING,
  };
}

/**
 * Cognito identity pools: the subject is one identity of a pool, and the pool (the `aud`) is the
 * account's own, whose configuration decides who gets an identity, as a SAML IdP decides who gets an
 * assertion. So only the audience is judged: without it, any pool's identity may assume the role.
 */
const COGNITO: Platform = { name: 'Amazon Cognito', judgesAudience: true, reach: () => NOTHING };

/** The platform a provider's host names; for a host reauth does not know, the shape of its subjects can tell. */
function platformOf(host: string, subjects: readonly string[]): Platform {
  const lower = host.toLowerCase();
  const shaped = (prefix: string) => subjects.some((subject) => subject.startsWith(prefix));
  if (lower === 'token.actions.githubusercontent.com') return github(undefined);
  const enterprise = /^token\.actions\.githubusercontent\.com\/([^/]+)$/.exec(lower)?.[1];
  if (enterprise) return github(`the GitHub enterprise \`${enterprise}\``);
  if (lower.endsWith('/_services/token')) return github(lower.slice(0, -'/_services/token'.length));
  if (lower === 'gitlab.com') return gitlab(undefined);
  if (lower.startsWith('gitlab.') || shaped('project_path:')) return gitlab(lower);
  if (lower === 'app.terraform.io') return terraform(undefined);
  if (lower === 'agent.buildkite.com') return buildkite;
  const workspace = /^api\.bitbucket\.org\/2\.0\/workspaces\/([^/]+)\/pipelines-config\/identity\/oidc$/.exec(
    lower,
  )?.[1];
  if (workspace) return bitbucket(workspace);
  const circleOrg = /^oidc\.circleci\.com\/org\/([^/]+)$/.exec(lower)?.[1];
  if (circleOrg) return circleci(circleOrg);
  if (shaped('organization:')) return terraform(lower);
  if (lower === 'cognito-identity.amazonaws.com') return COGNITO;
  return generic(host);
}

/**
 * `repo:<owner>/<repository>:<context>` by default; a customized subject joins other claims the same
 * way (`repository_owner_id:<id>:repository_id:<id>:…`). Any of them can pin the owner; the repository
 * is pinned by `repo`, `repository` or `repository_id`. Judged even without a wildcard: a customized
 * subject that names no owner (only `environment`, or a reusable workflow's `job_workflow_ref`), or no
 * repository (only `repository_owner`), is the same for every repository that runs such a job. `where`: a GitHub Enterprise issuer (every token
 * is its enterprise's) or a GitHub Enterprise Server host.
 */
function github(where: string | undefined): Platform {
  const anyone = where
    ? { who: `any repository of ${where}`, needs: `a workflow in any repository of ${where}` }
    : { who: 'any GitHub repository', needs: 'only a workflow in a repository of their own' };
  return {
    name: 'GitHub Actions',
    reach(pattern) {
      const { complete, cut } = claimsOf(pattern, ':');
      // An exact subject with no claim in it (`StringEquals` `*`) matches no GitHub token.
      if (pattern !== undefined && !hasWildcard(pattern) && complete.size === 0) return NOTHING;
      const fullName = complete.get('repo') ?? complete.get('repository');
      const owner =
        ownerOf(fullName) ??
        complete.get('repository_owner') ??
        complete.get('repository_owner_id') ??
        (cut && ['repo', 'repository'].includes(cut.key) ? ownerOf(cut.value) : undefined);
      if (owner === undefined) return { open: 'owner', part: 'owner', ...anyone };
      if (ownerOf(fullName) !== undefined || complete.has('repository_id')) return NOTHING;
      return {
        open: 'within',
        part: 'repository',
        owner,
        who: `any repository of \`${owner}\``,
        needs: `a workflow in any repository of \`${owner}\` (push access to one, or the right to create one)`,
      };
    },
  };
}

/** `project_path:<group>[/<subgroup>…]/<project>:ref_type:<type>:ref:<ref>`; the top-level group is the owner. */
function gitlab(host: string | undefined): Platform {
  return {
    name: 'GitLab',
    reach(pattern) {
      if (pattern !== undefined && !hasWildcard(pattern)) return NOTHING;
      const { complete, cut } = claimsOf(pattern, ':');
      if (complete.has('project_path')) return NOTHING;
      const partial = cut?.key === 'project_path' ? cut.value : '';
      const namespace = partial.slice(0, Math.max(0, partial.lastIndexOf('/')));
      const owner = namespace.split('/')[0];
      if (!owner) {
        return host
          ? {
              open: 'owner',
              part: 'group',
              who: `any project on ${host}`,
              needs: `an account on ${host} that can create a project`,
            }
          : {
              open: 'owner',
              part: 'group',
              who: 'any project on gitlab.com',
              needs: 'only a project of their own on gitlab.com',
            };
      }
      return {
        open: 'within',
        part: 'project',
        owner,
        who: `any project under \`${namespace}\``,
        needs: `a pipeline in any project under \`${namespace}\` (developer access to one, or the right to create one)`,
      };
    },
  };
}

/**
 * `organization:<org>:project:<project>:workspace:<workspace>:run_phase:<phase>`. A workspace's name is
 * unique in its organization (and holds no `:`), so a named workspace pins the subject even after a
 * wildcard project; an open workspace lets in every workspace of the organization (or of the project,
 * when that is named).
 */
function terraform(host: string | undefined): Platform {
  return {
    name: 'Terraform Cloud',
    reach(pattern) {
      if (pattern !== undefined && !hasWildcard(pattern)) return NOTHING;
      const { complete } = claimsOf(pattern, ':');
      const owner = complete.get('organization');
      if (owner === undefined) {
        return host
          ? {
              open: 'owner',
              part: 'organization',
              who: `any workspace on ${host}`,
              needs: `an organization of their own on ${host}`,
            }
          : {
              open: 'owner',
              part: 'organization',
              who: 'any Terraform Cloud workspace',
              needs: 'only a free Terraform Cloud organization of their own',
            };
      }
      if (complete.has('workspace') || /:workspace:[^:*?$]+:/.test(pattern ?? '')) return NOTHING;
      const project = complete.get('project');
      const inProject = project === undefined ? '' : ` in project \`${project}\``;
      return {
        open: 'within',
        part: 'workspace',
        owner,
        who: `any workspace of organization \`${owner}\`${inProject}`,
        needs: `a run in any workspace of \`${owner}\`${inProject} (access to one, or the right to create one)`,
      };
    },
  };
}

/** `organization:<org>:pipeline:<pipeline>:ref:<ref>:commit:<sha>:step:<key>`; one issuer for every organization. */
const buildkite: Platform = {
  name: 'Buildkite',
  reach(pattern) {
    if (pattern !== undefined && !hasWildcard(pattern)) return NOTHING;
    const { complete } = claimsOf(pattern, ':');
    const owner = complete.get('organization');
    if (owner === undefined) {
      return {
        open: 'owner',
        part: 'organization',
        who: 'any Buildkite pipeline',
        needs: 'only a Buildkite organization of their own',
      };
    }
    if (complete.has('pipeline')) return NOTHING;
    return {
      open: 'within',
      part: 'pipeline',
      owner,
      who: `any pipeline of organization \`${owner}\``,
      needs: `a build in any pipeline of \`${owner}\` (the right to run one, or to create one)`,
    };
  },
};

/**
 * The issuer is the workspace's own (`…/workspaces/<workspace>/…`), so the owner is always pinned;
 * the subject is `{<repository uuid>}[:{<environment uuid>}]:{<step uuid>}`: its first part pins the
 * repository.
 */
function bitbucket(workspace: string): Platform {
  return {
    name: 'Bitbucket Pipelines',
    reach(pattern) {
      if (pattern !== undefined && !hasWildcard(pattern)) return NOTHING;
      if (pattern !== undefined && literalPrefix(pattern).prefix.includes(':')) return NOTHING;
      return {
        open: 'within',
        part: 'repository',
        owner: workspace,
        who: `any repository of Bitbucket workspace \`${workspace}\``,
        needs: `a pipeline step in any repository of \`${workspace}\` (write access to one, or the right to create one)`,
      };
    },
  };
}

/**
 * The issuer is the organization's own (`oidc.circleci.com/org/<org id>`), so the owner is always
 * pinned; the subject is `org/<org id>/project/<project id>/user/<user id>[/…]`: `project` pins it.
 */
function circleci(organization: string): Platform {
  return {
    name: 'CircleCI',
    reach(pattern) {
      if (pattern !== undefined && !hasWildcard(pattern)) return NOTHING;
      if (claimsOf(pattern, '/').complete.has('project')) return NOTHING;
      return {
        open: 'within',
        part: 'project',
        owner: organization,
        who: `any project of CircleCI organization \`${organization}\``,
        needs: `a job in any project of \`${organization}\` (the right to trigger one, or to add one)`,
      };
    },
  };
}

/**
 * The `key<sep>value` pairs a subject pattern fixes before its first wildcard: those it fixes whole
 * (`complete`), and the one the wildcard cuts (`cut`: the key, and the value's text before the
 * wildcard). None for no pattern.
 */
function claimsOf(
  pattern: string | undefined,
  separator: string,
): { complete: Map<string, string>; cut?: { key: string; value: string } } {
  const complete = new Map<string, string>();
  if (pattern === undefined) return { complete };
  const { prefix, open } = literalPrefix(pattern);
  const parts = prefix.split(separator);
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const key = parts[i] as string;
    const value = parts[i + 1] as string;
    // The last part is cut by the wildcard when one follows.
    if (open && i + 1 === parts.length - 1) return { complete, cut: { key, value } };
    if (!complete.has(key)) complete.set(key, value);
  }
  return { complete };
}

/** The owner of `owner/repository`, when the text gets as far as the `/`. */
function ownerOf(fullName: string | undefined): string | undefined {
  const slash = fullName?.indexOf('/') ?? -1;
  return fullName && slash > 0 ? fullName.slice(0, slash) : undefined;
}

function isBareWildcard(subject: string): boolean {
  return /^\*+$/.test(subject);
}
