import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MANAGED_BY_TAG, POLICY_ID_TAG, Reauth } from 'reauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicyConfig, parsePolicyConfigText, policyIdOf } from '../../lambdas/shared/domain/policy';
import { bundleText, shipCommands } from '../../lib/reauth-function';

// Someone else's CDK app, importing the construct by the package's name: their own stack, their own alarm topic and Slack secret, and two copies of
// reauth side by side (staging beside production), one policy given as an object, one as a file.
const STAGING_POLICY = {
  mode: 'report',
  fallbackOwner: '#platform-security',
  tiers: { critical: { idleDays: 15 } },
} as const;

const outdir = mkdtempSync(join(tmpdir(), 'reauth-compose-'));
let stack: Stack;
let staging: Reauth;
let production: Reauth;
let template: Template;
let violations: unknown[];

beforeAll(() => {
  const app = new App({ outdir, context: { [BUNDLING_STACKS]: [] } });
  stack = new Stack(app, 'PlatformSecurity', { env: { region: 'us-east-1' } });
  const pagerKey = new Key(stack, 'PagerKey', { enableKeyRotation: true });
  const pager = new Topic(stack, 'Pager', { masterKey: pagerKey, enforceSSL: true });
  staging = new Reauth(stack, 'Staging', {
    namePrefix: 'staging',
    policy: STAGING_POLICY,
    alarmTopic: pager,
  });
  production = new Reauth(stack, 'Production', {
    namePrefix: 'prod',
    policy: join(import.meta.dirname, '../../reauth.config.json'),
    slackSecret: Secret.fromSecretNameV2(stack, 'ProdSlack', 'reauth/slack'),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth(); // throws if cdk-nag has an unacknowledged finding
  template = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
  const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
  violations = report.pluginReports.flatMap((r: { violations: unknown[] }) => r.violations);
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

type Tags = { Key: string; Value: string }[] | Record<string, string>;
type Resource = { Type: string; Properties?: { Tags?: Tags; [k: string]: unknown } };
const resources = () => Object.entries(template.toJSON().Resources as Record<string, Resource>);
/** Tags as a record, whether the resource type lists them (most) or maps them (API Gateway v2). */
const tagsOf = (r: Resource): Record<string, string> => {
  const tags = r.Properties?.Tags ?? [];
  return Array.isArray(tags) ? Object.fromEntries(tags.map((t) => [t.Key, t.Value])) : tags;
};

describe('the Reauth construct in another stack', () => {
  it('passes cdk-nag with no violation', () => {
    expect(violations).toEqual([]);
  });

  it('gives each copy its own bus and dashboard, named from its prefix', () => {
    const names = (type: string, property: string) =>
      Object.values(template.findResources(type))
        .map((r) => r.Properties[property])
        .sort();

    expect(names('AWS::Events::EventBus', 'Name')).toEqual(['prod', 'staging']);
    expect(names('AWS::CloudWatch::Dashboard', 'DashboardName')).toEqual([
      'prod-us-east-1',
      'staging-us-east-1',
    ]);
  });

  it("gives each copy's metrics their own namespace, which its functions publish to and its alarms read", () => {
    const namespaces = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (r) => r.Properties.Environment?.Variables?.POWERTOOLS_METRICS_NAMESPACE,
    );
    expect(namespaces.filter((n) => n === 'staging')).toHaveLength(6);
    expect(namespaces.filter((n) => n === 'prod')).toHaveLength(6);
    const filters = Object.values(template.findResources('AWS::Logs::MetricFilter')).map(
      (r) => r.Properties.MetricTransformations[0].MetricNamespace,
    );
    expect(filters.sort()).toEqual(['prod', 'staging']);
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')).map((r) =>
      JSON.stringify(r.Properties.DashboardBody),
    );
    for (const prefix of ['prod', 'staging']) {
      expect(dashboards.filter((body) => body.includes(`\\"${prefix}\\",\\"Findings\\"`))).toHaveLength(1);
    }
  });

  it('creates a Slack secret under reauth/slack/<prefix>- for a copy given none, and uses the one given', () => {
    const secrets = Object.values(template.findResources('AWS::SecretsManager::Secret'));

    expect(secrets).toHaveLength(1);
    expect(JSON.stringify(secrets[0]?.Properties.Name)).toContain('"reauth/slack/staging-"');
    expect(production.slackSecret.secretName).toBe('reauth/slack');
  });

  it('publishes the alarms of a copy given a topic to that topic, and creates one for the other', () => {
    const pagerId = stack.getLogicalId(stack.node.findChild('Pager').node.defaultChild as never);
    const alarmsTo = (prefix: string) =>
      Object.entries(template.findResources('AWS::CloudWatch::Alarm'))
        .filter(([id]) => id.startsWith(prefix))
        .map(([, a]) => JSON.stringify(a.Properties.AlarmActions));

    expect(alarmsTo('Staging').length).toBeGreaterThan(0);
    for (const actions of alarmsTo('Staging')) expect(actions).toBe(JSON.stringify([{ Ref: pagerId }]));
    expect(Object.keys(template.findResources('AWS::SNS::Topic')).sort()).toEqual([
      pagerId,
      stack.getLogicalId(production.alarmTopic.node.defaultChild as never),
    ]);
  });

  it('tags everything of each copy but its roles with reauth:managed-by and its own reauth:policy-id', () => {
    expect(staging.policyId).toBe(policyIdOf(parsePolicyConfig(STAGING_POLICY)));
    expect(production.policyId).not.toBe(staging.policyId);
    const ours = resources().filter(([id]) => id.startsWith('Staging') || id.startsWith('Production'));
    const tagged = ours.filter(([, r]) => r.Properties?.Tags);

    expect(tagged.length).toBeGreaterThan(30);
    for (const [id, r] of tagged) {
      expect(tagsOf(r), id).toMatchObject({
        [MANAGED_BY_TAG]: 'reauth',
        [POLICY_ID_TAG]: id.startsWith('Staging') ? staging.policyId : production.policyId,
      });
    }
    // A role tagged reauth:* is in scope of reauth's own scan.
    for (const [id, r] of ours.filter(([, r]) => r.Type === 'AWS::IAM::Role')) {
      expect(
        Object.keys(tagsOf(r)).filter((k) => k.startsWith('reauth:')),
        id,
      ).toEqual([]);
    }
    // Nothing of the user's own is tagged.
    expect(
      tagsOf(
        template.toJSON().Resources[
          stack.getLogicalId(stack.node.findChild('Pager').node.defaultChild as never)
        ],
      ),
    ).toEqual({});
  });

  it('ships a policy given as an object in the bundle as the policy it validated', () => {
    const dir = mkdtempSync(join(outdir, 'bundle-'));
    const text = readFileSync(join(import.meta.dirname, '../../reauth.config.json'), 'utf8');
    const binding = bundleText(JSON.stringify(parsePolicyConfigText(text)), 'policy.json');

    for (const command of binding.ships ? shipCommands(binding.ships, dir) : [])
      execFileSync('bash', ['-c', command]);

    expect(binding.bind(undefined as never)).toBe('policy.json');
    expect(policyIdOf(parsePolicyConfigText(readFileSync(join(dir, 'policy.json'), 'utf8')))).toBe(
      production.policyId,
    );
  });

  it('refuses a name prefix that cannot start a physical name, and a bad policy, naming the field', () => {
    const other = new Stack(new App(), 'Other');

    expect(() => new Reauth(other, 'Bad', { namePrefix: 'my_reauth' })).toThrow(/namePrefix: "my_reauth"/);
    expect(
      () => new Reauth(other, 'BadPolicy', { policy: { tiers: { critical: { idleDays: 0 } } } }),
    ).toThrow(/Other\/BadPolicy policy: tiers\.critical\.idleDays: /);
  });
});
