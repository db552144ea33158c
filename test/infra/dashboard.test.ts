import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIAL_STATUSES } from '../../lambdas/shared/domain/decision';
import { METRICS_NAMESPACE, RUN_METRICS, STATE_METRICS } from '../../lambdas/shared/metrics';
import { buildApp } from '../../lib/reauth-app';

interface Widget {
  type: string;
  properties: {
    title?: string;
    metrics?: unknown[][];
    alarms?: string[];
  };
}

const outdir = mkdtempSync(join(tmpdir(), 'reauth-dashboard-'));
let template: Template;
let widgets: Widget[];
let functionIds: string[];

/** A CloudFormation value with its references written as `<LogicalId>` or `<LogicalId.Attr>`. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(sep);
  }
  if ('Ref' in v) return `<${v.Ref}>`;
  if ('Fn::GetAtt' in v) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  throw new Error(`unexpected CloudFormation value ${JSON.stringify(value)}`);
}

beforeAll(() => {
  const { app, stack } = buildApp({ bundling: false, outdir: join(outdir, 'cdk.out') });
  const assembly = app.synth(); // throws if cdk-nag has an unacknowledged finding
  template = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  widgets = JSON.parse(flatten(dashboards[0]?.Properties.DashboardBody)).widgets;
  functionIds = [
    stack.reauth.scanJob.function.function,
    stack.reauth.enforceJob.function.function,
    stack.reauth.slackEndpoint.endpoint.function,
    stack.reauth.slackEndpoint.worker.function,
    stack.reauth.trustEvents.consumer.function,
    stack.reauth.exportJob.function.function,
  ].map((fn) => stack.getLogicalId(fn.node.defaultChild as CfnElement));
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const widget = (title: string): Widget => {
  const found = widgets.find((w) => w.properties.title === title);
  if (!found) throw new Error(`no widget "${title}" in ${widgets.map((w) => w.properties.title)}`);
  return found;
};

/** A metric line of a widget: [namespace, name, dimension, value, …, options]. */
const isMetric = (line: unknown[]) => typeof line[0] === 'string' && line[0] !== '...';

describe('the reauth dashboard', () => {
  it('shows credentials by state, findings, notifications, reauthorizations, disables, overdue, errors and alarms', () => {
    expect(widgets.map((w) => w.properties.title)).toEqual([
      'Credentials by state',
      'Overdue (pending past the deadline)',
      'Alarms',
      'Findings per scan',
      'Owners told, reminded, escalated',
      'Reauthorized, disabled, rotated, held back',
      'Job errors',
      'Slack and trust-change events',
    ]);
  });

  it('graphs every credential status the scan publishes, stacked', () => {
    const lines = widget('Credentials by state').properties.metrics ?? [];
    expect(lines.map((l) => l.slice(0, 6))).toEqual(
      CREDENTIAL_STATUSES.map((status) => [
        METRICS_NAMESPACE,
        'Credentials',
        'service',
        'reauth-scan',
        'status',
        status,
      ]),
    );
  });

  it('reads only metrics a reauth function publishes', () => {
    const published = new Set<string>([
      ...Object.entries(RUN_METRICS).flatMap(([service, names]) => names.map((n) => `${service}/${n}`)),
      ...STATE_METRICS.map((n) => `reauth-scan/${n}`),
    ]);
    const read = widgets
      .flatMap((w) => w.properties.metrics ?? [])
      .filter((line) => isMetric(line) && line[0] === METRICS_NAMESPACE)
      .map((line) => `${line[3]}/${line[1]}`);

    expect(read.length).toBeGreaterThan(15);
    expect(read.filter((m) => !published.has(m))).toEqual([]);
  });

  it('graphs the errors of all six functions', () => {
    const lines = (widget('Job errors').properties.metrics ?? []).filter(isMetric);

    expect(lines.every((l) => l[0] === 'AWS/Lambda' && l[1] === 'Errors')).toBe(true);
    expect(lines.map((l) => l[3])).toEqual(functionIds.map((id) => `<${id}>`));
  });

  it('shows the state of every alarm in the stack', () => {
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));

    expect(alarmIds.length).toBeGreaterThanOrEqual(12);
    expect(widget('Alarms').properties.alarms?.slice().sort()).toEqual(
      alarmIds.map((id) => `<${id}.Arn>`).sort(),
    );
  });

  it('is named after the name prefix and region, and its URL is an output', () => {
    const [id, dashboard] = Object.entries(template.findResources('AWS::CloudWatch::Dashboard'))[0] ?? [];
    expect(flatten(dashboard?.Properties.DashboardName)).toBe('reauth-us-east-1');
    expect(flatten(template.findOutputs('DashboardUrl').DashboardUrl?.Value)).toBe(
      `https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=<${id}>`,
    );
  });
});
