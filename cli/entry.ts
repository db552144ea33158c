// The `reauth` command as it ships: esbuild bundles this file with everything it imports into
// dist/cli/reauth/main.mjs (`npm run build:cli`), which bin/reauth.mjs runs.
import { main } from './main';

// The SDK versions this package locks support Node 20 (engines: >=20); the SDK's NodeVersionSupportWarning
// is about versions published after January 2027, which will need Node 22. Only that warning is turned
// off, with the SDK's own switch (read when a client is created, so after these imports is in time);
// upgrading the SDK past then means raising engines to >=22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await main(process.argv.slice(2));
