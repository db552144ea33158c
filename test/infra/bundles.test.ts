import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/reauth-function';
import { type BundledFunction, importBundle, synthBundles } from '../../scripts/bench/bundles';

// The other infra tests synthesize without bundling; this one builds every Lambda's real bundle once
// and loads each under Node, as Lambda's cold start does, so an import that does not resolve in the
// bundle, or a file the handler needs and the bundle lacks, fails here.

const outdir = mkdtempSync(join(tmpdir(), 'reauth-bundles-'));
let functions: BundledFunction[];

// No timeout: esbuild's work bounds this hook, and a loaded machine only makes it slower, not wrong.
beforeAll(() => {
  functions = synthBundles(outdir);
}, 0);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/**
 * The AWS clients in a bundle, by the service ids their code carries. Not STS: the SDK's credential
 * chain brings its own STS client into every bundle, whether the handler builds one or not.
 */
function sdkServices(fn: BundledFunction): string[] {
  const code = readFileSync(join(fn.dir, fn.file), 'utf8');
  const services = ['IAM', 'S3', 'SQS', 'DynamoDB', 'Secrets Manager', 'EventBridge'];
  // "KMS" alone is also DynamoDB's SSE type: KMS's client is told by its JSON protocol's target prefix.
  const kms = code.includes('"TrentService"') ? ['KMS'] : [];
  return [...services.filter((service) => code.includes(`"${service}"`)), ...kms];
}

describe('Lambda bundles', () => {
  it('builds one for each of the six functions', () => {
    expect(functions).toHaveLength(6);
    for (const fn of functions) expect(existsSync(join(fn.dir, fn.file)), fn.name).toBe(true);
  });

  it('ships the policy file as policy.json', () => {
    for (const fn of functions) {
      expect(fn.environment.POLICY_FILE, fn.name).toBe('policy.json');
      expect(readFileSync(join(fn.dir, 'policy.json'), 'utf8')).toBe(
        readFileSync(join(REPO_ROOT, 'reauth.config.json'), 'utf8'),
      );
    }
  });

  it('ships a source map where Node is told to use one, and only there: not in the Slack endpoint', () => {
    for (const fn of functions) {
      const mapped = fn.environment.NODE_OPTIONS === '--enable-source-maps';
      expect(existsSync(join(fn.dir, `${fn.file}.map`)), fn.name).toBe(mapped);
      if (mapped) expect(readFileSync(join(fn.dir, `${fn.file}.map`), 'utf8')).toContain('"mappings"');
    }
    const endpoint = functions.find((fn) => fn.name === 'SlackEndpoint/Endpoint');
    expect(endpoint?.environment.NODE_OPTIONS).toBeUndefined();
  });

  it('holds only the AWS clients each function builds', () => {
    const services = Object.fromEntries(functions.map((fn) => [fn.name, sdkServices(fn)]));
    expect(services).toEqual({
      // S3: in an organization, a member's run reads the zone of trust from the run's object.
      // KMS: they sign their population records (the checkpoint key).
      'ScanJob/Scan': ['IAM', 'S3', 'DynamoDB', 'Secrets Manager', 'KMS'],
      'EnforceJob/Enforce': ['IAM', 'S3', 'DynamoDB', 'Secrets Manager', 'KMS'],
      // S3 and KMS: it writes the checkpoint key's public key beside each export.
      'ExportJob/Export': ['S3', 'DynamoDB', 'KMS'],
      'SlackEndpoint/Endpoint': ['SQS', 'DynamoDB', 'Secrets Manager'],
      'SlackEndpoint/Worker': ['IAM', 'DynamoDB', 'Secrets Manager'],
      'TrustEvents/Consumer': ['IAM', 'SQS', 'DynamoDB', 'Secrets Manager'],
    });
  });

  it('loads each handler under Node with its environment, as a cold start does, exporting the handler', async () => {
    for (const fn of functions) {
      expect((await importBundle(fn)).handlerType, fn.name).toBe('function');
    }
  });
});
