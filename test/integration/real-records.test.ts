import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateGroupCommand, CreateRoleCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import type { Decision } from '../../lambdas/shared/domain/decision';
import { awsServiceAccountsOf } from '../../lambdas/shared/domain/identification';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { classifyTrust } from '../../lambdas/shared/domain/role-trust';
import { isTooBroad } from '../../lambdas/shared/domain/trust-breadth';
import { scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { seedAccount, VENDOR_ACCOUNT } from '../../scripts/local/seed';
import { useEmulator } from '../support/emulator';
import {
  cloudTrailEntry,
  putEvents,
  startTrustEventConsumer,
  type TrustEventConsumer,
} from '../support/trust-event-rules';

/**
 * Records nobody here wrote: CloudTrail records and trust policies from public sources (each with its
 * source and licence in test/fixtures/real/), labelled by hand from what the change does. The records
 * go through the stack's own EventBridge rules and the real consumer against the emulator; the trust
 * policies through the classification and a real scan of roles holding them. Each prints its agreement
 * and fails on any disagreement.
 */

const REAL = join(import.meta.dirname, '../fixtures/real');
const ACCOUNT = '123456789012';

interface Source {
  repo?: string;
  path?: string;
  url?: string;
  licence: string;
}
interface RecordCase {
  id: string;
  source: Source;
  record: {
    eventID?: string;
    eventSource: string;
    eventName: string;
    requestParameters?: Record<string, unknown> | null;
  };
  expect: { outcome: 'widens' | 'narrows' | 'ignored'; reaches: string; trigger: string | null; why: string };
}
interface TrustCase {
  id: string;
  source: Source;
  accountId: string;
  document: object;
  expect: {
    trustedAccounts: string[];
    requiresExternalId: boolean;
    tooBroad: boolean;
    awsServiceAccount: boolean;
    why: string;
  };
}

const load = <T>(folder: string): (T & { file: string })[] =>
  readdirSync(join(REAL, folder))
    .filter((name) => name.endsWith('.json'))
    .sort()
    .flatMap((file) =>
      (JSON.parse(readFileSync(join(REAL, folder, file), 'utf8')) as T[]).map((c) => ({ ...c, file })),
    );
const records = load<RecordCase>('cloudtrail');
const trusts = load<TrustCase>('trust-policies');

const { emulator, clients } = useEmulator();
const TABLE = 'real-records-under-test';
const store = createDecisionStore(clients.documents, TABLE);
let events: TrustEventConsumer;

/** The principal a record's change names, to be there in the emulator as a credential of its kind. */
function principalOf(
  c: RecordCase,
): { kind: 'user' | 'role' | 'group' | 'secret'; name: string } | undefined {
  const params = c.record.requestParameters ?? {};
  const text = (key: string) => (typeof params[key] === 'string' ? (params[key] as string) : undefined);
  if (c.record.eventSource === 'secretsmanager.amazonaws.com') {
    const secret = text('secretId');
    return secret
      ? { kind: 'secret', name: secret.replace(/^arn:.*:secret:(.+)-[A-Za-z0-9]{6}$/, '$1') }
      : undefined;
  }
  if (text('userName')) return { kind: 'user', name: text('userName') as string };
  if (text('roleName')) return { kind: 'role', name: text('roleName') as string };
  if (text('groupName')) return { kind: 'group', name: text('groupName') as string };
  return undefined;
}

/** What the consumer recorded about one record, as a label: a flag widens, an observe narrows, none ignores. */
function verdictOf(decisions: Decision[]): {
  outcome: RecordCase['expect']['outcome'];
  trigger: string | null;
} {
  const flag = decisions.find((d) => d.action === 'flag' || d.action === 'drift');
  if (flag) return { outcome: 'widens', trigger: String(flag.evidence.trigger) };
  return { outcome: decisions.some((d) => d.action === 'observe') ? 'narrows' : 'ignored', trigger: null };
}

const describeSource = (s: Source) => s.repo ?? new URL(s.url ?? 'https://unknown').hostname;

function printAgreement(title: string, rows: { source: string; agrees: boolean }[]): void {
  const bySource = new Map<string, { n: number; agree: number }>();
  for (const { source, agrees } of rows) {
    const entry = bySource.get(source) ?? { n: 0, agree: 0 };
    entry.n++;
    if (agrees) entry.agree++;
    bySource.set(source, entry);
  }
  const agreed = rows.filter((r) => r.agrees).length;
  console.log(
    [
      `${title}: ${agreed} of ${rows.length} agree with their hand labels`,
      ...[...bySource].map(([source, { n, agree }]) => `  ${source}: ${agree}/${n}`),
    ].join('\n'),
  );
}

beforeAll(async () => {
  const principals = records.flatMap((c) => {
    const p = c.expect.outcome === 'ignored' ? undefined : principalOf(c);
    return p ? [p] : [];
  });
  const named = (kind: string) => [...new Set(principals.filter((p) => p.kind === kind).map((p) => p.name))];
  const owner = { 'reauth:owner': 'UOWNER' };
  await seedAccount(
    emulator,
    clients,
    {
      users: named('user').map((name) => ({ name, tags: owner, keys: [{ createdDaysAgo: 30 }] })),
      roles: named('role').map((name) => ({
        name,
        createdDaysAgo: 30,
        trustedAccounts: [VENDOR_ACCOUNT],
        tags: owner,
      })),
      secrets: named('secret').map((name) => ({ name, createdDaysAgo: 30, tags: owner })),
    },
    new Date(),
  );
  for (const group of named('group')) await clients.iam.send(new CreateGroupCommand({ GroupName: group }));
  events = await startTrustEventConsumer(clients, { table: TABLE, name: 'real-records' });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await events.slack.close();
});

describe('real CloudTrail records, through the stack’s rules and the consumer', () => {
  it(`holds at least 60 records, each with its source and licence (${records.length} here)`, () => {
    expect(records.length).toBeGreaterThanOrEqual(60);
    for (const c of records) {
      expect(c.source.licence, c.id).toMatch(/\S/);
      expect(c.source.url ?? c.source.repo, c.id).toBeTruthy();
    }
    expect(new Set(records.map((c) => c.id)).size).toBe(records.length);
  });

  it('judges each as its label says: widens, narrows or ignored', async () => {
    const rows: { source: string; agrees: boolean; id: string; got: string; want: string }[] = [];
    for (const c of records) {
      // Some sources reuse a placeholder eventID: each case is its own event here.
      const eventID = `${c.record.eventID ?? 'none'}#${c.id}`;
      await putEvents(clients.events, cloudTrailEntry({ ...c.record, eventID }));
      await events.deliver();
      const states = await store.loadStates(ACCOUNT);
      const decisions = (await Promise.all([...states.keys()].map((id) => store.history(id))))
        .flat()
        .filter((d) => d.evidence.eventId === eventID);
      const got = verdictOf(decisions);
      const agrees =
        got.outcome === c.expect.outcome && (got.outcome !== 'widens' || got.trigger === c.expect.trigger);
      rows.push({
        source: describeSource(c.source),
        agrees,
        id: c.id,
        got: `${got.outcome}${got.trigger ? ` ${got.trigger}` : ''}`,
        want: `${c.expect.outcome}${c.expect.trigger ? ` ${c.expect.trigger}` : ''}`,
      });
    }
    printAgreement('CloudTrail records', rows);
    expect(rows.filter((r) => !r.agrees).map(({ id, got, want }) => ({ id, got, want }))).toEqual([]);
  });
});

describe('real trust policies, classified and scanned', () => {
  it(`holds at least 30 trust policies, each with its source and licence (${trusts.length} here)`, () => {
    expect(trusts.length).toBeGreaterThanOrEqual(30);
    for (const c of trusts) expect(c.source.licence, c.id).toMatch(/\S/);
  });

  it('says whom each lets in from outside, whether an ExternalId is required, whether it is too broad, and whether it trusts an account AWS owns', async () => {
    const rows: { source: string; agrees: boolean; id: string; got: object; want: object }[] = [];
    for (const c of trusts) {
      const trust = classifyTrust(JSON.stringify(c.document), c.accountId);
      const got = {
        trustedAccounts: trust.trustedAccounts,
        requiresExternalId: trust.requiresExternalId,
        tooBroad: trust.federated.some((f) => isTooBroad(f)),
        awsServiceAccount: Object.keys(awsServiceAccountsOf(trust.trustedAccounts)).length > 0,
      };
      const { why: _why, ...want } = c.expect;
      rows.push({
        source: describeSource(c.source),
        agrees:
          JSON.stringify(got) ===
          JSON.stringify({ ...want, trustedAccounts: [...want.trustedAccounts].sort() }),
        id: c.id,
        got,
        want,
      });
    }
    printAgreement('Trust policies', rows);
    expect(rows.filter((r) => !r.agrees).map(({ id, got, want }) => ({ id, got, want }))).toEqual([]);
  });

  it('a scan of roles holding them (in the emulator’s account) flags the same findings', async () => {
    const ours = trusts.filter((c) => c.accountId === ACCOUNT);
    for (const c of ours) {
      await clients.iam.send(
        new CreateRoleCommand({
          RoleName: `real-${c.id}`.slice(0, 64),
          AssumeRolePolicyDocument: JSON.stringify(c.document),
          Tags: [{ Key: 'reauth:owner', Value: 'UOWNER' }],
        }),
      );
    }
    const report = await scanAccount(
      {
        iam: clients.iam,
        secretsManager: clients.secretsManager,
        stacks: stackOwnersOfThisAccount(),
        store: createDecisionStore(clients.documents, TABLE),
      },
      { accountId: ACCOUNT, policy: parsePolicyConfig({}), now: new Date() },
    );
    const disagreements = ours.flatMap((c) => {
      const row = report.rows.find((r) => r.kind === 'role' && r.principal === `real-${c.id}`.slice(0, 64));
      const got = {
        tooBroad: row?.triggers.includes('trust-too-broad') ?? false,
        awsServiceAccount: row?.triggers.includes('aws-service-account-trusted') ?? false,
      };
      const want = { tooBroad: c.expect.tooBroad, awsServiceAccount: c.expect.awsServiceAccount };
      return JSON.stringify(got) === JSON.stringify(want) ? [] : [{ id: c.id, got, want }];
    });
    console.log(`Trust policies scanned: ${ours.length - disagreements.length} of ${ours.length} agree`);
    expect(disagreements).toEqual([]);
  });
});
