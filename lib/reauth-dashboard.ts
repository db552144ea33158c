import { Duration, Stack } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SingleValueWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CREDENTIAL_STATUSES } from '../lambdas/shared/domain/decision';
import { METRICS_NAMESPACE, type MetricsService, type RunMetric } from '../lambdas/shared/metric-names';

/** Properties of a {@link ReauthDashboard}. */
export interface ReauthDashboardProps {
  /** Each reauth function by a short name, for the errors graph. */
  readonly functions: Record<string, IFunction>;
  /** Shown as one status widget. */
  readonly alarms: Alarm[];
  /**
   * The dashboard's name; dashboard names are unique in an account, across its regions.
   * @default `<stack name>-<region>`
   */
  readonly dashboardName?: string;
  /**
   * Where the functions publish their metrics (`POWERTOOLS_METRICS_NAMESPACE`).
   * @default 'reauth'
   */
  readonly namespace?: string;
}

const HOUR = Duration.hours(1);
const DAY = Duration.days(1);

function runMetric<S extends MetricsService>(
  namespace: string,
  name: RunMetric<S> | 'Overdue',
  service: S,
  dimensions: Record<string, string> = {},
  period = DAY,
): Metric {
  return new Metric({
    namespace,
    metricName: name,
    dimensionsMap: { service, ...dimensions },
    statistic: 'Sum',
    period,
    label: name,
  });
}

/**
 * Operators' view of every credential at a glance: credentials by state, findings per run,
 * notifications, reauthorizations, disables, overdue requests and job errors, from the metrics the
 * jobs publish (Powertools Metrics, EMF), and the state of every reauth alarm.
 */
export class ReauthDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ReauthDashboardProps) {
    super(scope, id);
    const namespace = props.namespace ?? METRICS_NAMESPACE;
    const metric = <S extends MetricsService>(
      name: RunMetric<S> | 'Overdue',
      service: S,
      dimensions: Record<string, string> = {},
      period = DAY,
    ) => runMetric(namespace, name, service, dimensions, period);
    // The scan publishes the counts by status once a run: its Maximum per day is the day's picture.
    const byStatus = CREDENTIAL_STATUSES.map(
      (status) =>
        new Metric({
          namespace,
          metricName: 'Credentials',
          dimensionsMap: { service: 'reauth-scan', status },
          statistic: 'Maximum',
          period: DAY,
          label: status,
        }),
    );
    const errors: IMetric[] = Object.entries(props.functions).map(([name, fn]) =>
      fn.metricErrors({ period: HOUR, statistic: 'Sum', label: name }),
    );
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `${Stack.of(this).stackName}-${Stack.of(this).region}`,
      defaultInterval: Duration.days(30),
      widgets: [
        [
          new GraphWidget({ title: 'Credentials by state', left: byStatus, stacked: true, width: 12 }),
          new SingleValueWidget({
            title: 'Overdue (pending past the deadline)',
            metrics: [metric('Overdue', 'reauth-scan', {}, DAY).with({ statistic: 'Maximum' })],
            width: 6,
          }),
          new AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 6 }),
        ],
        [
          new GraphWidget({
            title: 'Findings per scan',
            left: [metric('Findings', 'reauth-scan')],
            width: 8,
          }),
          new GraphWidget({
            title: 'Owners told, reminded, escalated',
            left: [
              new MathExpression({
                expression: 'scan + enforce + events',
                usingMetrics: {
                  scan: metric('Notified', 'reauth-scan'),
                  enforce: metric('Notified', 'reauth-enforce'),
                  events: metric('RequestsOpened', 'reauth-events'),
                },
                label: 'notified',
                period: DAY,
              }),
              metric('Reminded', 'reauth-enforce'),
              metric('Escalated', 'reauth-enforce'),
            ],
            width: 8,
          }),
          new GraphWidget({
            title: 'Reauthorized, disabled, rotated, held back',
            left: [
              metric('Reauthorized', 'reauth-slack'),
              // At the deadline (enforce) or on the owner's Disable now (the Slack worker).
              new MathExpression({
                expression: 'deadline + owner',
                usingMetrics: {
                  deadline: metric('Disabled', 'reauth-enforce'),
                  owner: metric('Disabled', 'reauth-slack-worker'),
                },
                label: 'Disabled',
                period: DAY,
              }),
              metric('Rotated', 'reauth-slack-worker'),
              metric('Restored', 'reauth-slack-worker'),
              metric('DisableCancelled', 'reauth-enforce'),
              metric('HeldBack', 'reauth-enforce'),
            ],
            width: 8,
          }),
        ],
        [
          new GraphWidget({ title: 'Job errors', left: errors, width: 12 }),
          new GraphWidget({
            title: 'Slack and trust-change events',
            left: [
              metric('Clicks', 'reauth-slack', {}, HOUR),
              metric('UnsignedRequests', 'reauth-slack', {}, HOUR),
              metric('Refused', 'reauth-slack', {}, HOUR),
              metric('Replayed', 'reauth-slack', {}, HOUR),
              metric('Events', 'reauth-events', {}, HOUR),
              metric('EventsFailed', 'reauth-events', {}, HOUR),
            ],
            width: 12,
          }),
        ],
      ],
    });
  }
}
