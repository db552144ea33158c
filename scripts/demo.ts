/**
 * `npm start`: the main job on the embedded default. Starts the local AWS emulator and a local
 * stand-in for Slack, seeds a lived-in demo account, runs the scan Lambda's handler against it twice
 * (the second run records nothing new), prints what it found and recorded and the Slack message an
 * owner gets, then plays that owner's signed *Still needed* click through the Slack endpoint Lambda.
 * No AWS account, no Slack workspace involved.
 *
 * `npm start -- --keep` leaves the emulator running afterwards, to try the CLI against it.
 * `npm start -- --org` runs the organization demo instead (scripts/demo-org.ts).
 */
import { fileURLToPath } from 'node:url';
import { formatTable } from '../cli/format';
import { createAwsClients } from '../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../lambdas/shared/adapters/decision-store';
import { verifyChain } from '../lambdas/shared/domain/decision';
import type { ModalView, SlackMessage } from '../lambdas/shared/slack/messages';
import { emulatorEnv, startEmulator } from './emulator/emulator';
import { demoAccount } from './local/demo-account';
import type { FakeSlack } from './local/fake-slack';
import { startLocalStack } from './local/local-stack';
import { printMessage } from './local/print-message';
import { seedAccount } from './local/seed';
import {
  buttonClickBody,
  buttonValue,
  drainQueue,
  slackEvent,
  stillNeededSubmissionBody,
} from './local/slack-play';

if (process.argv.includes('--org')) {
  // The organization demo instead; this one's imports cost it nothing it would not load anyway.
  await import('./demo-org');
  process.exit();
}

const TABLE = 'reauth-decisions';
const keep = process.argv.includes('--keep');
const started = Date.now();
const step = (message: string) =>
  console.log(`\n[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);

step('starting the local AWS emulator (moto)');
const emulator = await startEmulator();
let slack: FakeSlack | undefined;
try {
  Object.assign(process.env, emulatorEnv(emulator.endpoint));
  const clients = createAwsClients();
  // What `cdk deploy` creates, made locally: the table, the Slack secret, the queue of clicks.
  const local = await startLocalStack(clients, {
    table: TABLE,
    policy: fileURLToPath(new URL('./local/demo.config.json', import.meta.url)),
  });
  slack = local.slack;
  // The handlers log as in Lambda; the demo prints what they return and record instead.
  Object.assign(process.env, local.env, { POWERTOOLS_LOG_LEVEL: 'ERROR' });

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

  const drifted = states.filter((s) => s.triggers.includes('usage-changed'));
  step(
    `usage: ${states.filter((s) => s.usage).length} credentials hold where they were seen in use; ${drifted.length} used in a new way:`,
  );
  for (const s of drifted) console.log(`  ${s.kind} ${s.principal}: ${s.why}`);

  const example = states.find((s) => s.principal === 'ci-deployer' && s.status === 'pending') ?? states[0];
  if (example) {
    const history = await store.history(example.credentialId);
    step(`decision record of ${example.credentialId}`);
    for (const d of history) {
      console.log(`  #${d.seq} ${d.at} ${d.action} by ${d.actor}: ${d.reason}`);
      console.log(`     prevHash ${d.prevHash.slice(0, 16)}…  hash ${d.hash.slice(0, 16)}…`);
    }
    console.log(`  hash chain: ${verifyChain(history).length === 0 ? 'intact' : 'BROKEN'}`);
  }

  const owner = 'U04PLATFORM';
  const posts = slack.calls('chat.postMessage');
  const toOwner = posts.find((call) => call.body.channel === owner);
  step(
    `Slack: ${posts.length} messages sent, each owner's credentials 20 a message (${first.notified} credentials). The one to ${owner}:`,
  );
  if (toOwner) printMessage(toOwner.body as SlackMessage);

  if (example && toOwner) {
    const { handler: endpoint } = await import('../lambdas/slack/handler');
    const { handler: worker } = await import('../lambdas/slack-worker/handler');
    const value = buttonValue(toOwner.body.blocks, 'reauth:still-needed', example.credentialId);
    const click = buttonClickBody({
      userId: owner,
      actionId: 'reauth:still-needed',
      value,
      responseUrl: slack.responseUrl('ci-deployer'),
    });

    step('a click signed with the wrong secret (a forgery):');
    const forged = await endpoint(
      slackEvent(click, { signingSecret: 'not-the-signing-secret', at: new Date() }),
    );
    console.log(`  the Slack endpoint answers ${forged.statusCode}, and records nothing`);

    step(`${owner} clicks "Still needed" (signed as Slack signs it):`);
    const clicked = await endpoint(slackEvent(click, { signingSecret: local.signingSecret, at: new Date() }));
    const view = slack.calls('views.open').at(-1)?.body.view as ModalView;
    console.log(`  the endpoint answers ${clicked.statusCode} and opens the dialog "${view.title.text}"`);
    const submission = stillNeededSubmissionBody({
      userId: owner,
      view,
      reason: 'deploys the storefront from CI every night',
      days: 30,
    });
    const submitted = await endpoint(
      slackEvent(submission, { signingSecret: local.signingSecret, at: new Date() }),
    );
    console.log(
      `  ${owner} gives a reason and 30 days; the endpoint answers ${submitted.statusCode} ${submitted.body}`,
    );
    const replayed = await endpoint(
      slackEvent(submission, { signingSecret: local.signingSecret, at: new Date() }),
    );
    console.log(`  Slack retries the submission: ${replayed.body}`);
    await drainQueue(clients.sqs, local.queueUrl, worker);
    const updated = slack.calls('response:ci-deployer').at(-1)?.body as SlackMessage | undefined;
    console.log('  the worker updates the original message:');
    if (updated) printMessage(updated);

    const history = await store.history(example.credentialId);
    step(`decision record of ${example.credentialId} now`);
    for (const d of history) console.log(`  #${d.seq} ${d.at} ${d.action} by ${d.actor}: ${d.reason}`);
    console.log(`  hash chain: ${verifyChain(history).length === 0 ? 'intact' : 'BROKEN'}`);
  }

  step('running the scan again: nothing changed, so nothing new is recorded');
  const second = await handler();
  console.log(`  ${second.findings} findings, ${second.decisionsWritten} decisions written`);
  if (second.decisionsWritten !== 0) throw new Error('an unchanged re-run wrote decisions');
  if (second.notified !== 0) throw new Error('an unchanged re-run told owners again');

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
  await slack?.close();
  await emulator.stop();
}
