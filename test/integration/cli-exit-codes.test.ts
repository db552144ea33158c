import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTable } from '../../cli/aws';
import { main } from '../../cli/main';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { ensureDecisionTable } from '../../lambdas/shared/adapters/decision-table';
import type { Transition } from '../../lambdas/shared/domain/decision';
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

describe('reauth enforce --dry-run --fail-on-findings', () => {
  it('exits 3 when a disable is due (or held back), 0 without the option, and 0 with it when nothing is due', async () => {
    const other = 'cli-exit-codes-enforce';
    await ensureDecisionTable(clients.dynamodb, other);
    let output = captureOutput();
    expect(await main(['enforce', '--dry-run', '--table', other, '--fail-on-findings'])).toBe(0);
    expect(output.join('\n')).toContain('Nothing is due.');
    vi.restoreAllMocks();

    // An owner told on 1 November, with a deadline passed: the enforce job would disable the key.
    const id = `${ACCOUNT}:access-key:AKIAOVERDUE`;
    await createDecisionStore(clients.documents, other).transition(id, () => overdue(id));
    output = captureOutput();
    expect(await main(['enforce', '--dry-run', '--table', other])).toBe(0);
    vi.restoreAllMocks();

    output = captureOutput();
    expect(await main(['enforce', '--dry-run', '--table', other, '--json', '--fail-on-findings'])).toBe(3);
    // Due: to disable, or held back by a rail (here the budget, 5% of a one-key account): either is a finding.
    const plan = JSON.parse(output.join('\n'));
    const due = [
      ...plan.actions.map((a: { credentialId: string }) => a.credentialId),
      ...plan.heldBack.flatMap((h: { credentialIds: string[] }) => h.credentialIds),
    ];
    expect(due).toEqual([id]);
  });
});

const ACCOUNT = '123456789012';

/** A pending key whose owner was told on 1 November and whose deadline passed on the 15th. */
function overdue(credentialId: string): Transition {
  const subject = {
    credentialId,
    accountId: ACCOUNT,
    kind: 'access-key' as const,
    principal: 'old-batch',
    owner: 'UALICE',
  };
  return {
    state: {
      ...subject,
      status: 'pending',
      triggers: ['idle'],
      notifiedAt: '2026-11-01T09:00:00.000Z',
      deadlineAt: '2026-11-15T09:00:00.000Z',
    },
    decision: {
      ...subject,
      action: 'notify',
      reason: 'idle 120 days',
      actor: 'system:scan',
      at: '2026-11-01T09:00:00.000Z',
      mode: 'report',
      policyId: 'sha256:0123456789abcdef',
      evidence: { idleDays: 120, lastUsedAt: null, triggers: ['idle'] },
    },
  };
}

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
