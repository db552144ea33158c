import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CredentialState } from './domain/decision';
import { METRICS_NAMESPACE, type MetricsService, type RunCounts, type STATE_METRICS } from './metric-names';

export * from './metric-names';

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
