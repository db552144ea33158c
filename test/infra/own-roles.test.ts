import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/reauth-app';
import { ACCOUNT, mayDo, roleArnOf } from '../support/iam-evaluator';

/**
 * The outsider's question for the roles that may change IAM: could someone holding one of them lend
 * themselves more through reauth's own roles? A real IAM evaluator answers it over the synthesized
 * policies: every IAM call on a reauth role is denied to them, whatever else they are allowed.
 */

interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

const outdir = mkdtempSync(join(tmpdir(), 'reauth-own-roles-'));
/** Calls that would lend a role more: its policies, its managed policies, its trust, its boundary. */
const GRANTING_CALLS = [
  'iam:PutRolePolicy',
  'iam:AttachRolePolicy',
  'iam:UpdateAssumeRolePolicy',
  'iam:DeleteRolePermissionsBoundary',
  'iam:DeleteRolePolicy',
];

type Roles = Record<'enforce' | 'worker' | 'events' | 'scan' | 'endpoint', IRole>;
let single: { template: Template; roleId: (role: IRole) => string; roles: Roles };
let member: Template;

beforeAll(() => {
  const config = join(outdir, 'enforce.json');
  writeFileSync(config, JSON.stringify({ mode: 'enforce' }));
  const built = buildApp({ bundling: false, configPath: config, outdir: join(outdir, 'single') });
  const template = built.app.synth().getStackArtifact(built.stack.artifactId).template as Template;
  const reauth = built.stack.reauth;
  single = {
    template,
    roleId: (role) => built.stack.getLogicalId(role.node.defaultChild as CfnElement),
    roles: {
      enforce: reauth.enforceJob.function.role,
      worker: reauth.slackEndpoint.worker.role,
      events: reauth.trustEvents.consumer.role,
      scan: reauth.scanJob.function.role,
      endpoint: reauth.slackEndpoint.endpoint.role,
    },
  };

  const orgConfig = join(outdir, 'org.json');
  writeFileSync(orgConfig, JSON.stringify({ mode: 'enforce', organization: { include: {} } }));
  const hub = buildApp({
    bundling: false,
    configPath: orgConfig,
    outdir: join(outdir, 'org'),
    homeRegion: 'eu-west-1',
    organizationId: 'o-a1b2c3d4e5',
    organizationRootId: 'r-a1b2',
  });
  const hubTemplate = hub.app.synth().getStackArtifact(hub.stack.artifactId).template as Template;
  const stackSet = Object.values(hubTemplate.Resources).find(
    (r) => r.Type === 'AWS::CloudFormation::StackSet',
  );
  member = JSON.parse(String(stackSet?.Properties?.TemplateBody)) as Template;
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the roles that change IAM never reach reauth’s own roles', () => {
  it('denies the enforce job, the Slack worker and the events consumer every granting call on any reauth role', async () => {
    const { template, roleId, roles } = single;
    for (const [writer, role] of Object.entries(roles).filter(([name]) =>
      ['enforce', 'worker', 'events'].includes(name),
    )) {
      for (const target of Object.values(roles)) {
        const arn = roleArnOf(template, roleId(target));
        for (const call of GRANTING_CALLS) {
          expect(await mayDo(template, roleId(role), call, arn), `${writer} ${call} on ${arn}`).toBe(false);
        }
      }
    }
  });

  it('still lets the enforce job do what enforcement needs on a credential that is not reauth’s', async () => {
    const { template, roleId, roles } = single;
    const enforce = roleId(roles.enforce);
    expect(
      await mayDo(template, enforce, 'iam:UpdateAccessKey', `arn:aws:iam::${ACCOUNT}:user/ci-deployer`),
    ).toBe(true);
    expect(
      await mayDo(template, enforce, 'iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/vendor-monitoring`),
    ).toBe(true);
  });

  it("denies a member's reauth-enforcer every granting call on reauth-reader and on itself", async () => {
    const enforcerId = Object.entries(member.Resources).find(
      ([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties?.RoleName === 'reauth-enforcer',
    )?.[0] as string;
    expect(enforcerId).toBeDefined();
    for (const name of ['reauth-reader', 'reauth-enforcer']) {
      for (const call of GRANTING_CALLS) {
        expect(
          await mayDo(member, enforcerId, call, `arn:aws:iam::${ACCOUNT}:role/${name}`),
          `${call} on ${name}`,
        ).toBe(false);
      }
    }
    expect(
      await mayDo(member, enforcerId, 'iam:UpdateAccessKey', `arn:aws:iam::${ACCOUNT}:user/ci-deployer`),
    ).toBe(true);
  });
});

describe('rotation mints keys only for users a platform team marked', () => {
  const user = `arn:aws:iam::${ACCOUNT}:user/admin`;
  const marked = { 'iam:ResourceTag/reauth:rotatable': 'true' };

  it("lets the Slack worker and a member's reauth-enforcer create a key only on a user tagged reauth:rotatable=true", async () => {
    const { template, roleId, roles } = single;
    expect(await mayDo(template, roleId(roles.worker), 'iam:CreateAccessKey', user)).toBe(false);
    expect(await mayDo(template, roleId(roles.worker), 'iam:CreateAccessKey', user, marked)).toBe(true);
    const enforcerId = Object.entries(member.Resources).find(
      ([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties?.RoleName === 'reauth-enforcer',
    )?.[0] as string;
    expect(await mayDo(member, enforcerId, 'iam:CreateAccessKey', user)).toBe(false);
    expect(await mayDo(member, enforcerId, 'iam:CreateAccessKey', user, marked)).toBe(true);
  });

  it('gives no writing role a way to set that tag', async () => {
    const { template, roleId, roles } = single;
    for (const role of [roles.enforce, roles.worker, roles.events])
      for (const call of ['iam:TagUser', 'iam:UntagUser'])
        expect(await mayDo(template, roleId(role), call, user), call).toBe(false);
  });
});
