/**
 * What telling owners costs in Slack at scale, against the emulator and the local fake Slack enforcing
 * Slack's published limits: one owner with 2,000 credentials, and 500 owners named by email (a first run
 * that looks every one up, and the next day's run that finds them in the decision table). The client
 * and the fake share a virtual clock, so minutes of pacing pass at once and are reported, not slept:
 * paced time = the waits the client took (virtual) + the work itself (real). Part of `npm run bench`;
 * alone: `npx tsx scripts/local/bench-slack-notify.ts`.
 */
import { pathToFileURL } from 'node:url';
import type { AwsClients } from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { createSlackClient } from '../../lambdas/shared/adapters/slack-client';
import { createSlackPacer } from '../../lambdas/shared/adapters/slack-pacing';
import { mapWithConcurrency } from '../../lambdas/shared/concurrency';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { checkMessage } from '../../lambdas/shared/slack/limits';
import { decodeActionValue } from '../../lambdas/shared/slack/request';
import { notifyNewRequests } from '../../lambdas/shared/use-cases/notify-owners';
import { ensureDecisionTable } from './decision-table';
import { startFakeSlack } from './fake-slack';
import { flaggedRequest } from './flagged-request';
import { virtualClock } from './virtual-clock';

const DAY = 86_400_000;
const ACCOUNT = '123456789012';

export interface SlackRunFigures {
  /** Slack Web API calls by method (`calls`), and how many Slack answered 429. */
  calls: Record<string, { calls: number; ratelimited: number }>;
  messages: number;
  recorded: number;
  failures: number;
  /** Time the client waited for Slack's limits (virtual: not slept). */
  pacedWaitS: number;
  /** Time the run took on this machine (DynamoDB, the fake Slack). */
  workS: number;
  /** What the run takes against Slack: the waits plus the work. */
  totalS: number;
}

export interface SlackNotifyBench {
  bigOwner: {
    credentials: number;
    /** Credentials offered with buttons in exactly one of the messages Slack took, recorded as told by it. */
    answerable: number;
    /** Messages the fake Slack found breaking a Block Kit limit (it refuses them, as Slack does). */
    overLimits: number;
  } & SlackRunFigures;
  emailOwners: { owners: number; firstRun: SlackRunFigures; nextDay: SlackRunFigures };
}

export async function benchSlackNotify(input: {
  clients: AwsClients;
  table: string;
  bigOwnerCredentials?: number;
  emailOwners?: number;
}): Promise<SlackNotifyBench> {
  const credentials = input.bigOwnerCredentials ?? 2000;
  const owners = input.emailOwners ?? 500;
  await ensureDecisionTable(input.clients.dynamodb, input.table);
  const store = createDecisionStore(input.clients.documents, input.table);
  const clock = virtualClock(Date.now());
  const emails = Array.from({ length: owners }, (_, i) => `owner${i}@example.com`);
  const slack = await startFakeSlack({
    users: Object.fromEntries(emails.map((email, i) => [email, `UOWNER${i}`])),
    enforceLimitsAt: () => clock.now(),
  });
  const policy = parsePolicyConfig({});
  let serial = 0;
  const flag = (owner: string, at: Date) => {
    const n = `${++serial}`;
    return flaggedRequest(store, {
      credentialId: `${ACCOUNT}:access-key:AKIABENCHSLACK${n.padStart(6, '0')}`,
      principal: `svc-${n}`,
      owner,
      at,
      policyId: policyIdOf(policy),
    });
  };

  /** One notify pass, as the scan runs it (a Lambda's client: one pacer for the run). */
  async function run(states: CredentialState[], at: Date): Promise<SlackRunFigures> {
    const before = slack.counts();
    const slept = clock.slept;
    const started = performance.now();
    const client = createSlackClient({
      botToken: 'xoxb-bench',
      apiBaseUrl: slack.apiBaseUrl,
      pacer: createSlackPacer(clock),
    });
    const report = await notifyNewRequests({ store, slack: client }, states, {
      policy,
      policyId: policyIdOf(policy),
      now: at,
      job: 'scan',
    });
    const workS = (performance.now() - started) / 1000;
    const pacedWaitS = (clock.slept - slept) / 1000;
    const calls: SlackRunFigures['calls'] = {};
    for (const [method, count] of Object.entries(slack.counts())) {
      const calls0 = before[method] ?? { calls: 0, ratelimited: 0 };
      if (count.calls > calls0.calls)
        calls[method] = {
          calls: count.calls - calls0.calls,
          ratelimited: count.ratelimited - calls0.ratelimited,
        };
    }
    return {
      calls,
      messages: report.messages,
      recorded: report.recorded,
      failures: report.failures.length,
      pacedWaitS: round1(pacedWaitS),
      workS: round1(workS),
      totalS: round1(pacedWaitS + workS),
    };
  }

  try {
    const day1 = new Date(clock.now());
    const big = await mapWithConcurrency(Array.from({ length: credentials }), 16, async () =>
      flag('UBIGOWNER', day1),
    );
    const postsBefore = slack.requests.length;
    const bigRun = await run(big, day1);
    const bigOwner = { credentials, ...answerability(big, slack.requests.slice(postsBefore)), ...bigRun };
    // Recorded as told by the message that showed it: checked on the records themselves.
    const told = await store.getStates(big.map((s) => s.credentialId));
    if ([...told.values()].some((s) => !s.notifiedAt || !s.message?.ts)) bigOwner.answerable = 0;

    const firstStates = await mapWithConcurrency(emails, 16, (email) => flag(email, day1));
    const firstRun = await run(firstStates, day1);
    clock.advance(DAY);
    const day2 = new Date(clock.now());
    const nextStates = await mapWithConcurrency(emails, 16, (email) => flag(email, day2));
    const nextDay = await run(nextStates, day2);
    return { bigOwner, emailOwners: { owners, firstRun, nextDay } };
  } finally {
    await slack.close();
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** How many of `states` the posted messages offer buttons for exactly once, and how many messages break a limit. */
function answerability(
  states: CredentialState[],
  requests: { method: string; body: unknown }[],
): { answerable: number; overLimits: number } {
  const posts = requests.filter((r) => r.method === 'chat.postMessage');
  const shown = new Map<string, number>();
  for (const post of posts) {
    const blocks = (
      post.body as { blocks?: { type: string; elements?: { action_id?: string; value?: string }[] }[] }
    ).blocks;
    for (const block of blocks ?? []) {
      for (const element of block.type === 'actions' ? (block.elements ?? []) : []) {
        if (element.action_id !== 'reauth:still-needed' || !element.value) continue;
        const { credentialId } = decodeActionValue(element.value);
        shown.set(credentialId, (shown.get(credentialId) ?? 0) + 1);
      }
    }
  }
  return {
    answerable: states.filter((s) => shown.get(s.credentialId) === 1).length,
    overLimits: posts.filter((post) => checkMessage(post.body as { blocks?: unknown }).violations.length > 0)
      .length,
  };
}

/** Prints the figures as the bench does. */
export function describeSlackNotify(bench: SlackNotifyBench): string[] {
  const line = (label: string, f: SlackRunFigures) =>
    `${label}: ${Object.entries(f.calls)
      .map(([method, c]) => `${c.calls} ${method}${c.ratelimited ? ` (${c.ratelimited} answered 429)` : ''}`)
      .join(
        ', ',
      )}; ${f.messages} messages, ${f.recorded} recorded, ${f.failures} owners left for the next run; ` +
    `${f.totalS}s against Slack (${f.pacedWaitS}s waiting on its limits + ${f.workS}s of work)`;
  return [
    `${line(`Slack, one owner with ${bench.bigOwner.credentials} credentials`, bench.bigOwner)}; ` +
      `${bench.bigOwner.answerable} answerable, ${bench.bigOwner.overLimits} messages over Slack's limits`,
    line(`Slack, ${bench.emailOwners.owners} email owners, first run`, bench.emailOwners.firstRun),
    line(`Slack, the same owners the next day (lookups from the table)`, bench.emailOwners.nextDay),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { createAwsClients } = await import('../../lambdas/shared/adapters/aws-clients');
  const { emulatorEnv, startEmulator } = await import('../emulator/emulator');
  const emulator = await startEmulator();
  try {
    Object.assign(process.env, emulatorEnv(emulator.endpoint));
    const bench = await benchSlackNotify({ clients: createAwsClients(), table: 'reauth-bench-slack' });
    for (const line of describeSlackNotify(bench)) console.log(line);
  } finally {
    await emulator.stop();
  }
}
