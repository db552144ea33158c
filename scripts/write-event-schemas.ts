/** `npm run schemas`: writes schemas/events/*.json from the zod schemas the events consumer validates with. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventJsonSchema, schemaFileName } from '../lambdas/shared/events/json-schemas';
import { REAUTH_EVENTS, type ReauthEventType } from '../lambdas/shared/events/schemas';

const dir = fileURLToPath(new URL('../schemas/events/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const type of Object.keys(REAUTH_EVENTS) as ReauthEventType[]) {
  writeFileSync(join(dir, schemaFileName(type)), `${JSON.stringify(eventJsonSchema(type), null, 2)}\n`);
  console.log(`wrote schemas/events/${schemaFileName(type)}`);
}
// In the repository's JSON style, so lint stays clean.
execFileSync('npx', ['biome', 'format', '--write', dir], { stdio: 'ignore' });
