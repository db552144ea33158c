// Run by consumer-check.sh in the consumer app's folder, after its `cdk synth`: what cdk-nag looked at,
// and whether each function's code is a prebuilt bundle of the package that starts under Node as a
// Lambda cold start would, with the files it ships. Plain JavaScript: the app has only the tarball.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const stack = process.argv[2] ?? 'AppStack';
const template = JSON.parse(readFileSync(`cdk.out/${stack}.template.json`, 'utf8'));
const resources = Object.entries(template.Resources);
const reauth = resources.filter(([, r]) =>
  r.Metadata?.['aws:cdk:path']?.match(/^[^/]+\/(Staging|Production)\//),
);
const functions = reauth.filter(([, r]) => r.Type === 'AWS::Lambda::Function');

// cdk-nag writes the acknowledgements it matched into the resources it checked: none at all on reauth's
// would mean it never looked at them.
const acknowledged = reauth.filter(([, r]) => r.Metadata?.cdk_nag?.rules_to_suppress?.length);
const report = JSON.parse(readFileSync('cdk.out/validation-report.json', 'utf8'));
const violations = report.pluginReports.flatMap((r) => r.violations);
console.log(
  `${reauth.length} reauth resources (2 copies), ${functions.length} functions; cdk-nag wrote its acknowledgements on ${acknowledged.length}; unacknowledged findings: ${violations.length}`,
);
if (violations.length) throw new Error(`cdk-nag: ${JSON.stringify(violations, null, 2)}`);
if (!acknowledged.length)
  throw new Error('cdk-nag acknowledged nothing of reauth: did it see reauth at all?');

// What CloudFormation would resolve a reference in a function's environment to, for the cold start
// (the bundle bench resolves them from the same file).
const STAND_INS = JSON.parse(readFileSync(new URL('./environment-stand-ins.json', import.meta.url), 'utf8'));

const assets = 'node_modules/reauth/dist/assets';
const prebuilt = new Map(
  readdirSync(assets).map((name) => [readFileSync(join(assets, name, 'index.mjs'), 'utf8'), name]),
);
const started = new Set();
for (const [id, fn] of functions) {
  const dir = resolve(`cdk.out/asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
  const name = prebuilt.get(readFileSync(join(dir, 'index.mjs'), 'utf8'));
  if (!name) throw new Error(`${id}: ${dir}/index.mjs is not one of the package's prebuilt bundles`);
  if (fn.Properties.Handler !== 'index.handler') throw new Error(`${id}: handler ${fn.Properties.Handler}`);
  const variables = Object.entries(fn.Properties.Environment?.Variables ?? {}).map(([key, value]) => {
    const resolved = typeof value === 'string' ? value : STAND_INS[key];
    if (resolved === undefined) throw new Error(`${id}: no stand-in for ${key} = ${JSON.stringify(value)}`);
    return [key, resolved];
  });
  const environment = Object.fromEntries(variables);
  if (environment.POLICY_FILE && !existsSync(join(dir, environment.POLICY_FILE)))
    throw new Error(`${id}: its asset lacks ${environment.POLICY_FILE}`);
  // A fresh node, as a Lambda sandbox starts: the handler's cold start validates its environment and
  // reads its policy file, so a missing file or variable fails here.
  let type;
  try {
    type = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('./index.mjs'); console.log(typeof m.handler);"],
      {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          LAMBDA_TASK_ROOT: dir,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'example',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          ...environment,
        },
      },
    ).trim();
  } catch (error) {
    // The error's own lines, not the minified line of the bundle that Node prints above them.
    const lines = String(error.stderr)
      .split('\n')
      .filter((line) => line.length < 400);
    throw new Error(`${id} (${name}) does not start: ${lines.slice(-20).join('\n')}`);
  }
  if (type !== 'function') throw new Error(`${id}: index.mjs exports handler as ${type}`);
  started.add(name);
}
console.log(
  `each of the ${functions.length} functions runs a prebuilt bundle (${[...started].sort().join(', ')}), and each started under Node with its environment and policy file, exporting its handler`,
);
