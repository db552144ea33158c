import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/reauth-app';
import { keyArnOf, mayDo, roleArnOf, type Template } from '../support/iam-evaluator';

/**
 * The checkpoint key (#24): a signature is evidence only if nothing but reauth's scan and enforce jobs
 * could have made it. A real IAM evaluator answers over the synthesized identity policies and the key's
 * own policy: the jobs may sign, reauth's other roles may not, and neither may an account administrator
 * whose identity policy allows everything.
 */

const outdir = mkdtempSync(join(tmpdir(), 'reauth-checkpoint-key-'));
let template: Template;
let keyId: string;
let keyPolicy: object;
let roleId: (role: IRole) => string;
let roles: Record<string, IRole>;
let environment: (role: IRole) => Record<string, unknown> | undefined;

beforeAll(() => {
  const config = join(outdir, 'enforce.json');
  writeFileSync(config, JSON.stringify({ mode: 'enforce' }));
  const built = buildApp({ bundling: false, configPath: config, outdir: join(outdir, 'single') });
  template = built.app.synth().getStackArtifact(built.stack.artifactId).template as Template;
  const reauth = built.stack.reauth;
  keyId = built.stack.getLogicalId(reauth.checkpointKey.key.node.defaultChild as CfnElement);
  keyPolicy = template.Resources[keyId]?.Properties?.KeyPolicy as object;
  roleId = (role) => built.stack.getLogicalId(role.node.defaultChild as CfnElement);
  roles = {
    scan: reauth.scanJob.function.role,
    enforce: reauth.enforceJob.function.role,
    worker: reauth.slackEndpoint.worker.role,
    events: reauth.trustEvents.consumer.role,
    endpoint: reauth.slackEndpoint.endpoint.role,
    export: reauth.exportJob.function.role,
  };
  environment = (role) =>
    Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::Function' &&
        JSON.stringify(r.Properties?.Role) === JSON.stringify({ 'Fn::GetAtt': [roleId(role), 'Arn'] }),
    )?.Properties?.Environment as Record<string, unknown> | undefined;
});

/** The request's principal, as IAM sets it for a role's session (the evaluator does not). */
const as = (role: string) => ({ 'aws:PrincipalArn': roleArnOf(template, role) });

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the checkpoint key', () => {
  it('is an ECC P-256 signing key, retained, with the longest deletion window', () => {
    const key = template.Resources[keyId] as { Properties: Record<string, unknown>; DeletionPolicy?: string };
    expect(key.Properties).toMatchObject({
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      PendingWindowInDays: 30,
    });
    expect(key.DeletionPolicy).toBe('Retain');
  });

  it('is named to the scan, enforce and export functions (CHECKPOINT_KEY_ID), and to no other', () => {
    const named = { 'Fn::GetAtt': [keyId, 'Arn'] };
    for (const name of ['scan', 'enforce'])
      expect(environment(roles[name] as IRole), name).toMatchObject({
        Variables: { CHECKPOINT_KEY_ID: named },
      });
    // The export job reads its public key only (`bindPublicKey`), to write it beside each export.
    expect(environment(roles.export as IRole)).toMatchObject({ Variables: { CHECKPOINT_KEY_ID: named } });
    for (const name of ['worker', 'events', 'endpoint'])
      expect(JSON.stringify(environment(roles[name] as IRole) ?? {}), name).not.toContain(
        'CHECKPOINT_KEY_ID',
      );
  });

  it('lets the scan and enforce jobs sign, and none of reauth’s other roles', async () => {
    const arn = keyArnOf(keyId);
    for (const [name, role] of Object.entries(roles))
      expect(await mayDo(template, roleId(role), 'kms:Sign', arn, as(roleId(role)), keyPolicy), name).toBe(
        name === 'scan' || name === 'enforce',
      );
  });

  it('lets the export job read its public key, and no other reauth role', async () => {
    const arn = keyArnOf(keyId);
    for (const [name, role] of Object.entries(roles))
      expect(
        await mayDo(template, roleId(role), 'kms:GetPublicKey', arn, as(roleId(role)), keyPolicy),
        name,
      ).toBe(name === 'export');
  });

  it('denies kms:Sign to an administrator of the account whose IAM allows everything, not GetPublicKey', async () => {
    const withAdmin: Template = {
      Resources: {
        ...template.Resources,
        Admin: {
          Type: 'AWS::IAM::Role',
          Properties: {
            Policies: [
              {
                PolicyName: 'everything',
                PolicyDocument: {
                  Version: '2012-10-17',
                  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
                },
              },
            ],
          },
        },
      },
    };
    const arn = keyArnOf(keyId);
    expect(await mayDo(withAdmin, 'Admin', 'kms:Sign', arn, as('Admin'), keyPolicy)).toBe(false);
    expect(await mayDo(withAdmin, 'Admin', 'kms:GetPublicKey', arn, as('Admin'), keyPolicy)).toBe(true);
  });
});
