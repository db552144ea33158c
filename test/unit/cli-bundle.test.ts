import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { version } from '../../package.json';

// The CLI as it ships: the esbuild bundle, run by bin/reauth.mjs in a copy of the package that has
// no node_modules at all, so it cannot lean on a dev dependency (or any dependency).

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const shipped = mkdtempSync(join(tmpdir(), 'reauth-cli-'));
const home = mkdtempSync(join(tmpdir(), 'reauth-cli-home-'));

/** Runs the shipped `reauth` with only what a fresh shell has: no AWS settings, no profile files. */
async function reauth(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(shipped, 'bin/reauth.mjs'), ...args], {
      cwd: shipped,
      env: { PATH: process.env.PATH ?? '', HOME: home, AWS_EC2_METADATA_DISABLED: 'true', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// No timeout: esbuild bounds the build, a loaded machine only slows it.
beforeAll(async () => {
  await run('npm', ['run', '-s', 'build:cli'], { cwd: root });
  for (const path of ['bin', 'dist/cli', 'package.json', 'reauth.config.json', 'schemas']) {
    mkdirSync(join(shipped, path, '..'), { recursive: true });
    cpSync(join(root, path), join(shipped, path), { recursive: true });
  }
}, 0);

afterAll(() => {
  rmSync(shipped, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe('the shipped reauth command', () => {
  // How fast it starts is the bench's to say (a loaded machine only slows a test down).
  it('runs with no node_modules: --version, --help, config check', async () => {
    const versionRun = await reauth(['--version']);
    expect(versionRun).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });

    const help = await reauth(['scan', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: reauth scan [options]');

    const check = await reauth(['config', 'check', '--json']);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).policy.mode).toBe('report');
  });

  it('says which settings to fix when there is no region, and when there are no credentials, without the SDK warning', async () => {
    const noRegion = await reauth(['scan', '--table', 'reauth-decisions']);
    expect(noRegion.code).toBe(1);
    expect(noRegion.stderr).toContain('reauth: no AWS region: pass --region or set AWS_REGION');
    expect(noRegion.stderr).toContain('--profile or AWS_PROFILE');

    const noCredentials = await reauth(['scan', '--table', 'reauth-decisions', '--region', 'eu-west-1']);
    expect(noCredentials.code).toBe(1);
    expect(noCredentials.stderr).toContain('reauth: no AWS credentials: pass --profile or set AWS_PROFILE');
    expect(noCredentials.stderr).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    for (const stderr of [noRegion.stderr, noCredentials.stderr]) expect(stderr).not.toContain('Warning');
  });

  it('refuses an option a command does not take, naming it, exit 2', async () => {
    const refused = await reauth(['verify', '--export', 'x', '--owner', 'bob']);

    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("error: unknown option '--owner'");
  });
});
