#!/usr/bin/env node
// The `reauth` command. It runs the TypeScript sources directly through tsx, so the CLI and the
// Lambdas are always the same code.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
