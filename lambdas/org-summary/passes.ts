import * as z from 'zod';
import { RunObjectSchema } from '../shared/domain/organization';

/** Failed accounts named in the summary itself; all of them are in its `failures` object. */
export const FAILED_ACCOUNTS_SHOWN = 20;
/** A failed account's reason, as the summary shows it (a Lambda error's Cause can be 32 KiB). */
export const REASON_CHARS = 500;

const FailedAccountSchema = z.object({ accountId: z.string(), reason: z.string().max(REASON_CHARS) });
export type FailedAccount = z.infer<typeof FailedAccountSchema>;

/** A channel the notification pass could not reach for a reason only a person mends (`slack-setup.ts`). */
const SlackSetupProblemSchema = z.object({
  channel: z.string().max(200),
  code: z.string().max(64),
  fix: z.string().max(300),
});
/** Setup problems a summary names: one per channel and code, so a few in practice. */
export const SLACK_SETUP_SHOWN = 20;
export const SlackSetupSchema = z.array(SlackSetupProblemSchema).max(SLACK_SETUP_SHOWN);

/** What the first pass counted from the results, carried unchanged through the passes after it. */
export const TallySchema = z.object({
  scanned: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** The first FAILED_ACCOUNTS_SHOWN failed accounts, with their reasons. */
  failedAccounts: z.array(FailedAccountSchema).max(FAILED_ACCOUNTS_SHOWN),
  /** Every failed account with its reason, when the run has a bucket (the state machine's). */
  failures: RunObjectSchema.optional(),
  findings: z.number().int().nonnegative(),
  /** The member runs' Slack setup problems (each run logged and counted its own), each once. */
  slackSetup: SlackSetupSchema.optional(),
});
export type Tally = z.infer<typeof TallySchema>;

/** Where the notification pass stopped: the next shard of the openByOwner index, after which owner. */
export const CursorSchema = z.object({
  shard: z.number().int().nonnegative(),
  after: z.string().optional(),
});
export type Cursor = z.infer<typeof CursorSchema>;

/** A pass's output that another pass continues (`done: false`), as the state machine hands it back. */
export const ProgressSchema = z.object({
  done: z.literal(false),
  passes: z.number().int().nonnegative().default(0),
  tally: TallySchema.optional(),
  cursor: CursorSchema.optional(),
  notified: z.number().int().nonnegative().default(0),
  /** Setup problems the passes so far met, each once. */
  slackSetup: SlackSetupSchema.optional(),
});
export type OrgSummaryProgress = z.infer<typeof ProgressSchema>;

/** A finished summary: the state machine's output. */
export const FinishedSchema = TallySchema.extend({
  done: z.literal(true),
  notified: z.number().int().nonnegative(),
  /** Invocations the summary took (it stops short of its timeout and the state machine runs it again). */
  passes: z.number().int().positive(),
  // slackSetup (from the tally): the members' and the notification passes' setup problems, each once.
});
export type OrgSummary = z.infer<typeof FinishedSchema>;

/**
 * Every summary pass's output, which the state machine keeps in `$.summary`: references and counts,
 * the same size for 10 accounts and 10,000 (test/infra holds it to that).
 */
export const SummaryPassSchema = z.union([ProgressSchema, FinishedSchema]);
