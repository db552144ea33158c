/**
 * Builds what the package ships, into dist/ (`npm run build`; `npm pack` runs it first):
 * - `dist/lib/` and the `dist/lambdas/` modules it imports: the construct library as JavaScript with
 *   `.d.ts`, every relative import spelled as Node's ESM resolution (and a NodeNext `tsc`) wants it;
 * - `dist/assets/<name>/`: each function's Lambda bundle, built here with the same esbuild settings
 *   `cdk synth` uses from the sources, so a user's synth needs no esbuild, Docker or lock file;
 * - `dist/cli/reauth/main.mjs`: the `reauth` command (`npm run build:cli`).
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { LAMBDA_BUNDLE, lambdaName, REPO_ROOT } from '../../lib/reauth-function';

const DIST = join(REPO_ROOT, 'dist');
/** What the compiled `dist/lib/reauth-function.js` finds as its ASSETS. */
const ASSETS = join(DIST, 'assets');

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/**
 * A module's import and export-from statements, with the specifier as group 2: a clause holds no quote
 * or semicolon, so a string that merely contains "from './x'" is not taken for one.
 */
const IMPORT_STATEMENT = /^((?:import|export)\b[^'";]*?\bfrom\s*|import\s*)(['"])([^'"]+)\2/gm;

/**
 * The sources import `./policy`, as a bundler or tsx resolves it; Node's ESM loader and a NodeNext
 * `tsc` want the file itself: `./policy.js`, or `./dir/index.js`. tsc leaves specifiers as written, so
 * this spells each one out, and fails on one that names no emitted module rather than ship it broken.
 */
function spellOutRelativeImports(file: string): number {
  const text = readFileSync(file, 'utf8');
  if (/\bimport\s*\(\s*['"]\./.test(text))
    throw new Error(`${relative(REPO_ROOT, file)}: a relative import()`);
  let changed = 0;
  const spelled = text.replace(IMPORT_STATEMENT, (whole, lead: string, quote: string, specifier: string) => {
    if (!specifier.startsWith('.') || /\.(m?js|json)$/.test(specifier)) return whole;
    const base = resolve(dirname(file), specifier);
    const target = [`${base}.js`, join(base, 'index.js')].find((candidate) => existsSync(candidate));
    if (!target) throw new Error(`${relative(REPO_ROOT, file)}: ${specifier} names no emitted module`);
    changed++;
    const spelledOut = relative(dirname(file), target).replaceAll('\\', '/');
    return `${lead}${quote}${spelledOut.startsWith('.') ? spelledOut : `./${spelledOut}`}${quote}`;
  });
  if (changed) writeFileSync(file, spelled);
  return changed;
}

/** The packages a module imports (`zod`, `aws-cdk-lib`, `@scope/name`), Node's built-ins aside. */
function packagesImported(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT_STATEMENT)]
    .map((match) => match[3] ?? '')
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:'))
    .map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    );
}

rmSync(DIST, { recursive: true, force: true });

execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsc'), ['-p', join(REPO_ROOT, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
const modules = filesUnder(DIST).filter((file) => /\.(js|d\.ts)$/.test(file));
const rewritten = modules.reduce((sum, file) => sum + spellOutRelativeImports(file), 0);
// What a user's install brings is all the library may import: a dev dependency would be missing there.
const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
const installed = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
for (const file of modules) {
  for (const name of packagesImported(file)) {
    if (!installed.has(name)) {
      throw new Error(`${relative(REPO_ROOT, file)} imports ${name}: not a dependency or peer dependency`);
    }
  }
}
// The vendor list the domain imports is Apache-2.0 from another project: its licence and provenance go with it.
for (const file of ['LICENSE', 'README.md']) {
  copyFileSync(join(REPO_ROOT, 'data/known-aws-accounts', file), join(DIST, 'data/known-aws-accounts', file));
}

const entries = readdirSync(join(REPO_ROOT, 'lambdas'))
  .map((name) => `lambdas/${name}/handler.ts`)
  .filter((entry) => existsSync(join(REPO_ROOT, entry)));
for (const entry of entries) {
  await build({
    entryPoints: [join(REPO_ROOT, entry)],
    outfile: join(ASSETS, lambdaName(entry), LAMBDA_BUNDLE.file),
    bundle: true,
    platform: 'node',
    format: LAMBDA_BUNDLE.format,
    target: LAMBDA_BUNDLE.target,
    mainFields: [...LAMBDA_BUNDLE.mainFields],
    banner: { js: LAMBDA_BUNDLE.banner },
    minify: LAMBDA_BUNDLE.minify,
    sourcemap: true,
    sourcesContent: LAMBDA_BUNDLE.sourcesContent,
    logLevel: 'warning',
  });
}

execFileSync('npm', ['run', '-s', 'build:cli'], { cwd: REPO_ROOT, stdio: 'inherit' });

// On stderr: `npm pack --json` prints its report on stdout, after this script runs.
const kib = (dir: string) =>
  Math.round(filesUnder(dir).reduce((sum, file) => sum + statSync(file).size, 0) / 1024);
console.error(
  `dist/: ${modules.length} library files (${rewritten} imports spelled out), ${entries.length} Lambda bundles ` +
    `(${kib(ASSETS)} KiB with source maps), the CLI (${kib(join(DIST, 'cli'))} KiB)`,
);
