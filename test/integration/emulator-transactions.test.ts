import { DeleteCommand, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { useEmulator } from '../support/emulator';
import { travelTo } from '../support/lambda';

// The emulator saves only the items a transaction touches (see server.py): it must still roll back.
const { emulator, clients } = useEmulator();
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

describe('ClientRequestToken in the emulator, as in DynamoDB', () => {
  /** A transaction that can only be applied once: its puts are conditional on the items not existing. */
  const appendOnce = (pk: string, token: string, note = 'first') =>
    new TransactWriteCommand({
      ClientRequestToken: token,
      TransactItems: [
        {
          Put: {
            TableName: TABLE,
            Item: { pk, sk: 'STATE', seq: 1, note },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: TABLE,
            Item: { pk, sk: 'DECISION#1', note },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    });

  it('answers a retry of a transaction that succeeded with success, without applying it again', async () => {
    await clients.documents.send(appendOnce('T1', 'token-t1'));
    // Applied a second time, the conditions would fail (TransactionCanceledException).
    await expect(clients.documents.send(appendOnce('T1', 'token-t1'))).resolves.toBeDefined();

    expect(await get('T1', 'STATE')).toMatchObject({ seq: 1, note: 'first' });
    // Without a token, or with another, the same transaction is a new one, and its conditions fail.
    await expect(clients.documents.send(appendOnce('T1', 'token-t1-again'))).rejects.toMatchObject({
      name: 'TransactionCanceledException',
    });
  });

  it('refuses the same token with different items (IdempotentParameterMismatchException)', async () => {
    await clients.documents.send(appendOnce('T2', 'token-t2'));

    await expect(clients.documents.send(appendOnce('T2', 'token-t2', 'changed'))).rejects.toMatchObject({
      name: 'IdempotentParameterMismatchException',
    });
    expect(await get('T2', 'STATE')).toMatchObject({ note: 'first' });
  });

  it('applies again a token whose first transaction failed: only success is remembered', async () => {
    await clients.documents.send(
      new PutCommand({ TableName: TABLE, Item: { pk: 'T3', sk: 'STATE', seq: 9 } }),
    );
    await expect(clients.documents.send(appendOnce('T3', 'token-t3'))).rejects.toMatchObject({
      name: 'TransactionCanceledException',
    });
    await clients.documents.send(new DeleteCommand({ TableName: TABLE, Key: { pk: 'T3', sk: 'STATE' } }));

    await clients.documents.send(appendOnce('T3', 'token-t3'));
    expect(await get('T3', 'DECISION#1')).toMatchObject({ note: 'first' });
  });

  it('forgets a token 10 minutes later on its clock, and on a reset', async () => {
    // This process's clock moves with the emulator's, so the SDK sees no clock skew.
    const start = new Date();
    try {
      await travelTo(emulator, start);
      await clients.documents.send(appendOnce('T4', 'token-t4'));
      await travelTo(emulator, new Date(start.getTime() + 9 * 60_000));
      await expect(clients.documents.send(appendOnce('T4', 'token-t4'))).resolves.toBeDefined();
      await travelTo(emulator, new Date(start.getTime() + 11 * 60_000));
      await expect(clients.documents.send(appendOnce('T4', 'token-t4'))).rejects.toMatchObject({
        name: 'TransactionCanceledException',
      });
    } finally {
      vi.useRealTimers();
      await emulator.unfreeze();
    }

    await clients.documents.send(appendOnce('T5', 'token-t5'));
    await emulator.reset();
    await ensureDecisionTable(clients.dynamodb, TABLE);
    await clients.documents.send(appendOnce('T5', 'token-t5', 'after the reset'));
    expect(await get('T5', 'STATE')).toMatchObject({ note: 'after the reset' });
  });
});
