import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import {
  createDynamoDBClients,
  createS3Client,
  createSecretsManagerClient,
} from '../shared/adapters/aws-clients';
import { createDecisionStore } from '../shared/adapters/decision-store';
import { readMapResults } from '../shared/adapters/map-results';
import { readRunObject, runObjectKey, writeRunObject } from '../shared/adapters/run-objects';
import { slackDeadline, slackFromEnvironment } from '../shared/adapters/slack-settings';
import type { CredentialState } from '../shared/domain/decision';
import { policyForAccount, RunObjectSchema, TargetAccountSchema } from '../shared/domain/organization';
import { policyIdOf } from '../shared/domain/policy';
import { parseEnv } from '../shared/env';
import { publishRunMetrics } from '../shared/metrics';
import { loadPolicyFile, requireOrganization } from '../shared/policy-file';
import { notifyNewRequests, sendReminders } from '../shared/use-cases/notify-owners';
import {
  SLACK_SETUP_MESSAGE,
  type SlackFailure,
  type SlackSetupProblem,
  slackSetupProblems,
} from '../shared/use-cases/slack-setup';
import { tellOpenRequests } from '../shared/use-cases/tell-open-requests';
import { OrgSummaryEnvSchema } from './env';
import {
  type Cursor,
  FAILED_ACCOUNTS_SHOWN,
  type FailedAccount,
  type OrgSummary,
  type OrgSummaryProgress,
  ProgressSchema,
  REASON_CHARS,
  SLACK_SETUP_SHOWN,
  SlackSetupSchema,
  type Tally,
} from './passes';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(OrgSummaryEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const organization = requireOrganization(policy);
const store = createDecisionStore(createDynamoDBClients().documents, env.TABLE_NAME);
const s3 = createS3Client();
const slack = slackFromEnvironment(createSecretsManagerClient(), env);
const logger = new Logger({ serviceName: 'reauth-org-summary' });

/**
 * One account's outcome: the scan's or enforce job's output (`findings`, or the enforce report's
 * `scan.findings`), or, from the state machine's Catch, `{ accountId, ok: false, error, cause }`.
 */
const AccountResultSchema = z.union([
  z.looseObject({
    accountId: z.string(),
    ok: z.literal(false),
    error: z.string(),
    cause: z.string().optional(),
  }),
  z.looseObject({
    accountId: z.string(),
    ok: z.literal(true).optional(),
    findings: z.number().int().nonnegative().optional(),
    scan: z.looseObject({ findings: z.number().int().nonnegative() }).optional(),
    /** The run's Slack setup problems (`slack-setup.ts`). */
    slackSetup: SlackSetupSchema.optional(),
  }),
]);
export type AccountResult = z.input<typeof AccountResultSchema>;

/** Where the Distributed Map's ResultWriter put the results: its manifest. */
const ResultWriterReferenceSchema = z.looseObject({
  ResultWriterDetails: z.object({ Bucket: z.string().min(1), Key: z.string().min(1) }),
});

export const OrgSummaryEventSchema = z.object({
  /** Which fan-out ran (`scan` or `enforce`); the scan's is the one that tells owners. @default 'scan' */
  job: z.enum(['scan', 'enforce']).default('scan'),
  runId: z.string().min(1),
  /** The accounts the run selected: org-accounts' `accounts` object, or (a test, the CLI) the list. */
  accounts: z.union([RunObjectSchema, z.array(TargetAccountSchema)]),
  /**
   * Per account, its outcome: the Map's ResultWriter reference (read from S3) or the outcomes
   * themselves. An account with none (its child failed past the Catch) counts as failed.
   */
  results: z.union([z.array(z.unknown()), ResultWriterReferenceSchema]),
  /** The pass before, when this one continues it (the state machine loops while `done` is false). */
  previous: ProgressSchema.optional(),
});
export type OrgSummaryEvent = z.input<typeof OrgSummaryEventSchema>;

export type { OrgSummary, OrgSummaryProgress };

/**
 * More of a run's accounts failed than `organization.toleratedFailurePercentage` allows: thrown after
 * the summary is reported, so the execution fails (and alarms) as the Distributed Map's own tolerance
 * would. The Map never fails by itself, because each account's failure is caught as a result.
 */
export class ToleratedFailureExceeded extends Error {
  override readonly name = 'ToleratedFailureExceeded';
}

/** Open requests told in one notify call: bounds what a pass holds (plus one owner's, kept whole). */
const BATCH = 500;
/** A pass starts no batch with less left than this: the batch's Slack calls and records fit in it. */
const PASS_RESERVE_MS = 3 * 60_000;

/**
 * After the fan-out: what was scanned and what failed (each with its reason), and ONE notification
 * pass over the open requests of the selected accounts, so each owner gets one message across all
 * accounts. The open requests come from the sparse openByOwner index, owner by owner, never from
 * every state of every account; a pass that runs short of time returns where it stopped (`done:
 * false`) and the state machine runs the next one.
 */
export async function handler(
  event: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<OrgSummary | OrgSummaryProgress> {
  const now = new Date();
  const { job, runId, accounts, results, previous } = OrgSummaryEventSchema.parse(event);
  const progress = ProgressSchema.parse(previous ?? { done: false });
  const selected = Array.isArray(accounts)
    ? accounts
    : await readRunObject(s3, accounts, z.array(TargetAccountSchema));
  const selectedIds = new Set(selected.map((account) => account.accountId));
  const tally =
    progress.tally ??
    (await tallyResults(runId, selectedIds, results, Array.isArray(accounts) ? undefined : accounts.Bucket));

  let notified = progress.notified;
  let slackFailures: SlackFailure[] = [];
  let cursor: Cursor | undefined = progress.cursor;
  // A minute kept for recording what Slack took; owners not reached by then are told on the next run.
  // Owners hear once per run across every account: of new requests, and (the hourly enforce run) of
  // reminders due; the member accounts' runs tell only the fallback owner (escalations, deadlines).
  const connected = await slack.connect({ deadline: slackDeadline(context, 60_000) });
  if (connected) {
    const deps = { store, slack: connected.client };
    // Each credential is told what its own account's deadline does (policy overrides by OU).
    const modes = new Map(
      selected.map((account) => [account.accountId, policyForAccount(policy, account).mode]),
    );
    const notifyContext = {
      policy,
      policyId: policyIdOf(policy),
      now,
      job,
      modeOf: (accountId: string) => modes.get(accountId) ?? policy.mode,
    };
    const tell = async (states: CredentialState[]) => {
      const asked = await notifyNewRequests(deps, states, notifyContext);
      const reminded = job === 'enforce' ? await sendReminders(deps, states, notifyContext) : undefined;
      notified += asked.recorded + (reminded?.recorded ?? 0);
      const failures = [...asked.failures, ...(reminded?.failures ?? [])];
      slackFailures.push(...failures);
      // Owners and Slack error codes only: never a token, a webhook URL or a secret value.
      if (failures.length > 0) logger.error('some owners could not be told', { failures });
    };
    const timeLeft = () => (context ? context.getRemainingTimeInMillis() > PASS_RESERVE_MS : true);
    cursor = await tellOpenRequests(store, tell, {
      accounts: selectedIds,
      from: cursor,
      batch: BATCH,
      timeLeft,
    });
  } else cursor = undefined;

  // Each problem once across the passes: this pass's new ones are logged (and alarm), all go in the summary.
  const known = progress.slackSetup ?? [];
  const met = slackSetupProblems(slackFailures).filter(
    (problem) => !known.some((k) => k.channel === problem.channel && k.code === problem.code),
  );
  slackFailures = [];
  if (met.length > 0) logger.error(SLACK_SETUP_MESSAGE, { runId, problems: met });
  const slackSetup = onceEach([...known, ...met]);
  if (cursor) {
    logger.info('summary continues in another pass', { runId, cursor, notified });
    return {
      done: false,
      passes: progress.passes + 1,
      tally,
      cursor,
      notified,
      ...(slackSetup.length > 0 && { slackSetup }),
    };
  }
  // The summary names the member runs' problems and its own, each once.
  return finish(
    runId,
    selectedIds.size,
    tally,
    notified,
    progress.passes + 1,
    onceEach([...(tally.slackSetup ?? []), ...slackSetup]),
  );
}

/**
 * Counts the run's results (the Map's ResultWriter files, read one at a time) against the selected
 * accounts; every failed account goes to the run's `failures` object when there is a bucket, and the
 * first FAILED_ACCOUNTS_SHOWN to the summary itself.
 */
async function tallyResults(
  runId: string,
  selectedIds: ReadonlySet<string>,
  results: z.infer<typeof OrgSummaryEventSchema>['results'],
  bucket: string | undefined,
): Promise<Tally> {
  const outcomes = z
    .array(AccountResultSchema)
    .parse(Array.isArray(results) ? results : await readMapResults(s3, results.ResultWriterDetails));
  const byAccount = new Map(outcomes.map((result) => [result.accountId, result]));
  const failed: FailedAccount[] = [];
  let scanned = 0;
  let findings = 0;
  const slackSetup: SlackSetupProblem[] = [];
  for (const accountId of selectedIds) {
    const result = byAccount.get(accountId);
    if (!result) failed.push({ accountId, reason: 'no result: its child execution failed' });
    else if (result.ok === false)
      failed.push({ accountId, reason: reasonOf(result.error, result.cause).slice(0, REASON_CHARS) });
    else {
      scanned++;
      findings += result.findings ?? result.scan?.findings ?? 0;
      slackSetup.push(...(result.slackSetup ?? []));
    }
  }
  const failures =
    bucket && failed.length > 0
      ? await writeRunObject(s3, { Bucket: bucket, Key: runObjectKey(runId, 'failures') }, failed)
      : undefined;
  return {
    scanned,
    failed: failed.length,
    failedAccounts: failed.slice(0, FAILED_ACCOUNTS_SHOWN),
    ...(failures && { failures }),
    findings,
    ...(slackSetup.length > 0 && { slackSetup: onceEach(slackSetup) }),
  };
}

function finish(
  runId: string,
  accounts: number,
  tally: Tally,
  notified: number,
  passes: number,
  slackSetup: SlackSetupProblem[],
): OrgSummary {
  publishRunMetrics('reauth-org-summary', {
    AccountsScanned: tally.scanned,
    AccountsFailed: tally.failed,
    Findings: tally.findings,
    Notified: notified,
    SlackSetupProblems: slackSetup.length,
  });
  if (tally.failed > 0)
    logger.error('accounts failed', {
      runId,
      failed: tally.failed,
      failedAccounts: tally.failedAccounts,
      failures: tally.failures,
    });
  logger.info('organization scan finished', { runId, accounts, ...tally, notified, passes, slackSetup });
  const failedPercentage = accounts === 0 ? 0 : (tally.failed / accounts) * 100;
  if (failedPercentage > organization.toleratedFailurePercentage) {
    const named = tally.failedAccounts.map((f) => f.accountId).join(', ');
    const more =
      tally.failed > tally.failedAccounts.length
        ? ` and ${tally.failed - tally.failedAccounts.length} more`
        : '';
    throw new ToleratedFailureExceeded(
      `${tally.failed} of ${accounts} accounts failed (${failedPercentage.toFixed(1)}%), more than the ${organization.toleratedFailurePercentage}% tolerated: ${named}${more}`,
    );
  }
  return { done: true, ...tally, notified, passes, ...(slackSetup.length > 0 && { slackSetup }) };
}

/** `problems` once per channel and code, as many as a summary names. */
function onceEach(problems: SlackSetupProblem[]): SlackSetupProblem[] {
  const byKey = new Map(problems.map((problem) => [`${problem.channel} ${problem.code}`, problem]));
  return [...byKey.values()].slice(0, SLACK_SETUP_SHOWN);
}

/** The Catch's Error and Cause: for a Lambda error the Cause is its JSON (`errorMessage`), shown plainly. */
function reasonOf(error: string, cause: string | undefined): string {
  if (!cause) return error;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return `${error}: ${parsed.errorMessage}`;
  } catch {
    // Not JSON: the cause as given.
  }
  return `${error}: ${cause}`;
}
