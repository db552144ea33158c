import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTable } from '../../cli/aws';
import { main } from '../../cli/main';
import { ensureDecisionTable } from '../../lambdas/shared/adapters/decision-table';
import { seedAccount } from '../../scripts/local/seed';
import { captureOutput } from '../support/cli-output';
import { useEmulator } from '../support/emulator';

const { emulator, clients } = useEmulator();
const TABLE = 'cli-exit-codes';

beforeAll(async () => {
  // Also the first call of this client: the SDK fixes its endpoint (the emulator's) then.
  await ensureDecisionTable(clients.dynamodb, TABLE);
  await seedAccount(
    emulator,
    clients,
    {
      users: [
        {
          name: 'idle-batch',
          tags: { 'reauth:owner': 'UALICE' },
          keys: [{ createdDaysAgo: 300, usedDaysAgo: 200 }],
        },
      ],
      secrets: [],
      roles: [],
    },
    new Date(),
  );
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('reauth scan --fail-on-findings, a CI gate', () => {
  it('exits 0 with findings by default, and 3 when asked to fail on them, recording them either way', async () => {
    let output = captureOutput();
    expect(await main(['scan', '--table', TABLE])).toBe(0);
    expect(output.join('\n')).toContain('1 need reauthorization');
    vi.restoreAllMocks();

    output = captureOutput();
    expect(await main(['scan', '--table', TABLE, '--json', '--fail-on-findings'])).toBe(3);
    const report = JSON.parse(output.join('\n'));
    expect(report.rows.filter((row: { outcome: string }) => row.outcome === 'finding')).toHaveLength(1);
  });

  it('exits 0 with --fail-on-findings when nothing needs reauthorization', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'reauth-exit-codes-')), 'exempt.json');
    const exemption = { match: 'idle-batch', until: '2099-01-01', approver: 'U999', reason: 'SEC-1' };
    writeFileSync(config, JSON.stringify({ exemptions: [exemption] }));
    const output = captureOutput();

    expect(await main(['scan', '--table', TABLE, '--config', config, '--fail-on-findings'])).toBe(0);
    expect(output.join('\n')).toContain('No credential needs reauthorization.');
  });
});

describe('reauth names the option that names nothing', () => {
  it('emit to a bus that does not exist: exit 2 naming --bus', async () => {
    const output = captureOutput();

    const code = await main(['emit', 'Owner Departed', '--owner', 'UALICE', '--bus', 'no-such-bus']);

    expect(code).toBe(2);
    expect(output[0]).toMatch(
      /^reauth: --bus no-such-bus: no such event bus in this account and region \(.*\): pass --bus with the stack output EventBusName$/,
    );
  });

  it('a decision table that does not exist in AWS: a usage error naming --table, or REAUTH_TABLE when that chose it', async () => {
    // Off the emulator's defaults (where a missing table is created): the table must exist.
    const endpoint = process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL;
    try {
      await expect(openTable(clients, 'no-such-table')).rejects.toThrow(
        '--table no-such-table: no such DynamoDB table in this account and region: pass --table with the stack output TableName',
      );
      process.env.REAUTH_TABLE = 'gone';
      await expect(openTable(clients, undefined)).rejects.toThrow(
        'REAUTH_TABLE=gone: no such DynamoDB table',
      );
    } finally {
      process.env.AWS_ENDPOINT_URL = endpoint;
      delete process.env.REAUTH_TABLE;
    }
  });
});
