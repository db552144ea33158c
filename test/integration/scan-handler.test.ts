import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { type CredentialState, verifyChain } from '../../lambdas/shared/domain/decision';
import type { ScanReport } from '../../lambdas/shared/use-cases/scan-account';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { demoAccount } from '../../scripts/local/demo-account';
import { type Seeded, seedAccount } from '../../scripts/local/seed';
import { useEmulator } from '../support/emulator';

const { emulator, clients } = useEmulator();
const TABLE = 'scan-under-test';
const ACCOUNT = '123456789012';
const DEMO_POLICY = fileURLToPath(new URL('../../scripts/local/demo.config.json', import.meta.url));
const store = createDecisionStore(clients.documents, TABLE);
const spec = demoAccount();
let seeded: Seeded;
let states: Map<string, CredentialState>;
let firstRun: Awaited<ReturnType<typeof runHandler>>;

/** Imports the handler afresh, as a Lambda cold start does, with `env` as its environment. */
async function importHandler(env: Record<string, string | undefined>) {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  return (await import('../../lambdas/scan/handler')).handler;
}

async function runHandler() {
  const handler = await importHandler({
    TABLE_NAME: TABLE,
    POLICY_FILE: DEMO_POLICY,
    POWERTOOLS_LOG_LEVEL: 'WARN',
  });
  return handler();
}

function keyState(user: string, slot: number): CredentialState | undefined {
  return states.get(`${ACCOUNT}:access-key:${seeded.keyIds.get(user)?.[slot]}`);
}

function stateOf(kind: CredentialState['kind'], principal: string): CredentialState | undefined {
  return [...states.values()].find((s) => s.kind === kind && s.principal === principal);
}

beforeAll(async () => {
  await ensureDecisionTable(clients.dynamodb, TABLE);
  seeded = await seedAccount(emulator, clients, spec, new Date());
  firstRun = await runHandler();
  states = await store.loadStates(ACCOUNT);
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the scan Lambda on a seeded account', () => {
  it('inventories every active key, every secret and the roles trusted by another account', () => {
    const keys = spec.users.reduce((n, user) => n + user.keys.length, 0);
    expect(firstRun.inventory).toEqual({
      accessKeys: keys,
      passwords: 0,
      signingCertificates: 0,
      sshKeys: 0,
      serviceCredentials: 0,
      secrets: spec.secrets.length,
      roles: 2,
    });
    expect(firstRun).toMatchObject({ accountId: ACCOUNT, mode: 'report' });
    // Every state has its one decision, but those that only learned where they are used (seq 0).
    expect(firstRun.decisionsWritten).toBe([...states.values()].filter((s) => s.seq > 0).length);
  });

  it("judges each of a user's keys on its own dates: the idle one is pending, the busy one untouched", () => {
    const idle = keyState('ci-deployer', 0);
    expect(idle).toMatchObject({ status: 'pending', triggers: ['idle'], owner: 'U04PLATFORM' });
    // The critical tier gives its owner 7 days.
    const graceDays = (Date.parse(idle?.deadlineAt ?? '') - Date.parse(idle?.updatedAt ?? '')) / 86_400_000;
    expect(graceDays).toBe(7);
    // Listed with its idle sibling, the busy key learned where it is used: its state alone, no decision.
    expect(keyState('ci-deployer', 1)).toMatchObject({
      status: 'active',
      triggers: [],
      seq: 0,
      usage: { services: ['iam'], regions: ['us-east-1'] },
    });
  });

  it('sends a credential nobody owns to the fallback owner as orphaned', () => {
    expect(keyState('legacy-reporting', 0)).toMatchObject({ owner: '#security', status: 'pending' });
    expect(keyState('legacy-reporting', 0)?.triggers).toContain('orphaned');
    expect(stateOf('secret', 'old/ftp-password')?.triggers).toContain('orphaned');
  });

  it('records the protected and the exempt principal once, with why, and asks nobody', () => {
    expect(keyState('break-glass-admin', 0)).toMatchObject({ status: 'protected', triggers: [] });
    expect(keyState('migration-bot', 0)).toMatchObject({ status: 'exempt', exemptUntil: '2030-01-01' });
  });

  it('flags the never-read and long-unread secrets, not the one read this week', () => {
    expect(stateOf('secret', 'prod/data/warehouse')).toMatchObject({ status: 'pending', triggers: ['idle'] });
    expect(stateOf('secret', 'prod/search/opensearch')).toMatchObject({
      status: 'pending',
      triggers: ['idle'],
    });
    expect(stateOf('secret', 'prod/payments/stripe')).toBeUndefined();
  });

  it('flags the vendor role unused since creation, not the one the vendor assumed yesterday', () => {
    expect(stateOf('role', 'vendor-cost-explorer')).toMatchObject({ status: 'pending', triggers: ['idle'] });
    expect(stateOf('role', 'vendor-monitoring')).toMatchObject({ status: 'active', triggers: [], seq: 0 });
    expect(stateOf('role', 'internal-admin')).toBeUndefined();
  });

  it('changes nothing in IAM in report mode: every key is still active', async () => {
    for (const user of spec.users) {
      const { AccessKeyMetadata } = await clients.iam.send(
        new ListAccessKeysCommand({ UserName: user.name }),
      );
      expect(AccessKeyMetadata?.map((key) => key.Status)).toEqual(user.keys.map(() => 'Active'));
    }
  });

  it('writes nothing on a re-run when nothing changed, and every chain stays intact', async () => {
    const again = await runHandler();

    expect(again.decisionsWritten).toBe(0);
    expect(again.findings).toBe(firstRun.findings);
    for (const [id, state] of states) {
      const history = await store.history(id);
      expect(history).toHaveLength(state.seq);
      expect(verifyChain(history)).toEqual([]);
    }
  });
});

describe('the next scan after an owner put a credential back to use', () => {
  it('clears the pending secret, recording why, and leaves the others pending', async () => {
    const warehouse = stateOf('secret', 'prod/data/warehouse');
    await clients.secretsManager.send(new GetSecretValueCommand({ SecretId: 'prod/data/warehouse' }));

    const run = await runHandler();

    expect(run.decisionsWritten).toBe(1);
    const after = await store.getState(warehouse?.credentialId ?? '');
    expect(after).toMatchObject({ status: 'active', triggers: [] });
    const last = (await store.history(warehouse?.credentialId ?? '')).at(-1);
    expect(last).toMatchObject({ action: 'reauthorize', actor: 'system:scan', seq: 2 });
    expect(last?.reason).toMatch(/idle no longer applies/);
    expect(
      (await store.getState(stateOf('secret', 'prod/search/opensearch')?.credentialId ?? ''))?.status,
    ).toBe('pending');
  });
});

describe('the scan Lambda cold start', () => {
  it('fails naming the field when the policy is bad', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reauth-'));
    const bad = join(dir, 'policy.json');
    writeFileSync(bad, JSON.stringify({ mode: 'enforce-everything', tiers: { standard: { idleDays: 0 } } }));

    await expect(importHandler({ TABLE_NAME: TABLE, POLICY_FILE: bad })).rejects.toThrow(
      /mode: .*tiers\.standard\.idleDays/s,
    );
  });

  it('fails naming the field when a setting contradicts the rest of the policy: an override tier it lacks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reauth-'));
    const bad = join(dir, 'policy.json');
    writeFileSync(
      bad,
      JSON.stringify({ organization: { overrides: [{ accounts: ['111122223333'], defaultTier: 'gold' }] } }),
    );

    await expect(importHandler({ TABLE_NAME: TABLE, POLICY_FILE: bad })).rejects.toThrow(
      /organization\.overrides\[0\]\.defaultTier: names no tier/,
    );
  });

  it('fails naming the variable when the environment is incomplete', async () => {
    await expect(importHandler({ TABLE_NAME: undefined, POLICY_FILE: DEMO_POLICY })).rejects.toThrow(
      /TABLE_NAME/,
    );
  });
});

describe('reauth scan and reauth decisions', () => {
  it('prints the findings as JSON and the history with its chain checked', async () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await main(['scan', '--json', '--config', DEMO_POLICY, '--table', TABLE])).toBe(0);
      const report = JSON.parse(String(out.mock.calls.at(-1)?.[0])) as ScanReport;
      expect(report.decisionsWritten).toBe(0);
      // The secret put back to use above is no longer a finding.
      expect(report.rows.filter((row) => row.outcome === 'finding')).toHaveLength(firstRun.findings - 1);

      const id = `${ACCOUNT}:access-key:${seeded.keyIds.get('ci-deployer')?.[0]}`;
      expect(await main(['decisions', id, '--table', TABLE])).toBe(0);
      expect(String(out.mock.calls.at(-1)?.[0])).toMatch(/Hash chain intact: 1 decisions/);
    } finally {
      out.mockRestore();
    }
  });

  it('refuses a malformed credential id as a usage error (exit 2), saying why', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['decisions', 'not-an-id', '--table', TABLE])).toBe(2);
      expect(String(err.mock.calls[0]?.[0])).toMatch(/not a credential id/);
    } finally {
      err.mockRestore();
    }
  });
});
