import { SlackApiError } from '../adapters/slack-client';

/**
 * Slack's answers that no retry mends, because the app's setup is wrong: the bot is not in a private
 * channel (or a public one, without `chat:write.public`), the channel is gone or archived, a scope is
 * missing, the token is revoked. Each run reports them to the operator once (a log line that alarms,
 * a metric, and the run's report), instead of once per owner, and retries the posts next run.
 */
const SETUP_FIXES: Readonly<Record<string, string>> = {
  not_in_channel:
    'invite the bot to the channel (/invite @reauth); a private channel needs it even with chat:write.public',
  channel_not_found:
    'the channel does not exist, or is private and the bot is not in it: check fallbackOwner or the owner tag, and invite the bot',
  is_archived: 'the channel is archived: unarchive it or name another in fallbackOwner or the owner tag',
  missing_scope: 'the app lacks a scope: reinstall it from slack/manifest.json',
  invalid_auth: "the bot token is not valid: put the app's bot token in the Slack secret",
  not_authed: "no bot token was sent: put the app's bot token in the Slack secret",
  token_revoked: 'the bot token was revoked: reinstall the app and put its new token in the Slack secret',
  account_inactive: "the bot token's app or workspace is deactivated: reinstall the app",
};

/** At most this many problems a report names: one per channel and code, so a few in practice. */
const MAX_PROBLEMS = 20;

/** A Slack call that failed, as a run reports it: owners, channels and Slack's codes, never a token or URL. */
export interface SlackFailure {
  owner: string;
  error: string;
  /** Slack's error code, when Slack answered. */
  code?: string;
  /** Where the message was going, when it was a post. */
  channel?: string;
}

/** A failure only a person can mend, once per channel and code, with what to do. */
export interface SlackSetupProblem {
  channel: string;
  code: string;
  fix: string;
}

/** `error` as a run reports it for `owner`. */
export function slackFailureOf(owner: string, error: unknown): SlackFailure {
  if (error instanceof SlackApiError)
    return {
      owner,
      error: error.message,
      code: error.code,
      ...(error.channel !== undefined && { channel: error.channel }),
    };
  return { owner, error: error instanceof Error ? error.name : 'unknown error' };
}

/** Of `failures`, those of the app's setup, once per channel and code (the first MAX_PROBLEMS). */
export function slackSetupProblems(failures: readonly SlackFailure[]): SlackSetupProblem[] {
  const problems = new Map<string, SlackSetupProblem>();
  for (const failure of failures) {
    const fix = failure.code === undefined ? undefined : SETUP_FIXES[failure.code];
    if (fix === undefined || failure.code === undefined) continue;
    const channel = failure.channel ?? failure.owner;
    problems.set(`${channel} ${failure.code}`, { channel, code: failure.code, fix });
  }
  return [...problems.values()].slice(0, MAX_PROBLEMS);
}

/** The log line a metric filter counts and alarms on. */
export const SLACK_SETUP_MESSAGE = 'slack setup problem';
