import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { OPEN_BY_OWNER_INDEX, STATE_BY_ACCOUNT_INDEX, TABLE_KEYS } from '../table-layout';

/**
 * Creates the decision table in the local emulator with the layout the CDK stack deploys (same keys
 * and indexes, from one module). Does nothing when it exists. The CLI creates its default table on
 * the emulator with it; the demos and the tests their own.
 */
export async function ensureDecisionTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey } = TABLE_KEYS;
  const index = STATE_BY_ACCOUNT_INDEX;
  const open = OPEN_BY_OWNER_INDEX;
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          partitionKey,
          sortKey,
          index.partitionKey,
          index.sortKey,
          open.partitionKey,
          open.sortKey,
        ].map((name) => ({
          AttributeName: name,
          AttributeType: 'S',
        })),
        KeySchema: [
          { AttributeName: partitionKey, KeyType: 'HASH' },
          { AttributeName: sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: open.name,
            KeySchema: [
              { AttributeName: open.partitionKey, KeyType: 'HASH' },
              { AttributeName: open.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
}
