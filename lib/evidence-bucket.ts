import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectLockRetention,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { EnvBinding } from './reauth-function';

/** Properties of the {@link EvidenceBucket}. */
export interface EvidenceBucketProps {
  /** Exported objects are locked (Object Lock, governance mode) this many days: `compliance.exportRetentionDays`. */
  readonly retentionDays: number;
  /**
   * Objects move to Glacier Instant Retrieval this many days after they are written.
   * @default 90
   */
  readonly infrequentAccessAfterDays?: number;
}

/** Actions `ExportTableToPointInTime` needs on the export's objects: it writes with the caller's permissions. */
export const EXPORT_OBJECT_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:PutObjectAcl'] as const;
/** What S3 asks of the caller's key permissions when it encrypts an export's objects with the bucket key. */
export const EXPORT_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Encrypt'] as const;

/**
 * The compliance evidence: a versioned, Object Lock (governance) bucket for the decision table's
 * exports, encrypted with a rotating customer key, SSL-only, with no public access, server access
 * logs in a second bucket, retained when the stack goes. Compliance reads the exports here.
 */
export class EvidenceBucket extends Construct {
  readonly bucket: Bucket;
  /** Encrypts the exports; readers of the evidence need kms:Decrypt on it. */
  readonly key: Key;
  /** Server access logs of {@link bucket}: who read or wrote which evidence. */
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: EvidenceBucketProps) {
    super(scope, id);
    // S3 delivers the access logs under a bucket policy, not the log-delivery ACL (ACLs stay disabled).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    // Logs and replaced versions are kept a month longer than the lock keeps the evidence.
    const retentionAndAMonth = Duration.days(props.retentionDays + 30);

    // Server access logs cannot be delivered to an SSE-KMS bucket: S3-managed keys here.
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [{ expiration: retentionAndAMonth, noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "This bucket holds the evidence bucket's server access logs; logging its own access would log into itself (or need a third bucket with the same finding). S3 writes here through the logging service principal only.",
    });

    this.key = new Key(this, 'Key', {
      description: "Encrypts reauth's compliance exports of the decision table",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket rather than per object: fewer KMS calls for an export's many parts.
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.governance(Duration.days(props.retentionDays)),
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'evidence/',
      lifecycleRules: [
        {
          transitions: [
            {
              storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(props.infrequentAccessAfterDays ?? 90),
            },
          ],
          // A version replaced or deleted is kept as long as the lock would have kept it, and a month more.
          noncurrentVersionExpiration: retentionAndAMonth,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /**
   * EXPORT_BUCKET plus what `ExportTableToPointInTime` needs to write under `prefix/`: the object
   * actions AWS documents for exports, and the bucket key's GenerateDataKey/Encrypt.
   */
  bindExportWrite(prefix: string): EnvBinding {
    return {
      bind: (fn) => {
        fn.addToRolePolicy(
          new PolicyStatement({
            actions: [...EXPORT_OBJECT_ACTIONS],
            resources: [this.bucket.arnForObjects(`${prefix}/*`)],
          }),
        );
        this.key.grant(fn, ...EXPORT_KEY_ACTIONS);
        const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement);
        if (fn.role) {
          Validations.of(fn.role).acknowledge({
            id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}/*]`,
            reason: `DynamoDB writes each export under ${prefix}/<full|incremental>/<date>/AWSDynamoDB/<export id>/ with the caller's permissions; the object keys are chosen by DynamoDB, so the grant covers the export prefix of the evidence bucket only.`,
          });
        }
        return this.bucket.bucketName;
      },
    };
  }

  /** EXPORT_KMS_KEY_ARN: exports are encrypted with the bucket's key (granted by {@link bindExportWrite}). */
  bindKeyArn(): EnvBinding {
    return { bind: () => this.key.keyArn };
  }
}

/** What the export job does with its own records in the decision table: read them, add one, update its status. */
export const EXPORT_RECORD_ACTIONS = [
  'dynamodb:Query',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
] as const;

/**
 * TABLE_NAME for the export job: access to the table itself only (its EXPORT# records), none to its
 * indexes, and no delete (`bindTable('write')` would add the index and reads the job never makes).
 */
export function bindExportRecords(table: TableV2): EnvBinding {
  return {
    bind: (fn) => {
      fn.addToRolePolicy(
        new PolicyStatement({ actions: [...EXPORT_RECORD_ACTIONS], resources: [table.tableArn] }),
      );
      return table.tableName;
    },
  };
}

/**
 * TABLE_ARN plus what a compliance export of the table needs: ExportTableToPointInTime on the table
 * itself (not its indexes) and DescribeExport on its exports.
 */
export function bindTableExport(table: TableV2): EnvBinding {
  return {
    bind: (fn) => {
      fn.addToRolePolicy(
        new PolicyStatement({ actions: ['dynamodb:ExportTableToPointInTime'], resources: [table.tableArn] }),
      );
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['dynamodb:DescribeExport'],
          resources: [`${table.tableArn}/export/*`],
        }),
      );
      const tableId = Stack.of(table).getLogicalId(table.node.defaultChild as CfnElement);
      if (fn.role) {
        Validations.of(fn.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/export/*]`,
          reason:
            "dynamodb:DescribeExport reads the status of this table's own exports (ARNs <table>/export/<id>, named by DynamoDB when an export starts), to record each one COMPLETED or FAILED on the next run.",
        });
      }
      return table.tableArn;
    },
  };
}
