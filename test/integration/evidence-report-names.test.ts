import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { createSlackClient } from '../../lambdas/shared/adapters/slack-client';
import {
  chainDecision,
  GENESIS_HASH,
  hashDecision,
  SCHEMA_VERSION,
} from '../../lambdas/shared/domain/decision';
import { verifyExport, writeEvidenceReport } from '../../lambdas/shared/evidence/evidence-report';
import { createExportWriter } from '../../lambdas/shared/evidence/export-writer';
import type { ModalView } from '../../lambdas/shared/slack/messages';
import { credentialPk, decisionSk } from '../../lambdas/shared/table-layout';
import { named } from '../../lambdas/shared/use-cases/slack-interactions';
import { type FakeSlack, startFakeSlack } from '../../scripts/local/fake-slack';
import { startLocalStack } from '../../scripts/local/local-stack';
import { seedAccount } from '../../scripts/local/seed';
import {
  buttonClickBody,
  buttonValue,
  drainQueue,
  slackEvent,
  stillNeededSubmissionBody,
} from '../../scripts/local/slack-play';
import { useEmulator } from '../support/emulator';
import { coldStart } from '../support/lambda';
import { exportTable } from '../support/table-export';

const { emulator, clients } = useEmulator();
const TABLE = 'names-under-test';
const store = createDecisionStore(clients.documents, TABLE);
let fake: FakeSlack;
let signingSecret: string;
let credentialId: string;
let endpoint: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let worker: (event: SQSEvent) => Promise<SQSBatchResponse>;
let queueUrl: string;
let workDir: string;

const signed = (body: string) => slackEvent(body, { signingSecret, at: new Date() });

beforeAll(async () => {
  const seeded = await seedAccount(
    emulator,
    clients,
    {
      users: [
        {
          name: 'svc-ledger',
          tags: { 'reauth:owner': 'UALICE' },
          keys: [{ createdDaysAgo: 200, usedDaysAgo: 120 }],
        },
      ],
      secrets: [],
      roles: [],
    },
    new Date(),
  );
  credentialId = `123456789012:access-key:${seeded.keyIds.get('svc-ledger')?.[0]}`;
  const local = await startLocalStack(clients, {
    table: TABLE,
    policy: {},
    slackUsers: { 'alice@example.com': 'UALICE' },
  });
  fake = local.slack;
  signingSecret = local.signingSecret;
  const env = { ...local.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
  await (await coldStart<() => Promise<unknown>>('../../lambdas/scan/handler', env))();
  endpoint = await coldStart('../../lambdas/slack/handler', env);
  worker = await coldStart('../../lambdas/slack-worker/handler', env);
  queueUrl = local.queueUrl;
  workDir = await mkdtemp(join(tmpdir(), 'reauth-names-'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await fake.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('people named at decision time', () => {
  it("records the answering Slack user's name and email in the decision, inside its hash, and the report shows them", async () => {
    const request = fake.calls('chat.postMessage').find((c) => c.body.channel === 'UALICE')?.body;
    const value = buttonValue(request.blocks, 'reauth:still-needed', credentialId);
    // Someone Slack has no profile for tries first: refused, recorded with the id alone.
    await endpoint(
      signed(
        buttonClickBody({
          userId: 'UMALLORY',
          actionId: 'reauth:still-needed',
          value,
          responseUrl: fake.responseUrl('m'),
        }),
      ),
    );
    await endpoint(
      signed(
        buttonClickBody({
          userId: 'UALICE',
          actionId: 'reauth:still-needed',
          value,
          responseUrl: fake.responseUrl('a'),
        }),
      ),
    );
    const view = fake.calls('views.open').at(-1)?.body.view as ModalView;
    await endpoint(
      signed(
        stillNeededSubmissionBody({ userId: 'UALICE', view, reason: 'posts the nightly ledger', days: 60 }),
      ),
    );
    await drainQueue(clients.sqs, queueUrl, worker);

    const history = await store.history(credentialId);
    const refusal = history.find((d) => d.action === 'refuse');
    const answer = history.find((d) => d.action === 'reauthorize');
    expect(answer).toMatchObject({
      actor: 'slack:UALICE',
      schemaVersion: SCHEMA_VERSION,
      evidence: { approver: 'slack:UALICE', actorName: 'alice', actorEmail: 'alice@example.com' },
    });
    expect(answer && hashDecision(answer)).toBe(answer?.hash);
    expect(
      answer && hashDecision({ ...answer, evidence: { ...answer.evidence, actorName: 'bob' } }),
    ).not.toBe(answer?.hash);
    expect(refusal?.actor).toBe('slack:UMALLORY');
    expect(refusal?.evidence).not.toHaveProperty('actorName');
    expect(fake.calls('users.info').map((c) => c.body.user)).toEqual(['UMALLORY', 'UALICE']);

    const exportRoot = join(workDir, 'export');
    await exportTable(clients.dynamodb, TABLE, exportRoot);
    const result = await writeEvidenceReport({ kind: 'dir', path: exportRoot }, join(workDir, 'report'));
    const html = await readFile(result.htmlPath, 'utf8');
    const csv = await readFile(result.csvPath, 'utf8');
    expect(result.verdict.issues).toEqual([]);
    expect(html).toContain('<td>alice &lt;alice@example.com&gt; (slack:UALICE)</td>');
    expect(html).toContain('<td>slack:UMALLORY (unresolved: name not recorded with this decision)</td>');
    expect(csv).toMatch(/,reauthorize,slack:UALICE,alice,alice@example\.com,posts the nightly ledger,/);
  });

  it('records the id alone when users.info fails or Slack is slow, and the answer still goes through', async () => {
    const slack = createSlackClient({ botToken: 'xoxb-test', apiBaseUrl: fake.apiBaseUrl });
    const context = { now: new Date(), policy: {} as never, policyId: 'sha256:x', slackUserId: 'UALICE' };

    expect((await named(slack, context)).slackUser).toEqual({ name: 'alice', email: 'alice@example.com' });
    fake.failNext('users.info', 'ratelimited');
    fake.failNext('users.info', 'ratelimited');
    fake.failNext('users.info', 'ratelimited');
    const started = Date.now();
    expect((await named(slack, context)).slackUser).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1500);
    fake.failNext('users.info', 'missing_scope');
    expect((await named(slack, context)).slackUser).toBeUndefined();
  });
});

describe('exports written before names were kept', () => {
  it('still verify and report, each Slack user shown by id and marked unresolved', async () => {
    const root = join(workDir, 'old-export');
    const id = '123456789012:access-key:AKIAOLDSCHEMA';
    // A schema 1 decision as the store wrote it then: no name, schemaVersion 1 inside the hash.
    const current = chainDecision(
      {
        credentialId: id,
        accountId: '123456789012',
        kind: 'access-key',
        principal: 'svc-old',
        owner: 'UOLD',
        action: 'reauthorize',
        reason: 'still used by the batch',
        actor: 'slack:UOLD',
        at: '2026-06-01T10:00:00.000Z',
        mode: 'enforce',
        policyId: 'sha256:0123456789abcdef',
        evidence: { approver: 'slack:UOLD', until: '2026-09-01T10:00:00.000Z' },
      },
      { seq: 0, lastHash: GENESIS_HASH },
    );
    const { hash: _hash, ...rest } = { ...current, schemaVersion: 1 };
    const old = { ...rest, hash: hashDecision(rest) };
    const writer = createExportWriter(root, { exportTime: '2026-07-01T00:00:00.000Z' });
    await writer.addFile([{ pk: credentialPk(id), sk: decisionSk(old.at, old.seq), ...old }]);
    await writer.close();

    const verified = await verifyExport({ kind: 'dir', path: root });
    const report = await writeEvidenceReport({ kind: 'dir', path: root }, join(workDir, 'old-report'));

    expect(verified.verdict.issues).toEqual([]);
    expect(report.verdict.issues).toEqual([]);
    const html = await readFile(report.htmlPath, 'utf8');
    expect(html).toContain('<td>slack:UOLD (unresolved: name not recorded with this decision)</td>');
    expect(await readFile(report.csvPath, 'utf8')).toMatch(
      /,reauthorize,slack:UOLD,,,still used by the batch,.*,1,0{64},/,
    );
  });
});

describe("the fake Slack's users.info", () => {
  it("answers a known user's profile in Slack's shape and user_not_found otherwise", async () => {
    const slack = await startFakeSlack({
      users: { 'dana@example.com': 'UDANA' },
      profiles: { UERIN: { name: 'Erin Ops' } },
    });
    try {
      const client = createSlackClient({ botToken: 'xoxb-test', apiBaseUrl: slack.apiBaseUrl });
      expect(await client.usersInfo('UDANA')).toEqual({ name: 'dana', email: 'dana@example.com' });
      expect(await client.usersInfo('UERIN')).toEqual({ name: 'Erin Ops' });
      expect(await client.usersInfo('UNOBODY')).toBeUndefined();
    } finally {
      await slack.close();
    }
  });
});
