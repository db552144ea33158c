import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkProfile } from '../../cli/aws';
import { main } from '../../cli/main';
import { captureOutput } from '../support/cli-output';

const ID = '123456789012:access-key:AKIAEXAMPLE';
const dir = mkdtempSync(join(tmpdir(), 'reauth-cli-usage-'));
const config = join(dir, 'config');
const credentials = join(dir, 'credentials');
writeFileSync(
  config,
  '[default]\nregion = eu-west-1\n[profile prod-audit]\nregion = eu-west-1\n[sso-session corp]\n',
);
writeFileSync(credentials, '[ci]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n');

const saved = { ...process.env };
beforeEach(() => {
  Object.assign(process.env, { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials });
  delete process.env.AWS_PROFILE;
});
afterEach(() => {
  vi.restoreAllMocks();
  process.env = { ...saved };
});

describe('reauth refuses what cannot work as a usage error, exit 2, naming what to fix', () => {
  it.each([
    ['decisions', ['decisions', 'AKIAEXAMPLE'], "argument 'credentialId'"],
    ['decisions', ['decisions', '1234:access-key:AKIA'], "argument 'credentialId'"],
    [
      'emit',
      ['emit', 'Purpose Changed', '--credential-id', '123456789012:user:bob'],
      "option '--credential-id <id>'",
    ],
  ])('%s with a malformed credential id, before any AWS call', async (_command, argv, named) => {
    const output = captureOutput();

    expect(await main(argv)).toBe(2);
    expect(output.join('\n')).toContain(named);
    expect(output.join('\n')).toContain('not a credential id: want <accountId>:<kind>:<id>');
  });

  it('names a profile that is in neither AWS file, from --profile or AWS_PROFILE, with those there', async () => {
    let output = captureOutput();
    expect(await main(['--profile', 'nope', 'decisions', ID])).toBe(2);
    expect(output[0]).toBe(
      `reauth: the AWS profile "nope" (--profile or AWS_PROFILE) is not in ${config} or ${credentials} (profiles there: ci, default, prod-audit): name another, or add it with \`aws configure --profile nope\` (\`aws configure sso\` for SSO)`,
    );
    vi.restoreAllMocks();

    process.env.AWS_PROFILE = 'nope';
    output = captureOutput();
    expect(await main(['scan', '--table', 't'])).toBe(2);
    expect(output[0]).toContain('the AWS profile "nope"');
  });

  it('knows a profile from either file, and `profile` sections only in the config', () => {
    for (const profile of ['default', 'prod-audit', 'ci']) {
      expect(() => checkProfile({ ...process.env, AWS_PROFILE: profile })).not.toThrow();
    }
    // `[sso-session corp]` is a section of the config file, not a profile.
    expect(() => checkProfile({ ...process.env, AWS_PROFILE: 'corp' })).toThrow('"corp"');
    expect(() => checkProfile({ AWS_PROFILE: 'x', AWS_CONFIG_FILE: join(dir, 'none') })).toThrow('"x"');
  });

  it('takes --fail-on-findings on scan and enforce only, and says so in their help', async () => {
    for (const command of [['scan'], ['enforce']]) {
      const output = captureOutput();
      expect(await main([...command, '--help'])).toBe(0);
      expect(output.join('\n')).toContain('--fail-on-findings');
      vi.restoreAllMocks();
    }
    const output = captureOutput();
    expect(await main(['verify', '--export', dir, '--fail-on-findings'])).toBe(2);
    expect(output.join('\n')).toContain("error: unknown option '--fail-on-findings'");
  });

  it('documents exit code 3 in the program help', async () => {
    const output = captureOutput();

    expect(await main(['--help'])).toBe(0);
    expect(output.join('\n')).toMatch(
      /3 findings,\s+only with --fail-on-findings \(scan, enforce --dry-run\)/,
    );
  });
});
