import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { captureOutput } from '../support/cli-output';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the CLI refuses a policy that exempts by pattern', () => {
  it('exits 1 from scan and enforce --dry-run, naming the file and the field, before any AWS call', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'reauth-cli-policy-')), 'reauth.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        exemptions: [{ match: '*', until: '2027-01-01', approver: 'U999', reason: 'quiet' }],
      }),
    );

    for (const command of [['scan'], ['enforce', '--dry-run']]) {
      const output = captureOutput();

      const code = await main([...command, '--config', config, '--table', 'never-read']);

      expect(code).toBe(1);
      expect(output.join('\n')).toContain(
        `reauth: ${config}: exemptions[0].match: "*" is a pattern, but an exemption names one credential id or principal exactly`,
      );
      vi.restoreAllMocks();
    }
  });
});
