import { createSlackClient, type SlackClient } from '../../lambdas/shared/adapters/slack-client';
import { createSlackPacer } from '../../lambdas/shared/adapters/slack-pacing';

/**
 * A Slack client (to a fake Slack) whose pacing waits on a virtual clock: a run that messages many
 * owners waits a second a message as Slack asks, which on the real clock is most of a test's time.
 */
export function pacedVirtually(apiBaseUrl: string, botToken = 'xoxb-test'): SlackClient {
  let now = Date.now();
  const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
  return createSlackClient({ botToken, apiBaseUrl, pacer: createSlackPacer(clock) });
}
