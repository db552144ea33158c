/**
 * Peak memory of a scan as it runs for a user: the `reauth scan` CLI and the scan Lambda's handler,
 * each bundled as it ships (esbuild minified, like `npm run build:cli` and `cdk synth`; the Lambda with
 * its source map and `--enable-source-maps`, as its construct sets NODE_OPTIONS) and run by plain node
 * in a child process, on a fresh table (the first scan, which writes the most). The peak is the child's
 * own `maxRSS` (getrusage), read as it exits: every byte it touched, not samples.
 *
 * The handler runs three times, each with the environment its function sets (`lambdaEnv`:
 * MALLOC_ARENA_MAX). Once as plain node on this machine, whose V8 sizes its heap from this machine's
 * memory (on 24 GB: 16 MB semi-spaces, and an old generation let grow to 4 times what a collection left
 * before the next one). Then with V8 sized as Node sizes it in a function (`lambdaV8Flags`: Node
 * configures V8 from the memory it sees, which in Lambda is the function's): the scan function's own
 * size, and the target's (`targetMemoryMb`), the smallest function the target says it fits. Neither is
 * a cap the scan comes near: the old generation's limit is twice its heap's peak even at 128 MB.
 * Unminified bundles, as this bench built them before, peaked 20 to 40 MB higher than what ships.
 * Each size is a freshly seeded account: half as many users as access keys, a role per 20 keys.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { createAwsClients } from '../../lambdas/shared/adapters/aws-clients';
import { LAMBDA_BUNDLE } from '../../lib/reauth-function';
import type { EmulatorControl } from '../emulator/emulator';
import { ensureDecisionTable } from '../local/decision-table';
import { type AccountSpec, seedAccount } from '../local/seed';
import { lambdaV8Flags } from './lambda-v8';

export interface ScanMemoryRow {
  credentials: number;
  /**
   * `lambda`: plain node on this machine; `lambda-sized`: V8 sized as in a function of `lambdaMemoryMb`;
   * `lambda-target`: as in a function of `targetMemoryMb`.
   */
  runner: 'cli' | 'lambda' | 'lambda-sized' | 'lambda-target';
  peakRssMb: number;
  ms: number;
}

const POLICY_FILE = fileURLToPath(new URL('../local/demo.config.json', import.meta.url));
export async function benchScanMemory(options: {
  emulator: EmulatorControl;
  env: Record<string, string>;
  sizes: readonly number[];
  accountFor: (accessKeys: number) => AccountSpec;
  seedConcurrency: number;
  /** The scan function's memorySize (lib/), which sizes V8 in Lambda. */
  lambdaMemoryMb: number;
  /** The function size the target is for: the handler runs as a function of this size too. */
  targetMemoryMb: number;
  /** What the scan function's environment sets for the process itself (not the handler's settings). */
  lambdaEnv: Record<string, string>;
  say: (message: string) => void;
}): Promise<ScanMemoryRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'reauth-bench-memory-'));
  try {
    const cli = join(dir, 'cli.mjs');
    const lambda = join(dir, 'lambda.mjs');
    // As `npm run build:cli` builds the CLI, and LAMBDA_BUNDLE the functions (with a map beside); both
    // take the SDK's ES modules (mainFields), which esbuild can shake.
    const bundle = (entry: string, outfile: string, lambdaFunction: boolean) =>
      build({
        entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
        bundle: true,
        platform: 'node',
        format: LAMBDA_BUNDLE.format,
        // Node 20 runs the bench; Lambda's bundle targets its own runtime (LAMBDA_BUNDLE.target).
        target: 'node20',
        mainFields: [...LAMBDA_BUNDLE.mainFields],
        ...(lambdaFunction && { sourcemap: true }),
        minify: LAMBDA_BUNDLE.minify,
        sourcesContent: LAMBDA_BUNDLE.sourcesContent,
        outfile,
        logLevel: 'warning',
        banner: { js: LAMBDA_BUNDLE.banner },
      });
    await bundle('../../cli/entry.ts', cli, false);
    await bundle('./scan-memory-lambda.ts', lambda, true);
    const preload = join(dir, 'max-rss.cjs');
    await writeFile(
      preload,
      "process.on('exit', () => require('node:fs').writeFileSync(process.env.REAUTH_MAX_RSS_FILE, String(process.resourceUsage().maxRSS)));\n",
    );
    const rows: ScanMemoryRow[] = [];
    for (const credentials of options.sizes) {
      await options.emulator.reset();
      const clients = createAwsClients();
      options.say(`memory: seeding an account with ${credentials} access keys`);
      await seedAccount(
        options.emulator,
        clients,
        options.accountFor(credentials),
        new Date(),
        options.seedConcurrency,
      );
      for (const runner of ['cli', 'lambda', 'lambda-sized', 'lambda-target'] as const) {
        const table = `reauth-bench-memory-${runner}-${credentials}`;
        await ensureDecisionTable(clients.dynamodb, table);
        const rssFile = join(dir, `${runner}-${credentials}.rss`);
        const args =
          runner === 'cli'
            ? [cli, 'scan', '--config', POLICY_FILE, '--table', table]
            : [
                '--enable-source-maps',
                ...(runner === 'lambda-sized' ? lambdaV8Flags(options.lambdaMemoryMb) : []),
                ...(runner === 'lambda-target' ? lambdaV8Flags(options.targetMemoryMb) : []),
                lambda,
              ];
        const started = performance.now();
        const code = await new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, ['--require', preload, ...args], {
            env: {
              ...process.env,
              ...options.env,
              ...(runner !== 'cli' && options.lambdaEnv),
              REAUTH_MAX_RSS_FILE: rssFile,
              TABLE_NAME: table,
              POLICY_FILE,
            },
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          child.on('error', reject);
          child.on('close', (c) => resolve(c ?? 1));
        });
        if (code !== 0) throw new Error(`the ${runner} scan at ${credentials} keys exited ${code}`);
        const ms = Math.round(performance.now() - started);
        const peakRssMb = Math.round(Number(await readFile(rssFile, 'utf8')) / 1024);
        options.say(
          `memory: ${runner} scan of ${credentials} access keys: peak RSS ${peakRssMb} MB, ${ms} ms`,
        );
        rows.push({ credentials, runner, peakRssMb, ms });
      }
    }
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
