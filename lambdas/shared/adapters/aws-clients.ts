import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// Every client is built from the standard AWS SDK settings (region, credentials, `AWS_ENDPOINT_URL`),
// so the same code runs in Lambda and against the local emulator. One factory per client, and no
// object that holds them all, is what lets esbuild leave out of a Lambda's bundle the SDK packages of
// the clients that function never builds (S3 alone is 100 KB minified); the handlers build theirs once,
// at cold start.
//
// IAM and Secrets Manager throttle per account without publishing a rate: adaptive retry slows their
// clients down instead of failing the scan. The others retry with backoff only (standard): one
// throttled DynamoDB write is no reason to rate-limit every later write of the run, which adaptive
// retry would do.
const standard = { retryMode: 'standard', maxAttempts: 10 } as const;
const perAccountQuota = { retryMode: 'adaptive', maxAttempts: 10 } as const;

/** Credentials of an assumed role (a member account's), as STS AssumeRole gives them. */
export interface AssumedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration?: Date;
}

/** `credentials`: a member account's (an assumed role's); absent, the function's own. */
export function createIamClient(credentials?: AssumedCredentials): IAMClient {
  // IAM is global; its endpoint lives in us-east-1 whatever the function's region.
  const iam = new IAMClient({ ...perAccountQuota, region: 'us-east-1', ...(credentials && { credentials }) });
  // IAM's LimitExceeded is a quota (10 managed policies on a role, 2 keys on a user), which no wait
  // lifts; the SDK's retry reads `LimitExceededException` as throttling and would retry it for
  // minutes. Named `LimitExceeded`, IAM's own error code, it fails at once, for the caller to handle.
  // Outermost in the deserialize step: it sees the parsed error, before the retry does.
  iam.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (error instanceof Error && error.name === 'LimitExceededException') error.name = 'LimitExceeded';
        throw error;
      }
    },
    { step: 'deserialize', priority: 'high', name: 'reauthQuotaIsNotThrottling' },
  );
  return iam;
}

/** `credentials`: a member account's (an assumed role's); absent, the function's own. */
export function createSecretsManagerClient(credentials?: AssumedCredentials): SecretsManagerClient {
  return new SecretsManagerClient({ ...perAccountQuota, ...(credentials && { credentials }) });
}

export function createOrganizationsClient(): OrganizationsClient {
  // Organizations is global too, served from us-east-1.
  return new OrganizationsClient({ ...standard, region: 'us-east-1' });
}

/** DynamoDB, and the document client over it: plain JS values, undefined attributes dropped. */
export function createDynamoDBClients(): { dynamodb: DynamoDBClient; documents: DynamoDBDocumentClient } {
  const dynamodb = new DynamoDBClient(standard);
  return {
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
  };
}

export function createStsClient(): STSClient {
  return new STSClient(standard);
}

export function createSqsClient(): SQSClient {
  return new SQSClient(standard);
}

export function createLambdaClient(): LambdaClient {
  return new LambdaClient(standard);
}

export function createEventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient(standard);
}

/**
 * CloudTrail's event history is per region: IAM's events are in us-east-1's (IAM is global), a
 * secret's in its own region's. `region` absent: the configured one; `credentials` absent: our own.
 */
export function createCloudTrailClient(region?: string, credentials?: AssumedCredentials): CloudTrailClient {
  return new CloudTrailClient({
    ...standard,
    ...(region && { region }),
    ...(credentials && { credentials }),
  });
}

/** KMS: the scan and enforce jobs sign their population checkpoints; the CLI reads the public key. */
export function createKmsClient(): KMSClient {
  return new KMSClient(standard);
}

export function createS3Client(): S3Client {
  // Path-style addressing when pointed at an endpoint (the local emulator has no bucket subdomains).
  return new S3Client({ ...standard, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });
}

/** Every AWS client reauth uses. */
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

/** All of them, for the CLI and the local scripts; a Lambda builds only those it uses (see above). */
export function createAwsClients(): AwsClients {
  return {
    iam: createIamClient(),
    secretsManager: createSecretsManagerClient(),
    ...createDynamoDBClients(),
    sts: createStsClient(),
    sqs: createSqsClient(),
    events: createEventBridgeClient(),
    s3: createS3Client(),
  };
}

/**
 * CloudFormation in `region` (a stack lives in one region; its id names it). `credentials`: a member
 * account's; absent, the function's own.
 */
export function createCloudFormationClient(
  region?: string,
  credentials?: AssumedCredentials,
): CloudFormationClient {
  return new CloudFormationClient({
    ...standard,
    ...(region && { region }),
    ...(credentials && { credentials }),
  });
}
