import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { merkleRoot, populationLeaf } from '../../lambdas/shared/domain/population';
import { verifyExport, writeEvidenceReport } from '../../lambdas/shared/evidence/evidence-report';
import { type ScanReport, scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { seedAccount } from '../../scripts/local/seed';
import { useEmulator } from '../support/emulator';
import { POPULATION_ACCOUNT } from '../support/population-account';
import { exportTable } from '../support/table-export';

const { emulator, clients } = useEmulator();
const ACCOUNT = '123456789012';
const TABLE = 'reauth-population';
const DAY = 86_400_000;
let reports: ScanReport[];
let exported: string;

/** The export's lines, each changed by `edit` (undefined: the line is removed). */
async function rewrite(edit: (item: Record<string, { S?: string; N?: string }>) => object | undefined) {
  const root = await mkdtemp(join(tmpdir(), 'reauth-population-'));
  const file = await exportTable(clients.dynamodb, TABLE, root);
  const lines = gunzipSync(await readFile(exported))
    .toString('utf8')
    .trim()
    .split('\n');
  const kept = lines.flatMap((line) => {
    const changed = edit((JSON.parse(line) as { Item: Record<string, { S?: string; N?: string }> }).Item);
    return changed ? [`${JSON.stringify({ Item: changed })}\n`] : [];
  });
  await writeFile(file, gzipSync(kept.join('')));
  return root;
}
const isRun = (item: Record<string, { S?: string }>, seq: string) =>
  item.pk?.S === `POPULATION#${ACCOUNT}` && item.sk?.S?.startsWith('RUN#') && item.sk.S.endsWith(`#${seq}`);

beforeAll(async () => {
  await ensureDecisionTable(clients.dynamodb, TABLE);
  await seedAccount(emulator, clients, POPULATION_ACCOUNT, new Date());
  const store = createDecisionStore(clients.documents, TABLE);
  const scan = (now: Date) =>
    scanAccount(
      { iam: clients.iam, secretsManager: clients.secretsManager, store, stacks: stackOwnersOfThisAccount() },
      { accountId: ACCOUNT, policy: parsePolicyConfig({}), now },
    );
  reports = [];
  for (const day of [0, 1, 2]) reports.push(await scan(new Date(Date.now() + day * DAY)));
  const root = await mkdtemp(join(tmpdir(), 'reauth-population-'));
  exported = await exportTable(clients.dynamodb, TABLE, root);
});

describe("each scan's population record", () => {
  it('is written once per run, chained per account, and commits to every credential evaluated', () => {
    expect(reports.map((r) => r.population.seq)).toEqual([1, 2, 3]);
    const [first] = reports;
    // The three credentials and their outcomes: the idle key a finding, the busy key and the secret ok.
    const ids = first?.rows.map((row) => row.credentialId) ?? [];
    expect(ids).toHaveLength(1);
    expect(first?.population.root).toMatch(/^[0-9a-f]{64}$/);
    // The same inventory and outcomes on the next day commit to the same root.
    expect(reports[1]?.population.root).toBe(first?.population.root);
    expect(merkleRoot([populationLeaf(ids[0] as string, 'finding', ['idle', 'max-age'])])).not.toBe(
      first?.population.root,
    );
  });

  it('is checked by reauth verify: intact as written', async () => {
    const result = await verifyExport({ kind: 'dir', path: join(exported, '..', '..', '..', '..') });
    expect(result.verdict.populationRecords).toBe(3);
    expect(result.verdict.issues).toEqual([]);
  });

  it('fails verify when a record is altered, removed from the middle, or removed from the end', async () => {
    const altered = await rewrite((item) =>
      isRun(item, '000002') ? { ...item, evaluated: { N: '1' } } : item,
    );
    expect((await verifyExport({ kind: 'dir', path: altered })).verdict.issues).toEqual([
      expect.objectContaining({
        credentialId: `population:${ACCOUNT}`,
        seq: 2,
        problem: expect.stringMatching(/hash does not match/),
      }),
    ]);
    const gap = await rewrite((item) => (isRun(item, '000002') ? undefined : item));
    expect((await verifyExport({ kind: 'dir', path: gap })).verdict.issues).toEqual([
      expect.objectContaining({ seq: 2, problem: expect.stringMatching(/seq 2 is missing/) }),
    ]);
    const cut = await rewrite((item) => (isRun(item, '000003') ? undefined : item));
    expect((await verifyExport({ kind: 'dir', path: cut })).verdict.issues).toEqual([
      expect.objectContaining({
        problem: expect.stringMatching(/head names seq 3, and the export ends at 2/),
      }),
    ]);
  });
});

const exportedRoot = () => join(exported, '..', '..', '..', '..');

describe('the report', () => {
  it('shows the population per day and account, and a day an account was not scanned as a gap', async () => {
    const page = async (root: string) => {
      const out = join(root, 'report');
      await writeEvidenceReport({ kind: 'dir', path: root }, out, {
        asOf: new Date(Date.now() + 2 * DAY + 60_000),
      });
      return readFile(join(out, 'report.html'), 'utf8');
    };
    const whole = await page(join(exported, '..', '..', '..', '..'));
    expect(whole).toContain('No gap: every account was scanned every day from its first record.');
    const section = whole.slice(
      whole.indexOf('<section id="population">'),
      whole.indexOf('<section id="counts">'),
    );
    // A row a day (and the header), and the account's latest scan with its root.
    expect(section.match(/Scans by day<\/h3>.*?<\/table>/s)?.[0].match(/<tr>/g)).toHaveLength(1 + 3);
    expect(section).toContain(reports[2]?.population.root);
    // Every scan is a row of population.csv, with its root.
    const csv = (await readFile(join(exportedRoot(), 'report', 'population.csv'), 'utf8'))
      .trim()
      .split('\r\n');
    expect(csv).toHaveLength(1 + 3);
    for (const report of reports)
      expect(csv.some((line) => line.endsWith(`${report.population.root},unsigned`))).toBe(true);
    const missingDay = await page(await rewrite((item) => (isRun(item, '000002') ? undefined : item)));
    const skipped = new Date(Date.now() + DAY).toISOString().slice(0, 10);
    expect(missingDay).toContain('<strong>1 gaps</strong> (1 account-days)');
    expect(missingDay).toMatch(
      new RegExp(`<tr><td[^>]*>${skipped}</td>.*?123456789012.*?no scan of this account \\(1 days\\)`),
    );
  });
});

describe('the Merkle root', () => {
  it('does not depend on the order of the leaves, and changes with any one of them', () => {
    const leaves = ['a|ok|', 'b|finding|idle', 'c|ok|'];
    expect(merkleRoot(leaves)).toBe(merkleRoot([...leaves].reverse()));
    expect(merkleRoot(leaves)).not.toBe(merkleRoot(['a|ok|', 'b|finding|max-age', 'c|ok|']));
    expect(merkleRoot(leaves)).not.toBe(merkleRoot(leaves.slice(0, 2)));
    expect(populationLeaf('x', 'finding', ['max-age', 'idle'])).toBe('x|finding|idle,max-age');
  });
});
