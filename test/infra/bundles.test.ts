import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/reauth-app';
import { REPO_ROOT } from '../../lib/reauth-function';

// The other infra tests synthesize without bundling; this one builds every Lambda's real bundle once
// and loads each under Node, as Lambda's cold start does, so an import that does not resolve in the
// bundle, or a file the handler needs and the bundle lacks, fails here.

const run = promisify(execFile);

/** What CloudFormation would resolve each reference in a function's environment to. */
const RESOLVED: Record<string, string> = {
  TABLE_NAME: 'reauth-decisions',
  TABLE_ARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/reauth-decisions',
  SLACK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:reauth/slack-AbCdEf',
  ACTION_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/actions',
  INVALID_EVENTS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/invalid-events',
  REAUTH_ROLE_ARNS: 'arn:aws:iam::123456789012:role/enforce,arn:aws:iam::123456789012:role/worker',
  EXPORT_BUCKET: 'reauth-evidence',
  EXPORT_KMS_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000',
};

interface BundledFunction {
  logicalId: string;
  handler: string;
  dir: string;
  environment: Record<string, unknown>;
}

const outdir = mkdtempSync(join(tmpdir(), 'reauth-bundles-'));
let functions: BundledFunction[];

// No timeout: esbuild's work bounds this hook, and a loaded machine only makes it slower, not wrong.
beforeAll(() => {
  const built = buildApp({ configPath: join(REPO_ROOT, 'reauth.config.json'), outdir });
  const assembly = built.app.synth();
  const resources = assembly.getStackArtifact(built.stack.artifactId).template.Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  functions = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([logicalId, r]) => ({
      logicalId,
      handler: r.Properties.Handler as string,
      dir: join(
        assembly.directory,
        `asset.${(r.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '')}`,
      ),
      environment: (r.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
    }));
}, 0);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('Lambda bundles', () => {
  it('builds one for each of the six functions', () => {
    expect(functions).toHaveLength(6);
    for (const fn of functions) expect(existsSync(join(fn.dir, 'index.mjs')), fn.logicalId).toBe(true);
  });

  it('ships the policy file as policy.json, beside a source map', () => {
    for (const fn of functions) {
      expect(fn.environment.POLICY_FILE, fn.logicalId).toBe('policy.json');
      expect(readFileSync(join(fn.dir, 'policy.json'), 'utf8')).toBe(
        readFileSync(join(REPO_ROOT, 'reauth.config.json'), 'utf8'),
      );
      expect(readFileSync(join(fn.dir, 'index.mjs.map'), 'utf8')).toContain('"mappings"');
    }
  });

  it('loads each handler under Node with its environment, as a cold start does, exporting the handler', async () => {
    for (const fn of functions) {
      const environment = Object.fromEntries(
        Object.entries(fn.environment).map(([name, value]) => {
          const resolved = typeof value === 'string' ? value : RESOLVED[name];
          if (resolved === undefined)
            throw new Error(`${fn.logicalId}: no stand-in for ${name} = ${JSON.stringify(value)}`);
          return [name, resolved];
        }),
      );
      const [file, exported] = fn.handler.split('.') as [string, string];
      const { stdout } = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import('./${file}.mjs'); console.log(typeof m.${exported});`,
        ],
        {
          cwd: fn.dir,
          // Only what Lambda sets, plus the function's own environment: nothing from this repository.
          env: {
            PATH: process.env.PATH,
            LAMBDA_TASK_ROOT: fn.dir,
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
            AWS_SECRET_ACCESS_KEY: 'example',
            ...environment,
          },
        },
      );
      expect(stdout.trim(), fn.logicalId).toBe('function');
    }
  });
});
