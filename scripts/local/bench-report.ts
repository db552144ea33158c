/**
 * `npm run bench:report`: the evidence report over a synthetic export of 100,000 decisions (20,000
 * credentials × 5, valid chains, gzipped data files of ~10,000 lines each, in a temp dir). The report
 * and the verify run in a child process so its peak RSS (the kernel's high-water mark) is theirs alone
 * and not the generator's; fails above the 150 MB bound or a valid chain is reported broken.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chainDecision, type DecisionAction, GENESIS_HASH } from '../../lambdas/shared/domain/decision';
import {
  chainPopulation,
  commitToHeads,
  type DecisionHead,
  merkleRoot,
  type PopulationRecord,
} from '../../lambdas/shared/domain/population';
import { createExportWriter } from '../../lambdas/shared/evidence/export-writer';
import {
  credentialPk,
  decisionSk,
  POPULATION_HEAD_SK,
  populationPk,
  populationSk,
} from '../../lambdas/shared/table-layout';

const CREDENTIALS = 20_000;
/** Population records: one per account and day, as an organization's daily scans write them. */
const POPULATION_ACCOUNTS = 1_000;
const POPULATION_DAYS = 30;
const PER_CREDENTIAL = 5;
const LINES_PER_FILE = 10_000;
/** The bound the report and the verify must stay within, as a user runs them (issue #21). */
const RSS_LIMIT_MB = 150;
/**
 * The child's V8 heap cap, applied (`--max-old-space-size`). Without one V8 collects lazily and RSS
 * wanders (220–280 MB measured) with garbage, not with what is kept; under the cap a reader that held
 * the export would die of OOM here. Overridable with REAUTH_BENCH_HEAP_MB to see what the cap does.
 */
const HEAP_LIMIT_MB = Number(process.env.REAUTH_BENCH_HEAP_MB ?? 96);
const ACTIONS: DecisionAction[] = ['flag', 'notify', 'remind', 'reauthorize', 'rotate'];
const DAY_MS = 86_400_000;

/** Writes the export: each credential's decisions and its state, the decisions spread over files out of order. */
async function generate(root: string): Promise<void> {
  const writer = createExportWriter(root, { exportId: '01763000000000-bench000' });
  let batch: Record<string, unknown>[] = [];
  const start = Date.UTC(2026, 5, 1);
  let latest = start;
  /** The heads of each decision account's chains, which its population records name (#24). */
  const heads = new Map<string, DecisionHead[]>();
  for (let c = 0; c < CREDENTIALS; c += 1) {
    const account = String(100000000000 + (c % 40));
    const credentialId = `${account}:access-key:AKIA${String(c).padStart(16, '0')}`;
    const owner = `U${String(c % 500).padStart(4, '0')}`;
    let previous = { seq: 0, lastHash: GENESIS_HASH };
    let at = start + (c % 150) * DAY_MS;
    for (const action of ACTIONS.slice(0, PER_CREDENTIAL)) {
      at += (1 + (c % 9)) * 3_600_000 * (action === 'reauthorize' ? 24 : 1);
      latest = Math.max(latest, at);
      const decision = chainDecision(
        {
          credentialId,
          accountId: account,
          kind: 'access-key',
          principal: `svc-${c % 2000}`,
          owner,
          action,
          reason: `${action}: unused for ${90 + (c % 60)} days, "synthetic"`,
          actor: action === 'reauthorize' ? `slack:${owner}` : 'system:scan',
          at: new Date(at).toISOString(),
          mode: 'enforce',
          policyId: 'sha256:0123456789abcdef',
          evidence:
            action === 'reauthorize'
              ? { approver: `slack:${owner}`, until: new Date(at + 90 * DAY_MS).toISOString(), days: 90 }
              : { idleDays: 90 + (c % 60), lastUsedAt: null, triggers: ['idle'], tier: 'standard' },
        },
        previous,
      );
      previous = { seq: decision.seq, lastHash: decision.hash };
      batch.push({ pk: credentialPk(credentialId), sk: decisionSk(decision.at, decision.seq), ...decision });
    }
    if (!heads.has(account)) heads.set(account, []);
    heads.get(account)?.push({ credentialId, ...previous });
    batch.push({
      pk: credentialPk(credentialId),
      sk: 'STATE',
      credentialId,
      accountId: account,
      stateAccountId: account,
      kind: 'access-key',
      owner,
      status: c % 10 === 0 ? 'pending' : 'active',
      triggers: c % 10 === 0 ? ['idle'] : [],
      ...(c % 10 === 0 && { deadlineAt: new Date(at - 30 * DAY_MS).toISOString() }),
      seq: previous.seq,
      lastHash: previous.lastHash,
      updatedAt: new Date(at).toISOString(),
    });
    if (batch.length >= LINES_PER_FILE) {
      // Reversed, so a chain's decisions are read newest first.
      await writer.addFile(batch.reverse());
      batch = [];
    }
  }
  if (batch.length > 0) await writer.addFile(batch.reverse());
  // 30 days of a 1,000-account organization's scans, up to the last decision's day: one population
  // record per account and day (#24). The 40 accounts with decisions among them: their records name
  // the heads of their 500 chains each, which verify checks against the chains.
  const lastDay = Math.floor(latest / DAY_MS) * DAY_MS;
  let records: Record<string, unknown>[] = [];
  for (let a = 0; a < POPULATION_ACCOUNTS; a += 1) {
    const accountId = String(100000000000 + a);
    const named = heads.get(accountId);
    let previous: PopulationRecord | undefined;
    for (let d = 0; d < POPULATION_DAYS; d += 1) {
      const at = new Date(lastDay - (POPULATION_DAYS - 1 - d) * DAY_MS + 3_600_000).toISOString();
      const record = chainPopulation(
        {
          accountId,
          at,
          actor: 'system:scan',
          policyId: 'sha256:0123456789abcdef',
          mode: 'enforce',
          inventoryAt: at,
          counts: { 'access-key': 20 + (a % 7), secret: 5, role: 2 },
          evaluated: 27 + (a % 7),
          findings: a % 5,
          root: merkleRoot([`${accountId}:${d}`]),
          ...(named && commitToHeads(named)),
        },
        previous,
      );
      previous = record;
      records.push({ pk: populationPk(accountId), sk: populationSk(record.at, record.seq), ...record });
    }
    records.push({
      pk: populationPk(accountId),
      sk: POPULATION_HEAD_SK,
      seq: previous?.seq,
      hash: previous?.hash,
    });
    if (records.length >= LINES_PER_FILE) {
      await writer.addFile(records);
      records = [];
    }
  }
  if (records.length > 0) await writer.addFile(records);
  await writer.close();
}

async function run(): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), 'reauth-bench-report-'));
  try {
    const g0 = performance.now();
    await generate(root);
    console.log(
      `Generated ${CREDENTIALS * PER_CREDENTIAL} decisions (${CREDENTIALS} credentials × ${PER_CREDENTIAL}), ${CREDENTIALS} states and ${POPULATION_ACCOUNTS * POPULATION_DAYS} population records (${POPULATION_ACCOUNTS} accounts × ${POPULATION_DAYS} days) in ${Math.round(performance.now() - g0)} ms`,
    );
    // Bundled as the CLI is (`npm run build:cli`: one file, minified) and run by plain node: tsx's loader
    // alone costs 30 MB of RSS that a user's `reauth report` never pays, and unminified source 4 MB more.
    const bundle = join(root, 'measure.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('./bench-report-measure.ts', import.meta.url))],
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      logLevel: 'warning',
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    const child = spawn(
      process.execPath,
      [...(HEAP_LIMIT_MB > 0 ? [`--max-old-space-size=${HEAP_LIMIT_MB}`] : []), bundle, root],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
    if (code !== 0) throw new Error(`the measuring process exited ${code}`);
    const result = JSON.parse(output.trim().split('\n').at(-1) ?? '{}');
    console.log(
      [
        `Export: ${result.files} files, ${result.items} items, ${result.credentials} credentials, ${result.decisions} decisions`,
        `report: ${result.reportMs} ms (decisions.csv ${result.rows} rows, ${(result.csvBytes / 1e6).toFixed(1)} MB; report.html ${(result.htmlBytes / 1e3).toFixed(0)} kB)`,
        `verify: ${result.verifyMs} ms`,
        `chain problems: report ${result.reportIssues}, verify ${result.verifyIssues} (decision heads checked against population records: ${result.headsChains})`,
        `peak V8 heap (total) ${result.peakHeapTotalMb} MB, peak external ${result.peakExternalMb} MB`,
        `peak RSS (report + verify, high-water mark): ${result.peakRssMb} MB (bound ${RSS_LIMIT_MB} MB; ${result.baselineRssMb} MB before reading; ${HEAP_LIMIT_MB > 0 ? `heap capped at ${HEAP_LIMIT_MB} MB` : 'no heap cap'})`,
      ].join('\n'),
    );
    const failures = [
      result.decisions !== CREDENTIALS * PER_CREDENTIAL && 'not every decision was read',
      (result.reportIssues > 0 || result.verifyIssues > 0) && 'valid chains reported broken',
      result.headsChains !== CREDENTIALS && "not every chain's head was checked against a population record",
      result.rows !== CREDENTIALS * PER_CREDENTIAL && 'the CSV is missing rows',
      result.peakRssMb > RSS_LIMIT_MB &&
        `peak RSS ${result.peakRssMb} MB is above the ${RSS_LIMIT_MB} MB bound`,
    ].filter(Boolean);
    for (const failure of failures) console.error(`FAIL: ${failure}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

process.exitCode = await run();
