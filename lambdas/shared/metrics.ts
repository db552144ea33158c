import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CredentialState } from './domain/decision';

/** The CloudWatch namespace of reauth's metrics; the dashboard reads them from here. */
export const METRICS_NAMESPACE = 'reauth';

/** What a run did, by metric name, e.g. `{ Findings: 12, Disabled: 1 }`. Counts, one flush per run. */
export type RunCounts = Record<string, number>;

/**
 * Publishes one run's counts as CloudWatch metrics in Embedded Metric Format (a log line, no API
 * call), and, when given, the account's credentials by status and how many are overdue.
 */
export function publishRunMetrics(
  service: string,
  counts: RunCounts,
  states?: { values: Iterable<CredentialState>; now: Date },
): void {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service });
  for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
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
    single.addMetric('Credentials', MetricUnit.Count, count);
  }
  metrics.addMetric('Overdue', MetricUnit.Count, overdue);
  metrics.publishStoredMetrics();
}
