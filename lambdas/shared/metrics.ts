import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CredentialState } from './domain/decision';

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

/**
 * Publishes one run's counts as CloudWatch metrics in Embedded Metric Format (a log line, no API
 * call), and, when given, the account's credentials by status and how many are overdue.
 */
export function publishRunMetrics<S extends MetricsService>(
  service: S,
  counts: RunCounts<S>,
  states?: { values: Iterable<CredentialState>; now: Date },
): void {
  // Powertools' own setting: a deployment with another name prefix publishes under that prefix, so
  // two copies in one account and region graph and alarm on their own numbers.
  const namespace = process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE;
  const metrics = new Metrics({ namespace, serviceName: service });
  for (const [name, value] of Object.entries<number | undefined>(counts)) {
    if (value !== undefined) metrics.addMetric(name, MetricUnit.Count, value);
  }
  metrics.publishStoredMetrics();
  if (!states) return;
  const byStatus = new Map<string, number>();
  let overdue = 0;
  for (const state of states.values) {
    byStatus.set(state.status, (byStatus.get(state.status) ?? 0) + 1);
    if (
      state.status === 'pending' &&
      state.deadlineAt &&
      Date.parse(state.deadlineAt) <= states.now.getTime()
    )
      overdue++;
  }
  for (const [status, count] of byStatus) {
    const single = metrics.singleMetric();
    single.addDimension('status', status);
    single.addMetric('Credentials' satisfies (typeof STATE_METRICS)[number], MetricUnit.Count, count);
  }
  metrics.addMetric('Overdue' satisfies (typeof STATE_METRICS)[number], MetricUnit.Count, overdue);
  metrics.publishStoredMetrics();
}
