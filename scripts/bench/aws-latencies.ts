/**
 * How long AWS takes to answer a call, for the benchmarks: the emulator answers in microseconds, which
 * makes any design look fast. These are typical in-region figures from a Lambda function (AWS
 * publishes no latency for IAM or STS; these are the orders of magnitude commonly measured, and those
 * issue 21 measured against the hub): IAM is one global endpoint in us-east-1 and slow; STS AssumeRole
 * signs a session; DynamoDB answers single-item calls in single-digit milliseconds and transactions
 * in about twice that. A benchmark states that it used them, so its figures read as AWS-like, not
 * as measured on AWS.
 */
import type { CallName } from '../emulator/fault-proxy';

/** Milliseconds per call by service, and by operation where one differs from its service. */
export const AWS_LATENCY_MS = {
  iam: 100,
  // A page of up to 1,000 principals with their policies: issue 21 measured about 600 ms.
  'iam GetAccountAuthorizationDetails': 600,
  sts: 200,
  dynamodb: 8,
  'dynamodb TransactWriteItems': 20,
  'dynamodb Query': 12,
  secretsmanager: 30,
  sqs: 15,
  events: 20,
  organizations: 150,
  s3: 30,
} as const satisfies Record<string, number>;

export function awsLatencyMs({ service, operation }: CallName): number {
  const table: Record<string, number> = AWS_LATENCY_MS;
  return table[`${service} ${operation}`] ?? table[service] ?? 20;
}
