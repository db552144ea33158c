/**
 * The Slack endpoint's handling time for signed clicks, measured in-process against the emulator and
 * the local fake Slack: each owner's *Still needed* click (read the state, open the dialog) and their
 * submission of it (one conditional transaction, one queued job). Part of `npm run bench`.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { AwsClients } from '../../lambdas/shared/adapters/aws-clients';
import type { DecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { ModalView } from '../../lambdas/shared/slack/messages';
import { encodeActionValue } from '../../lambdas/shared/slack/request';
import { startLocalStack } from './local-stack';
import { buttonClickBody, slackEvent, stillNeededSubmissionBody } from './slack-play';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ClickBench {
  click: LatencySummary;
  submission: LatencySummary;
  /** Submissions the endpoint took (checked, queued for the worker, the dialog closed): one per credential. */
  reauthorized: number;
}

export async function benchSlackClicks(input: {
  clients: AwsClients;
  store: DecisionStore;
  table: string;
  policy: object;
  accountId: string;
  count: number;
}): Promise<ClickBench> {
  const local = await startLocalStack(input.clients, { table: input.table, policy: input.policy });
  const slack = local.slack;
  try {
    Object.assign(process.env, local.env, { POWERTOOLS_LOG_LEVEL: 'ERROR' });
    const { handler } = (await import('../../lambdas/slack/handler')) as {
      handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
    };
    const pending = [...(await input.store.loadStates(input.accountId)).values()]
      .filter((s) => s.status === 'pending' && s.requestSeq !== undefined)
      .slice(0, input.count);
    if (pending.length === 0) throw new Error('no pending credential to click: the scan found nothing');
    // A small account has fewer requests than clicks asked for: each is clicked once (the count says so).
    // The first request pays the cold start (the Slack secret); Lambda's figures would show it as Init.
    const clicks: number[] = [];
    const submissions: number[] = [];
    let reauthorized = 0;
    for (const state of pending) {
      const value = encodeActionValue(state.credentialId, state.requestSeq ?? 0);
      const body = buttonClickBody({
        userId: state.owner,
        actionId: 'reauth:still-needed',
        value,
        responseUrl: slack.responseUrl('bench'),
      });
      let started = performance.now();
      const clicked = await handler(slackEvent(body, { signingSecret: local.signingSecret, at: new Date() }));
      clicks.push(performance.now() - started);
      if (clicked.statusCode !== 200) throw new Error(`click answered ${clicked.statusCode}`);
      const view = slack.calls('views.open').at(-1)?.body.view as ModalView;
      const submission = stillNeededSubmissionBody({
        userId: state.owner,
        view,
        reason: 'still used by the bench job',
        days: 30,
      });
      started = performance.now();
      const submitted = await handler(
        slackEvent(submission, { signingSecret: local.signingSecret, at: new Date() }),
      );
      submissions.push(performance.now() - started);
      // The endpoint closes the dialog once the answer is checked and queued; the worker records it.
      if (submitted.body?.includes('clear')) reauthorized++;
    }
    return { click: summarize(clicks), submission: summarize(submissions), reauthorized };
  } finally {
    await slack.close();
  }
}

function summarize(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    count: sorted.length,
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    maxMs: round(sorted.at(-1) ?? 0),
  };
}
