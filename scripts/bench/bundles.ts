/**
 * The Lambda bundles as `cdk synth` builds them, and what each costs at a cold start: its size, and
 * how long Node takes to import it (each import in a fresh `node`, as a Lambda sandbox starts, with
 * the function's own environment, NODE_OPTIONS included). Used by `npm run bench` and by
 * test/infra/bundles.test.ts; `npm run bench:bundles` runs this part alone.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { buildApp } from '../../lib/reauth-app';
import { REPO_ROOT } from '../../lib/reauth-function';

const run = promisify(execFile);

/** What CloudFormation would resolve each reference in a function's environment to (the consumer check's too). */
const RESOLVED: Record<string, string> = JSON.parse(
  readFileSync(join(REPO_ROOT, 'scripts/package/environment-stand-ins.json'), 'utf8'),
);

/** One function's synthesized bundle. */
export interface BundledFunction {
  /** Its construct's path in the `Reauth` construct, such as `SlackEndpoint/Endpoint`. */
  name: string;
  logicalId: string;
  /** The bundle's directory (the asset). */
  dir: string;
  /** The module file, relative to `dir`, and the handler it exports. */
  file: string;
  exported: string;
  memorySize: number;
  /**
   * What Lambda would start the handler with: the variables Lambda sets (harmless stand-in
   * credentials) plus the function's own, references resolved; nothing from this process.
   */
  environment: Record<string, string>;
}

/** The synthesized app's bundles, in `outdir` (which the caller removes). */
export function synthBundles(outdir: string): BundledFunction[] {
  const built = buildApp({ configPath: join(REPO_ROOT, 'reauth.config.json'), outdir });
  const assembly = built.app.synth();
  const resources = assembly.getStackArtifact(built.stack.artifactId).template.Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const names = new Map(
    built.stack.reauth.node
      .findAll()
      .filter((c): c is NodejsFunction => c instanceof NodejsFunction)
      .map((fn) => [
        Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement),
        fn.node.scopes
          .slice(built.stack.reauth.node.scopes.length, -1)
          .map((c) => c.node.id)
          .join('/'),
      ]),
  );
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([logicalId, r]) => {
      const dir = join(
        assembly.directory,
        `asset.${(r.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '')}`,
      );
      const [file, exported] = (r.Properties.Handler as string).split('.') as [string, string];
      const variables = (r.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      const own = Object.entries(variables).map(([name, value]) => {
        const resolved = typeof value === 'string' ? value : RESOLVED[name];
        if (resolved === undefined)
          throw new Error(`${logicalId}: no stand-in for ${name} = ${JSON.stringify(value)}`);
        return [name, resolved];
      });
      return {
        name: names.get(logicalId) ?? logicalId,
        logicalId,
        dir,
        file: `${file}.mjs`,
        exported,
        memorySize: r.Properties.MemorySize as number,
        environment: {
          PATH: process.env.PATH ?? '',
          LAMBDA_TASK_ROOT: dir,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'example',
          // Lambda runs Node 24, where the SDK has no notice about Node 20's end to print at load.
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          ...Object.fromEntries(own),
        },
      };
    });
}

/**
 * Imports the bundle once in a fresh `node`, as a cold start does: the milliseconds the import took
 * (loading, compiling and running the module's top level, source maps included when NODE_OPTIONS asks),
 * the CPU time it used (all of the process's threads: what a Lambda's share of a vCPU has to supply,
 * and what a busy machine changes least), and the type of the handler it exports.
 */
export async function importBundle(
  fn: BundledFunction,
): Promise<{ ms: number; cpuMs: number; handlerType: string }> {
  const { stdout } = await run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const t = performance.now(); const c = process.cpuUsage(); const m = await import('./${fn.file}');
       const ms = performance.now() - t; const { user, system } = process.cpuUsage(c);
       console.log(JSON.stringify({ ms, cpuMs: (user + system) / 1000, handlerType: typeof m.${fn.exported} }));`,
    ],
    { cwd: fn.dir, env: fn.environment },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

/** One bundle's imports, in milliseconds. */
export interface ImportTimes {
  /** Wall time. */
  median: number;
  min: number;
  max: number;
  /** CPU time (user and system), median. */
  cpuMedian: number;
  runs: number;
}

/** A function's bundle cost. */
export interface BundleCost {
  name: string;
  memorySize: number;
  /** The module alone, in bytes. */
  moduleBytes: number;
  /** Whatever else ships beside it (source map, policy file). */
  otherBytes: number;
  /** Node is started with `--enable-source-maps`. */
  sourceMaps: boolean;
  /** With the function's environment: what a cold start pays. */
  importMs: ImportTimes;
  /** Where source maps are on, the same imports without them: what they cost at load. */
  importWithoutSourceMapsMs?: ImportTimes;
}

/** The Slack endpoint's import must take less CPU than this (Slack allows 3 s for the whole answer). */
export const ENDPOINT_IMPORT_TARGET_MS = 120;
export const ENDPOINT = 'SlackEndpoint/Endpoint';

/**
 * Synthesizes the bundles and imports each `runs` times, one import at a time. Where source maps are
 * on, imports with and without them alternate, so a change in the machine's load weighs on both alike.
 */
export async function measureBundles(runs: number): Promise<BundleCost[]> {
  const outdir = mkdtempSync(join(tmpdir(), 'reauth-bench-bundles-'));
  try {
    const costs: BundleCost[] = [];
    for (const fn of synthBundles(outdir)) {
      const sourceMaps = fn.environment.NODE_OPTIONS === '--enable-source-maps';
      const { NODE_OPTIONS: _, ...unmapped } = fn.environment;
      const mapped: Import[] = [];
      const without: Import[] = [];
      for (let i = 0; i < runs; i++) {
        mapped.push(await importBundle(fn));
        if (sourceMaps) without.push(await importBundle({ ...fn, environment: unmapped }));
      }
      const bytes = (f: string) => statSync(join(fn.dir, f)).size;
      costs.push({
        name: fn.name,
        memorySize: fn.memorySize,
        moduleBytes: bytes(fn.file),
        otherBytes: readdirSync(fn.dir)
          .filter((f) => f !== fn.file)
          .reduce((n, f) => n + bytes(f), 0),
        sourceMaps,
        importMs: summarize(mapped),
        ...(sourceMaps && { importWithoutSourceMapsMs: summarize(without) }),
      });
    }
    return costs.sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

type Import = Awaited<ReturnType<typeof importBundle>>;

function summarize(imports: Import[]): ImportTimes {
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const wall = imports.map((i) => i.ms);
  const round1 = (n: number | undefined) => Math.round((n ?? Number.NaN) * 10) / 10;
  return {
    median: round1(median(wall)),
    min: round1(Math.min(...wall)),
    max: round1(Math.max(...wall)),
    cpuMedian: round1(median(imports.map((i) => i.cpuMs))),
    runs: imports.length,
  };
}

export const BUNDLE_HEADER = [
  'function',
  'memory MB',
  'module KiB',
  'beside it KiB',
  'source maps',
  'import p50 ms',
  'min–max ms',
  'CPU p50 ms',
  'CPU p50 without maps',
];

/** The rows of the bench's table, one per function. */
export function bundleRows(costs: BundleCost[]): string[][] {
  return costs.map((c) => [
    c.name,
    `${c.memorySize}`,
    (c.moduleBytes / 1024).toFixed(0),
    (c.otherBytes / 1024).toFixed(0),
    c.sourceMaps ? 'yes' : 'no',
    c.importMs.median.toFixed(0),
    `${c.importMs.min.toFixed(0)}–${c.importMs.max.toFixed(0)}`,
    c.importMs.cpuMedian.toFixed(0),
    c.importWithoutSourceMapsMs ? c.importWithoutSourceMapsMs.cpuMedian.toFixed(0) : '-',
  ]);
}
