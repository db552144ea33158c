#!/usr/bin/env node
// The `reauth` command. It runs the CLI bundle (cli/ and everything it imports, dependencies included,
// compiled by esbuild), so it starts in a fraction of a second and needs no dev dependency at run time.
// `npm ci` builds it (the prepare script); `npm run build:cli` builds it again after a change.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli/reauth/main.mjs', import.meta.url);
if (!existsSync(bundle)) {
  console.error(
    'reauth: the CLI is not built: run `npm run build:cli` (it needs the dev dependencies, as `npm ci` installs them)',
  );
  process.exit(1);
}
await import(bundle.href);
