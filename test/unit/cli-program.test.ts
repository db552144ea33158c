import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { DEFAULT_TIERS, parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { version } from '../../package.json';
import { captureOutput } from '../support/cli-output';

afterEach(() => {
  vi.restoreAllMocks();
});

const COMMANDS = ['scan', 'decisions', 'enforce', 'emit', 'verify', 'report', 'config check'];

describe('reauth, the command line', () => {
  it('prints its version with --version, exit 0', async () => {
    const output = captureOutput();

    expect(await main(['--version'])).toBe(0);
    expect(output).toEqual([version]);
  });

  it.each(COMMANDS)('shows `%s --help`: its own usage and options, exit 0', async (command) => {
    const output = captureOutput();

    expect(await main([...command.split(' '), '--help'])).toBe(0);
    expect(output.join('\n')).toMatch(new RegExp(`^Usage: reauth ${command}`));
    expect(output.join('\n')).toContain('--json');
  });

  it('lists every command and the exit codes with --help, and exits 2 with the usage when no command is given', async () => {
    let output = captureOutput();
    expect(await main(['--help'])).toBe(0);
    for (const command of ['scan', 'decisions', 'enforce', 'emit', 'verify', 'report', 'config']) {
      expect(output.join('\n')).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(output.join('\n')).toContain('Exit codes: 0 ok; 1 a broken hash chain');
    vi.restoreAllMocks();

    output = captureOutput();
    expect(await main([])).toBe(2);
    expect(output.join('\n')).toContain('Usage: reauth');
  });

  it('refuses an option the command does not take, naming it, exit 2', async () => {
    const output = captureOutput();

    expect(await main(['verify', '--export', 'dir', '--owner', 'bob', '--dry-run'])).toBe(2);
    expect(output.join('\n')).toContain("error: unknown option '--owner'");
  });

  it('refuses a missing required option and an unknown command, naming them, exit 2', async () => {
    let output = captureOutput();
    expect(await main(['report'])).toBe(2);
    expect(output.join('\n')).toContain("error: required option '--export <source>' not specified");
    vi.restoreAllMocks();

    output = captureOutput();
    expect(await main(['scna'])).toBe(2);
    expect(output.join('\n')).toContain("error: unknown command 'scna'");
  });

  it('refuses enforce without --dry-run and an unknown event type as usage errors, exit 2', async () => {
    let output = captureOutput();
    expect(await main(['enforce'])).toBe(2);
    expect(output.join('\n')).toContain('reauth: enforcement runs in the enforce Lambda');
    vi.restoreAllMocks();

    output = captureOutput();
    expect(await main(['emit', 'Owner Exploded'])).toBe(2);
    expect(output.join('\n')).toContain('reauth: emit takes one event type: "Owner Departed"');
  });
});

describe('reauth config check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reauth-config-check-'));

  it('prints the effective policy, every default filled in and the tiers merged, with its PolicyId', async () => {
    const file = join(dir, 'partial.json');
    writeFileSync(file, JSON.stringify({ tiers: { critical: { idleDays: 15 } } }));
    const output = captureOutput();

    expect(await main(['config', 'check', '--config', file, '--json'])).toBe(0);
    const printed = JSON.parse(output.join('\n'));
    const expected = parsePolicyConfig({ tiers: { critical: { idleDays: 15 } } });
    expect(printed).toEqual({ file, policyId: policyIdOf(expected), warnings: [], policy: expected });
    expect(printed.policy.tiers).toEqual({
      standard: DEFAULT_TIERS.standard,
      critical: { ...DEFAULT_TIERS.critical, idleDays: 15 },
    });
    expect(printed.policy.actionBudget).toEqual({ maxActions: 25, maxFraction: 0.05 });
  });

  it('says the file is valid, in words, with the policy in effect', async () => {
    const file = join(dir, 'empty.json');
    writeFileSync(file, '{}');
    const output = captureOutput();

    expect(await main(['config', 'check', '--config', file])).toBe(0);
    expect(output.join('\n')).toContain(
      `${file} is a valid policy (PolicyId ${policyIdOf(parsePolicyConfig({}))})`,
    );
    expect(output.join('\n')).toContain('"fallbackOwner": "#security"');
  });

  it('exits 1 naming each bad field', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ mode: 'yolo', tiers: { legacy: { idleDays: 3 } } }));
    const output = captureOutput();

    expect(await main(['config', 'check', '--config', file])).toBe(1);
    expect(output.join('\n')).toMatch(new RegExp(`^reauth: ${file}: mode: .*tiers\\.legacy\\.maxAgeDays: `));
  });

  it('exits 1 naming the field of a setting refused against the rest of the policy, as synth and a cold start do', async () => {
    const file = join(dir, 'override-tier.json');
    writeFileSync(
      file,
      JSON.stringify({ organization: { overrides: [{ ous: ['ou-ab12-sandbox1'], defaultTier: 'gold' }] } }),
    );
    const output = captureOutput();

    expect(await main(['config', 'check', '--config', file])).toBe(1);
    expect(output).toEqual([
      `reauth: ${file}: organization.overrides[0].defaultTier: names no tier; tiers are: standard, critical (and those this override defines in full)`,
    ]);
  });

  it('warns of settings that change nothing, exit 0: on stderr in words, as `warnings` with --json', async () => {
    const file = join(dir, 'no-ops.json');
    const config = {
      enforcement: { revokeSessionsOn: ['disable'] },
      exemptions: [{ match: 'migration-bot', until: '2020-01-01', approver: 'U999', reason: 'SEC-1' }],
    };
    writeFileSync(file, JSON.stringify(config));
    const stderr: string[] = [];
    const stdout: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void stderr.push(args.join(' ')));
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void stdout.push(args.join(' ')));

    expect(await main(['config', 'check', '--config', file])).toBe(0);
    expect(stderr).toEqual([
      'reauth: warning: enforcement.revokeSessionsOn: ends no session in report mode (nothing in IAM changes), and no override puts an account in enforce mode',
      'reauth: warning: exemptions[0].until: 2020-01-01 has passed: the exemption of "migration-bot" exempts nothing',
    ]);
    expect(stdout.join('\n')).toContain(`${file} is a valid policy`);

    stdout.length = 0;
    stderr.length = 0;
    expect(await main(['config', 'check', '--config', file, '--json'])).toBe(0);
    expect(stderr).toEqual([]);
    expect(JSON.parse(stdout.join('\n')).warnings.map((w: { field: string }) => w.field)).toEqual([
      'enforcement.revokeSessionsOn',
      'exemptions[0].until',
    ]);
  });

  it('checks vendors: a malformed account id or an empty name exits 1 naming it, a good map is printed', async () => {
    const bad = join(dir, 'bad-vendors.json');
    writeFileSync(bad, JSON.stringify({ vendors: { '9999-8888-7777': 'Acme', '111122223333': ' ' } }));
    let output = captureOutput();

    expect(await main(['config', 'check', '--config', bad])).toBe(1);
    expect(output.join('\n')).toContain('vendors.9999-8888-7777: not an AWS account id (12 digits)');
    expect(output.join('\n')).toContain('vendors.111122223333: Too small');

    const good = join(dir, 'vendors.json');
    writeFileSync(good, JSON.stringify({ vendors: { '999988887777': 'Acme Monitoring' } }));
    output = captureOutput();
    expect(await main(['config', 'check', '--config', good, '--json'])).toBe(0);
    expect(JSON.parse(output.join('\n')).policy.vendors).toEqual({ '999988887777': 'Acme Monitoring' });
  });
});
