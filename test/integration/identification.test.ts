import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { createSlackClient } from '../../lambdas/shared/adapters/slack-client';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import type { Block, SectionBlock } from '../../lambdas/shared/slack/messages';
import { notifyNewRequests } from '../../lambdas/shared/use-cases/notify-owners';
import type { ScanReport } from '../../lambdas/shared/use-cases/scan-account';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { type FakeSlack, startFakeSlack } from '../../scripts/local/fake-slack';
import { type Seeded, seedAccount, VENDOR_ACCOUNT } from '../../scripts/local/seed';
import { useEmulator } from '../support/emulator';

const { emulator, clients } = useEmulator();
const TABLE = 'identification-under-test';
const ACCOUNT = '123456789012';
const OWNER = 'U04PLATFORM';
const LONG_SECRET = `prod/platform/${'x'.repeat(480)}/deploy-token`;
const policyJson = { vendors: { [VENDOR_ACCOUNT]: 'Acme Monitoring' } };
const POLICY_FILE = join(mkdtempSync(join(tmpdir(), 'reauth-ident-')), 'reauth.config.json');
let seeded: Seeded;
let fake: FakeSlack;

/** What `main(args)` printed last, and its exit code. */
async function run(args: string[]): Promise<{ code: number; out: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const code = await main(args);
    return { code, out: String(log.mock.calls.at(-1)?.[0]) };
  } finally {
    log.mockRestore();
  }
}

beforeAll(async () => {
  writeFileSync(POLICY_FILE, JSON.stringify(policyJson));
  await ensureDecisionTable(clients.dynamodb, TABLE);
  fake = await startFakeSlack({});
  seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        {
          // One idle key, last used for S3 in Ireland, and one busy key: the owner must tell which.
          name: 'ci-deployer',
          tags: { 'reauth:owner': OWNER, 'reauth:tier': 'critical' },
          keys: [
            { createdDaysAgo: 80, usedDaysAgo: 60, usedIn: { service: 's3', region: 'eu-west-1' } },
            { createdDaysAgo: 20, usedDaysAgo: 1 },
          ],
        },
      ],
      secrets: [{ name: LONG_SECRET, createdDaysAgo: 200, tags: { 'reauth:owner': OWNER } }],
      roles: [
        {
          name: 'vendor-monitoring',
          createdDaysAgo: 300,
          trustedAccounts: [VENDOR_ACCOUNT],
          externalId: 'monitoring-7f3a',
          tags: { 'reauth:owner': OWNER },
        },
      ],
    },
    new Date(),
  );
});

afterAll(() => fake.close());

describe('a user with a busy key and an idle one, a long-named secret and a vendor role', () => {
  const idleKey = () => seeded.keyIds.get('ci-deployer')?.[0] ?? '';
  const busyKey = () => seeded.keyIds.get('ci-deployer')?.[1] ?? '';

  it('reauth scan names the idle key by its id, with its creation and last service and region, the ARN and the vendor', async () => {
    const { code, out } = await run(['scan', '--config', POLICY_FILE, '--table', TABLE]);

    expect(code).toBe(0);
    const lines = out.split('\n');
    const keyLine = lines.findIndex((line) => line.includes(idleKey()));
    expect(lines[keyLine]).toMatch(/^access-key\s+ci-deployer\s+/);
    // Its user holds no policy: what it uses of its grants says so.
    expect(lines[keyLine + 1]).toMatch(
      /^ {4}created \d{4}-\d{2}-\d{2}, last used in s3, eu-west-1, granted no services$/,
    );
    expect(out).not.toContain(busyKey());
    const arn = seeded.secretArns.get(LONG_SECRET) ?? '';
    expect(lines).toContain(`    ${arn}`);
    expect(lines.find((line) => line.startsWith('role'))).toContain('vendor-monitoring');
    expect(out).toContain(`    trusts ${VENDOR_ACCOUNT} (Acme Monitoring); ExternalId required`);
  });

  it('reauth scan --json carries the same identification on each row', async () => {
    const { out } = await run(['scan', '--json', '--config', POLICY_FILE, '--table', TABLE]);

    const rows = (JSON.parse(out) as ScanReport).rows;
    expect(rows.find((row) => row.credentialId.endsWith(idleKey()))?.identification).toMatchObject({
      lastUsedService: 's3',
      lastUsedRegion: 'eu-west-1',
    });
    expect(rows.find((row) => row.kind === 'role')?.identification).toMatchObject({
      trustedAccounts: [VENDOR_ACCOUNT],
      vendors: { [VENDOR_ACCOUNT]: 'Acme Monitoring' },
      requiresExternalId: true,
    });
  });

  it("the owner's Slack message names the idle key's id and where it was last used, and the vendor, within Slack's limits", async () => {
    const store = createDecisionStore(clients.documents, TABLE);
    const slack = createSlackClient({ botToken: 'xoxb-ident', apiBaseUrl: fake.apiBaseUrl });
    // Enforce mode, so each credential has its Disable now confirm.
    const policy = parsePolicyConfig({ ...policyJson, mode: 'enforce' });

    const report = await notifyNewRequests({ store, slack }, (await store.loadStates(ACCOUNT)).values(), {
      policy,
      policyId: policyIdOf(policy),
      now: new Date(),
      job: 'scan',
    });

    expect(report).toMatchObject({ messages: 1, recorded: 3, failures: [] });
    const [posted] = fake.calls('chat.postMessage');
    const blocks = (posted?.body.blocks ?? []) as SectionBlock[];
    const sections = blocks.filter((block) => block.type === 'section').map((block) => block.text.text);
    const key = sections.find((text) => text.includes(idleKey()));
    expect(key).toContain(`*Access key* \`${idleKey()}\` of user \`ci-deployer\``);
    expect(key).toMatch(/Created: \d{4}-\d{2}-\d{2} · Last used: \d{4}-\d{2}-\d{2} \(s3, eu-west-1\)/);
    expect(JSON.stringify(blocks)).not.toContain(busyKey());
    expect(sections.find((text) => text.includes('Third-party role'))).toContain(
      `Trusts: ${VENDOR_ACCOUNT} (Acme Monitoring); ExternalId required`,
    );
    const secret = sections.find((text) => text.startsWith('*Secret*')) ?? '';
    // Its name and region say which it is; the ARN would repeat them.
    expect(secret).toContain('Account: 123456789012 · Region: us-east-1');
    expect(secret).toContain(`Full name: \`${LONG_SECRET}\``);
    expect(secret).not.toContain('arn:aws:secretsmanager');
    expect(secret).toContain('Last accessed: never');
    for (const text of sections) expect(text.length).toBeLessThanOrEqual(3000);
    const confirms = (posted?.body.blocks as Block[])
      .flatMap((block) => (block.type === 'actions' ? block.elements : []))
      .flatMap((button) => ('confirm' in button && button.confirm ? [button.confirm.text.text] : []));
    expect(confirms).toHaveLength(3);
    for (const confirm of confirms) expect(confirm.length).toBeLessThanOrEqual(300);
    // ci-deployer has two keys: the confirm names the one that stops working.
    expect(confirms).toContainEqual(expect.stringContaining(`access key ${idleKey()} of user ci-deployer`));
  });
});
