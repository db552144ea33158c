import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { CredentialState, DecisionAction, Transition } from '../../lambdas/shared/domain/decision';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { captureOutput } from '../support/cli-output';
import { useEmulator } from '../support/emulator';
import { exportTable } from '../support/table-export';

const { clients } = useEmulator();
const TABLE = 'evidence-report-under-test';
const ACCOUNT = '123456789012';
const KEY = `${ACCOUNT}:access-key:AKIAEVIDENCE`;
const SECRET = `${ACCOUNT}:secret:arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:db-AbCdEf`;
let exportRoot: string;
let dataFile: string;

function change(
  credentialId: string,
  action: DecisionAction,
  status: CredentialState['status'],
  at: string,
  evidence: Record<string, unknown> = {},
): Transition {
  const subject = {
    credentialId,
    accountId: ACCOUNT,
    kind: 'access-key' as const,
    principal: 'svc-etl',
    owner: 'U042',
  };
  return {
    state: {
      ...subject,
      status,
      triggers: status === 'pending' ? ['idle'] : [],
      ...(status === 'pending' && { deadlineAt: '2026-11-08T00:00:00.000Z' }),
    },
    decision: {
      ...subject,
      action,
      reason: `${action}, as recorded`,
      actor: 'system:scan',
      at,
      mode: 'report',
      policyId: 'sha256:0123456789abcdef',
      evidence: { idleDays: 120, lastUsedAt: null, triggers: ['idle'], ...evidence },
    },
  };
}

beforeAll(async () => {
  await ensureDecisionTable(clients.dynamodb, TABLE);
  const store = createDecisionStore(clients.documents, TABLE);
  await store.transition(KEY, () => change(KEY, 'flag', 'pending', '2026-11-01T09:00:00.000Z'));
  await store.transition(KEY, () => change(KEY, 'notify', 'pending', '2026-11-01T09:01:00.000Z'));
  await store.transition(KEY, () =>
    change(KEY, 'reauthorize', 'active', '2026-11-03T15:00:00.000Z', {
      approver: 'slack:U042',
      until: '2027-02-01T15:00:00.000Z',
    }),
  );
  await store.transition(SECRET, () => change(SECRET, 'flag', 'pending', '2026-11-02T09:00:00.000Z'));
  exportRoot = await mkdtemp(join(tmpdir(), 'reauth-evidence-'));
  dataFile = await exportTable(clients.dynamodb, TABLE, exportRoot);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('reauth verify and reauth report over an export of the emulator table', () => {
  it('finds all chains intact in an untouched export', async () => {
    const output = captureOutput();

    const code = await main(['verify', '--export', exportRoot]);

    expect(code).toBe(0);
    expect(output.join('\n')).toContain('1 files, 2 credentials, 4 decisions');
    expect(output.join('\n')).toContain('All 2 chains intact.');
  });

  it('writes decisions.csv and report.html', async () => {
    const out = join(exportRoot, '..', `${exportRoot.split('/').pop()}-report`);
    captureOutput();

    const code = await main([
      'report',
      '--export',
      exportRoot,
      '--out',
      out,
      '--as-of',
      '2026-11-20T00:00:00Z',
    ]);

    expect(code).toBe(0);
    const csv = (await readFile(join(out, 'decisions.csv'), 'utf8')).trim().split('\r\n');
    expect(csv).toHaveLength(5);
    expect(csv.find((row) => row.includes(',reauthorize,'))).toContain(
      ',slack:U042,2027-02-01T15:00:00.000Z,idle,',
    );
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('Hash chains intact: all 2 chains, 4 decisions.');
    // Recorded before names were kept: the id, marked unresolved.
    expect(html).toContain('<td>slack:U042 (unresolved: name not recorded with this decision)</td>');
    // The secret's request is past its deadline (2026-11-08) as of 2026-11-20: charted and listed.
    expect(html).toMatch(/data-chart="overdue-by-owner".*U042.*<\/svg>/s);
    expect(html).toMatch(
      /<section id="overdue">.*<td>secret<\/td><td class="nw">svc-etl<\/td><td>123456789012<\/td><td>U042<\/td><td><span class="nw">2026-11-08<\/span> 00:00 UTC<\/td><td>12<\/td>/s,
    );
  });

  it('exits 1 naming the item whose reason was changed in the export', async () => {
    const lines = gunzipSync(await readFile(dataFile))
      .toString('utf8')
      .trim()
      .split('\n');
    const tampered = lines.map((line) =>
      line.includes('"reauthorize"')
        ? line.replace('reauthorize, as recorded', 'approved by the CISO')
        : line,
    );
    expect(tampered).not.toEqual(lines);
    await writeFile(dataFile, gzipSync(`${tampered.join('\n')}\n`));
    const output = captureOutput();

    const code = await main(['verify', '--export', exportRoot, '--json']);

    expect(code).toBe(1);
    const result = JSON.parse(output.join('\n'));
    expect(result).toMatchObject({ chainsIntact: false, credentials: 2, decisions: 4 });
    expect(result.problems).toEqual([
      expect.objectContaining({
        credentialId: KEY,
        seq: 3,
        at: '2026-11-03T15:00:00.000Z',
        sk: 'DECISION#2026-11-03T15:00:00.000Z#000003',
        problem: 'hash does not match the content (altered after it was written)',
      }),
    ]);
  });
});
