/**
 * The names of reauth's metrics, which the handlers publish (`metrics.ts`) and the dashboard graphs:
 * no Powertools here, so the construct library reads the list without loading a publisher.
 */

/** The CloudWatch namespace of reauth's metrics when the deployment sets none (its name prefix, by default `reauth`). */
export const METRICS_NAMESPACE = 'reauth';

/**
 * Every count each reauth function publishes, by its service name: the one list the handlers publish
 * from and the dashboard reads from, so a graph cannot name a metric nobody writes.
 */
export const RUN_METRICS = {
  // SlackSetupProblems: channels (with Slack's code) a run's messages could not reach for a reason only a
  // person mends, such as `not_in_channel` (see use-cases/slack-setup.ts); each is alarmed on.
  'reauth-scan': ['Findings', 'DecisionsRecorded', 'Notified', 'SlackSetupProblems'],
  'reauth-enforce': [
    'Notified',
    'Reminded',
    'Escalated',
    'Disabled',
    'DisableCancelled',
    'HeldBack',
    'SlackSetupProblems',
  ],
  // Refused: someone who may not answer for a credential tried to (every attempt; the record keeps one a
  // user and day). Replayed: a copy of a click already received, which queued nothing.
  'reauth-slack': ['Clicks', 'UnsignedRequests', 'Reauthorized', 'Refused', 'Replayed'],
  'reauth-slack-worker': ['Disabled', 'Rotated', 'Restored', 'JobsFailed'],
  'reauth-events': ['Events', 'EventsFailed', 'RequestsOpened', 'SlackSetupProblems'],
  // An AWS Organization's fan-out, once per scan or enforce run: member accounts done and failed.
  'reauth-org-summary': ['AccountsScanned', 'AccountsFailed', 'Findings', 'Notified', 'SlackSetupProblems'],
} as const;

export type MetricsService = keyof typeof RUN_METRICS;
export type RunMetric<S extends MetricsService> = (typeof RUN_METRICS)[S][number];

/** What a run did, by metric name, e.g. `{ Findings: 12 }`. Counts, one flush per run. */
export type RunCounts<S extends MetricsService> = Partial<Record<RunMetric<S>, number>>;

/** Published by the scan with its counts: credentials by `status` (a dimension), and how many are overdue. */
export const STATE_METRICS = ['Credentials', 'Overdue'] as const;
