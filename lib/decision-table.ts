import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import {
  EXPIRES_AT,
  OPEN_BY_OWNER_INDEX,
  STATE_BY_ACCOUNT_INDEX,
  TABLE_KEYS,
} from '../lambdas/shared/table-layout';

/**
 * The decision store and compliance record: current state and append-only decisions per credential.
 * Keys come from `lambdas/shared/table-layout.ts`, so the table and the store adapter cannot drift.
 * It outlives the stack: retained on delete, deletion-protected, recoverable to any second of the
 * last 35 days (point-in-time recovery also backs the compliance export).
 */
export class DecisionTable extends TableV2 {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      globalSecondaryIndexes: [
        {
          indexName: STATE_BY_ACCOUNT_INDEX.name,
          partitionKey: { name: STATE_BY_ACCOUNT_INDEX.partitionKey, type: AttributeType.STRING },
          sortKey: { name: STATE_BY_ACCOUNT_INDEX.sortKey, type: AttributeType.STRING },
          projectionType: ProjectionType.ALL,
        },
        {
          indexName: OPEN_BY_OWNER_INDEX.name,
          partitionKey: { name: OPEN_BY_OWNER_INDEX.partitionKey, type: AttributeType.STRING },
          sortKey: { name: OPEN_BY_OWNER_INDEX.sortKey, type: AttributeType.STRING },
          // The summary tells owners from these items alone (and reads each again before it records).
          projectionType: ProjectionType.ALL,
        },
      ],
      // Leases, remembered Slack users and messages, and key slots carry it: gone a while after expiry.
      timeToLiveAttribute: EXPIRES_AT,
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // An AWS managed key: a customer key would add kms grants to every reader and writer for no
      // control the table's IAM grants do not already give.
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
