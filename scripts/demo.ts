/**
 * `npm start`: the main job on the embedded default. Starts the local AWS emulator, seeds a lived-in
 * demo account, runs the scan Lambda's handler against it twice (the second run records nothing new),
 * and prints what it found and recorded. No AWS account involved.
 *
 * `npm start -- --keep` leaves the emulator running afterwards, to try the CLI against it.
 */
import { fileURLToPath } from 'node:url';
import { formatTable } from '../cli/format';
import { createAwsClients } from '../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../lambdas/shared/adapters/decision-store';
import { verifyChain } from '../lambdas/shared/domain/decision';
import { emulatorEnv, startEmulator } from './emulator/emulator';
import { ensureDecisionTable } from './local/decision-table';
import { demoAccount } from './local/demo-account';
import { seedAccount } from './local/seed';

const TABLE = 'reauth-decisions';
const keep = process.argv.includes('--keep');
const started = Date.now();
const step = (message: string) =>
  console.log(`\n[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);

step('starting the local AWS emulator (moto)');
const emulator = await startEmulator();
try {
  Object.assign(process.env, emulatorEnv(emulator.endpoint), {
    // The handler logs as in Lambda; the demo prints what it returns and records instead.
    POWERTOOLS_LOG_LEVEL: 'WARN',
    TABLE_NAME: TABLE,
    POLICY_FILE: fileURLToPath(new URL('./local/demo.config.json', import.meta.url)),
  });
  const clients = createAwsClients();
  await ensureDecisionTable(clients.dynamodb, TABLE);

  step('seeding a demo account: service users with keys of varied age and use, secrets, vendor roles');
  const spec = demoAccount();
  await seedAccount(emulator, clients, spec, new Date());
  const keys = spec.users.reduce((n, u) => n + u.keys.length, 0);
  console.log(
    `  ${spec.users.length} users with ${keys} access keys, ${spec.secrets.length} secrets, ${spec.roles.length} roles`,
  );

  step('running the scan Lambda handler (report mode)');
  // Imported only now: the handler reads its environment and policy at cold start, as in Lambda.
  const { handler } = await import('../lambdas/scan/handler');
  const first = await handler();
  console.log(`  handler returned ${JSON.stringify(first)}`);

  const store = createDecisionStore(clients.documents, TABLE);
  const states = [...(await store.loadStates(first.accountId)).values()].sort((a, b) =>
    a.kind === b.kind ? a.principal.localeCompare(b.principal) : a.kind.localeCompare(b.kind),
  );
  step(`recorded in DynamoDB (${TABLE}): ${states.length} credentials`);
  console.log(
    formatTable(
      ['KIND', 'PRINCIPAL', 'STATUS', 'WHY', 'OWNER', 'UNTIL'],
      states.map((s) => [
        s.kind,
        s.principal,
        s.status,
        s.triggers.join(',') || '-',
        s.owner,
        s.deadlineAt?.slice(0, 10) ?? s.exemptUntil?.slice(0, 10) ?? '-',
      ]),
    ),
  );

  const example = states.find((s) => s.principal === 'ci-deployer') ?? states[0];
  if (example) {
    const history = await store.history(example.credentialId);
    step(`decision record of ${example.credentialId}`);
    for (const d of history) {
      console.log(`  #${d.seq} ${d.at} ${d.action} by ${d.actor}: ${d.reason}`);
      console.log(`     prevHash ${d.prevHash.slice(0, 16)}…  hash ${d.hash.slice(0, 16)}…`);
    }
    console.log(`  hash chain: ${verifyChain(history).length === 0 ? 'intact' : 'BROKEN'}`);
  }

  step('running the scan again: nothing changed, so nothing new is recorded');
  const second = await handler();
  console.log(`  ${second.findings} findings, ${second.decisionsWritten} decisions written`);
  if (second.decisionsWritten !== 0) throw new Error('an unchanged re-run wrote decisions');

  if (keep) {
    step('done. The emulator keeps running (Ctrl-C stops it). In another shell:');
    const env = Object.entries(emulatorEnv(emulator.endpoint)).map(([name, value]) => `${name}=${value}`);
    console.log(`  export ${env.join(' ')}`);
    console.log(`  npx reauth scan --config scripts/local/demo.config.json`);
    console.log(`  npx reauth decisions ${example?.credentialId ?? '<credentialId>'}`);
    await new Promise((stop) => process.once('SIGINT', stop));
  } else {
    step('done. `npm start -- --keep` keeps the emulator running to try the CLI against it.');
  }
} finally {
  await emulator.stop();
}
