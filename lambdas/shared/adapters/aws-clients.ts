import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Every AWS client reauth uses, created once per process. */
export interface AwsClients {
  iam: IAMClient;
  secretsManager: SecretsManagerClient;
  dynamodb: DynamoDBClient;
  /** DynamoDB with plain JS values; undefined attributes are dropped. */
  documents: DynamoDBDocumentClient;
  sts: STSClient;
  sqs: SQSClient;
  events: EventBridgeClient;
  s3: S3Client;
}

/**
 * Builds the clients from the standard AWS SDK settings (region, credentials, `AWS_ENDPOINT_URL`),
 * so the same code runs in Lambda and against the local emulator. IAM and Secrets Manager throttle
 * per account without publishing a rate: adaptive retry slows their clients down instead of failing
 * the scan. The others retry with backoff only (standard): one throttled DynamoDB write is no reason
 * to rate-limit every later write of the run, which adaptive retry would do.
 */
export function createAwsClients(): AwsClients {
  const common = { retryMode: 'standard', maxAttempts: 10 } as const;
  const perAccountQuota = { retryMode: 'adaptive', maxAttempts: 10 } as const;
  const dynamodb = new DynamoDBClient(common);
  return {
    // IAM is global; its endpoint lives in us-east-1 whatever the function's region.
    iam: new IAMClient({ ...perAccountQuota, region: 'us-east-1' }),
    secretsManager: new SecretsManagerClient(perAccountQuota),
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
    sts: new STSClient(common),
    sqs: new SQSClient(common),
    events: new EventBridgeClient(common),
    // Path-style addressing when pointed at an endpoint (the local emulator has no bucket subdomains).
    s3: new S3Client({ ...common, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }),
  };
}
