/**
 * `npm start -- --org`: organization mode on the embedded default. Seeds an AWS Organization in the
 * local emulator (the hub as its management account, member accounts in two OUs, one member without
 * reauth's roles, one in an excluded OU), runs the hub's daily scan state machine as `cdk synth`
 * writes it (its Distributed Map's children run the real scan handler through each member's
 * `reauth-reader`), and prints the summary: accounts scanned and failed with their reasons, what was
 * found where, and the one Slack message each owner gets across all their accounts.
 */
import type { OrgSummary } from '../lambdas/org-summary/passes';
import { createAwsClients, createOrganizationsClient } from '../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../lambdas/shared/adapters/decision-store';
import type { SlackMessage } from '../lambdas/shared/slack/messages';
import { emulatorEnv, startEmulator } from './emulator/emulator';
import type { FakeSlack } from './local/fake-slack';
import { startLocalStack } from './local/local-stack';
import { runFanOut } from './local/org-fan-out';
import { printMessage } from './local/print-message';
import { type AccountSpec, VENDOR_ACCOUNT } from './local/seed';
import { HUB_ACCOUNT, seedOrganization } from './local/seed-organization';

const TABLE = 'reauth-decisions';
const started = Date.now();
const step = (message: string) =>
  console.log(`\n[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);

/** A member's inventory: an idle key of `owner`'s service user, a fresh one, and `roles`. */
function inventory(user: string, owner: string, roles: AccountSpec['roles'] = []): AccountSpec {
  return {
    users: [
      { name: user, tags: { 'reauth:owner': owner }, keys: [{ createdDaysAgo: 200, usedDaysAgo: 120 }] },
      {
        name: `${user}-busy`,
        tags: { 'reauth:owner': owner },
        keys: [{ createdDaysAgo: 60, usedDaysAgo: 1 }],
      },
    ],
    secrets: [{ name: `${user}/token`, createdDaysAgo: 300, tags: { 'reauth:owner': owner } }],
    roles,
  };
}

step('starting the local AWS emulator (moto)');
const emulator = await startEmulator();
let slack: FakeSlack | undefined;
try {
  Object.assign(process.env, emulatorEnv(emulator.endpoint), { POWERTOOLS_LOG_LEVEL: 'CRITICAL' });
  const clients = createAwsClients();

  step('seeding an organization: the hub (management account), OUs prod, sandbox and legacy, five members');
  // Two roles trusted by another account: the hub's (inside the organization: not a third party)
  // and a vendor's (outside it: a connector, in scope).
  const org = await seedOrganization(
    emulator,
    createOrganizationsClient(),
    {
      ous: [{ name: 'prod' }, { name: 'sandbox' }, { name: 'legacy' }],
      accounts: [
        { name: 'billing', ou: 'prod', inventory: inventory('billing-batch', 'UALICE') },
        {
          name: 'web',
          ou: 'prod',
          inventory: inventory('web-deployer', 'UALICE', [
            { name: 'hub-deploy', createdDaysAgo: 200, trustedAccounts: [HUB_ACCOUNT] },
            {
              name: 'vendor-monitoring',
              createdDaysAgo: 200,
              trustedAccounts: [VENDOR_ACCOUNT],
              externalId: 'monitoring-7f3a',
              tags: { 'reauth:owner': 'UALICE' },
            },
          ]),
        },
        { name: 'sandbox-a', ou: 'sandbox', inventory: inventory('experiments', 'UALICE') },
        { name: 'no-roles', ou: 'sandbox', memberRoles: false, inventory: inventory('orphan', 'UBOB') },
        { name: 'retired', ou: 'legacy', inventory: inventory('old-app', 'UBOB') },
      ],
    },
    new Date(),
  );
  const nameOf = new Map([...org.accounts].map(([name, { accountId }]) => [accountId, name]));
  const id = (name: string) => org.accounts.get(name)?.accountId as string;
  for (const [name, { accountId }] of org.accounts)
    console.log(`  ${accountId}  ${name.padEnd(10)}${name === 'no-roles' ? "without reauth's roles" : ''}`);

  const policy = {
    organization: {
      // The hub scans itself in single-account mode (`npm start`); the legacy OU is left out.
      exclude: { ous: [org.ous.get('legacy') as string], accounts: [HUB_ACCOUNT] },
      maxConcurrency: 4,
      // One of the four fails (no roles): 25%. Above the tolerance the run still reports, then fails
      // (ToleratedFailureExceeded) so its alarm fires; the demo tolerates it to show the summary.
      toleratedFailurePercentage: 50,
    },
  };
  const local = await startLocalStack(clients, { table: TABLE, policy });
  slack = local.slack;

  step("running the hub's daily scan state machine (synthesized by CDK; Distributed Map over the accounts)");
  const execution = await runFanOut({
    emulator,
    job: 'scan',
    policy,
    organizationId: org.organizationId,
    organizationRootId: org.rootId,
    table: TABLE,
    slack: { secretArn: local.env.SLACK_SECRET_ARN as string, apiBaseUrl: slack.apiBaseUrl },
    env: { POWERTOOLS_LOG_LEVEL: 'CRITICAL' },
  });
  if (execution.status !== 'SUCCEEDED')
    throw new Error(`the scan state machine ${execution.status}: ${execution.error}: ${execution.cause}`);
  const summary = execution.output as OrgSummary;
  console.log(`  execution ${execution.status}: ${JSON.stringify(summary)}`);

  step(
    `summary: ${summary.scanned} accounts scanned, ${summary.failed} failed, ${summary.findings} findings`,
  );
  for (const failure of summary.failedAccounts)
    console.log(`  FAILED ${failure.accountId} (${nameOf.get(failure.accountId)}): ${failure.reason}`);
  console.log(
    `  not listed: ${id('retired')} (retired, in the excluded OU legacy) and the hub ${HUB_ACCOUNT}`,
  );

  const store = createDecisionStore(clients.documents, TABLE);
  step(`recorded in the hub's one table (${TABLE}), by account:`);
  for (const [name, { accountId }] of org.accounts) {
    const states = [...(await store.loadStates(accountId)).values()];
    if (states.length === 0) continue;
    console.log(`  ${accountId} ${name}:`);
    for (const s of states.sort((a, b) => a.credentialId.localeCompare(b.credentialId)))
      console.log(
        `    ${s.kind.padEnd(10)} ${s.principal.padEnd(20)} ${s.status.padEnd(8)} ${s.triggers.join(',') || '-'}  owner ${s.owner}`,
      );
  }

  console.log(
    `  web's role hub-deploy is trusted by the hub ${HUB_ACCOUNT}, inside the organization: not a third party, not recorded`,
  );

  const posts = slack.calls('chat.postMessage');
  const byOwner = new Map<string, number>();
  for (const post of posts)
    byOwner.set(String(post.body.channel), (byOwner.get(String(post.body.channel)) ?? 0) + 1);
  step(
    `Slack: ${posts.length} messages, one per owner across accounts (${[...byOwner].map(([o, n]) => `${o}: ${n}`).join(', ')}). The one to UALICE:`,
  );
  const toAlice = posts.find((call) => call.body.channel === 'UALICE');
  if (toAlice) printMessage(toAlice.body as SlackMessage);
  step('done. `npm start` is the single-account demo.');
} finally {
  await slack?.close();
  await emulator.stop();
}
