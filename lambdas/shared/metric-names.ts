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
  'reauth-scan': ['Findings', 'DecisionsRecorded', 'Notified'],
  'reauth-enforce': ['Notified', 'Reminded', 'Escalated', 'Disabled', 'DisableCancelled', 'HeldBack'],
  // Refused: someone who may not answer for a credential tried to (every attempt; the record keeps one a
  // user and day). Replayed: a copy of a click already received, which queued nothing.
  'reauth-slack': ['Clicks', 'UnsignedRequests', 'Reauthorized', 'Refused', 'Replayed'],
  'reauth-slack-worker': ['Disabled', 'Rotated', 'Restored', 'JobsFailed'],
  'reauth-events': ['Events', 'EventsFailed', 'RequestsOpened'],
  // An AWS Organization's fan-out, once per scan or enforce run: member accounts done and failed.
  'reauth-org-summary': ['AccountsScanned', 'AccountsFailed', 'Findings', 'Notified'],
} as const;

export type MetricsService = keyof typeof RUN_METRICS;
export type RunMetric<S extends MetricsService> = (typeof RUN_METRICS)[S][number];

/** What a run did, by metric name, e.g. `{ Findings: 12 }`. Counts, one flush per run. */
export type RunCounts<S extends MetricsService> = Partial<Record<RunMetric<S>, number>>;

/** Published by the scan with its counts: credentials by `status` (a dimension), and how many are overdue. */
export const STATE_METRICS = ['Credentials', 'Overdue'] as const;
