import type { EmulatorControl } from '../../scripts/emulator/emulator';
import { emulatorDaysAgo } from './emulator';

/**
 * Forty services, each granted whole (`sqs:*`) by a broad hand-written policy: what a role granted far
 * more than it uses looks like, for the usage and right-size tests.
 */
export const FORTY_SERVICES: string[] = [
  's3',
  'sqs',
  'kms',
  'ec2',
  'dynamodb',
  'lambda',
  'sns',
  'logs',
  'cloudwatch',
  'secretsmanager',
  'ssm',
  'ecr',
  'ecs',
  'eks',
  'rds',
  'redshift',
  'glue',
  'athena',
  'kinesis',
  'firehose',
  'states',
  'events',
  'apigateway',
  'cloudformation',
  'codebuild',
  'codepipeline',
  'codecommit',
  'route53',
  'acm',
  'elasticloadbalancing',
  'autoscaling',
  'elasticache',
  'es',
  'sagemaker',
  'batch',
  'backup',
  'cognito-idp',
  'ses',
  'xray',
  'organizations',
];

/**
 * What the right-size tests' principals used, in the emulator's service last-accessed data: s3 3 days
 * ago, sqs 20, kms 50 (each dated by the emulator's clock).
 */
export async function seedThreeUses(emulator: EmulatorControl, arn: string): Promise<void> {
  for (const [service, days] of [
    ['kms', 50],
    ['sqs', 20],
    ['s3', 3],
  ] as const)
    await emulatorDaysAgo(emulator, days, () => emulator.seedServiceUsage({ arn, service }));
}
