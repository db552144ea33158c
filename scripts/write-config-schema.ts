/** `npm run schemas`: writes schemas/reauth.config.schema.json from the zod schema the policy is validated with. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { POLICY_CONFIG_SCHEMA_FILE, policyConfigJsonSchema } from '../lambdas/shared/domain/policy';

const file = fileURLToPath(new URL(`../${POLICY_CONFIG_SCHEMA_FILE}`, import.meta.url));
writeFileSync(file, `${JSON.stringify(policyConfigJsonSchema(), null, 2)}\n`);
console.log(`wrote ${POLICY_CONFIG_SCHEMA_FILE}`);
// In the repository's JSON style, so lint stays clean.
execFileSync('npx', ['biome', 'format', '--write', file], { stdio: 'ignore' });
