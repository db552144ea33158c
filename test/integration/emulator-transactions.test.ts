import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { useEmulator } from '../support/emulator';

// The emulator saves only the items a transaction touches (see server.py): it must still roll back.
const { clients } = useEmulator();
const TABLE = 'transactions-under-test';
const get = async (pk: string, sk: string) =>
  (await clients.documents.send(new GetCommand({ TableName: TABLE, Key: { pk, sk } }))).Item;

beforeAll(() => ensureDecisionTable(clients.dynamodb, TABLE));

describe('DynamoDB transactions in the emulator', () => {
  it('undoes the puts that went through when a later condition fails', async () => {
    await clients.documents.send(
      new PutCommand({ TableName: TABLE, Item: { pk: 'A', sk: 'STATE', seq: 1 } }),
    );
    await clients.documents.send(
      new PutCommand({ TableName: TABLE, Item: { pk: 'B', sk: 'STATE', seq: 1 } }),
    );

    const attempt = clients.documents.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: TABLE, Item: { pk: 'A', sk: 'STATE', seq: 2 } } },
          { Put: { TableName: TABLE, Item: { pk: 'A', sk: 'NEW' } } },
          {
            Put: {
              TableName: TABLE,
              Item: { pk: 'B', sk: 'STATE', seq: 2 },
              ConditionExpression: 'seq = :zero',
              ExpressionAttributeValues: { ':zero': 0 },
            },
          },
        ],
      }),
    );

    await expect(attempt).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    expect(await get('A', 'STATE')).toMatchObject({ seq: 1 });
    expect(await get('A', 'NEW')).toBeUndefined();
    expect(await get('B', 'STATE')).toMatchObject({ seq: 1 });
  });

  it('applies every put when all conditions hold, also under concurrent transactions', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        clients.documents.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: TABLE,
                  Item: { pk: `C${n}`, sk: 'STATE', seq: 1 },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              { Put: { TableName: TABLE, Item: { pk: `C${n}`, sk: 'DECISION#1' } } },
            ],
          }),
        ),
      ),
    );

    for (let n = 0; n < 20; n++) {
      expect(await get(`C${n}`, 'STATE')).toMatchObject({ seq: 1 });
      expect(await get(`C${n}`, 'DECISION#1')).toBeDefined();
    }
  });
});
