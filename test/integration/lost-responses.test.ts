import { describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { seedAccount } from '../../scripts/local/seed';
import { useFaultyAws } from '../support/faulty-aws';

// A third of AWS's answers are lost after the emulator applied the call: the SDK retries with the
// same ClientRequestToken, which DynamoDB (and the emulator) treats as the same transaction.
const aws = useFaultyAws({ rate: 0.3, kinds: ['resetAfter'], seed: 11 });
const { emulator, clients } = aws;
const ACCOUNT = '123456789012';
const TABLE = 'lost-responses-under-test';
const policy = parsePolicyConfig({});

describe('a scan whose answers are lost on the way back', () => {
  it('counts exactly the decisions it wrote, and writes each once', async () => {
    const start = new Date();
    await seedAccount(
      emulator,
      clients,
      {
        users: Array.from({ length: 12 }, (_, i) => ({
          name: `svc-${i}`,
          tags: { 'reauth:owner': 'UOWNER' },
          keys: [{ createdDaysAgo: 300, usedDaysAgo: 100 + i }],
        })),
        secrets: [{ name: 'app/idle', createdDaysAgo: 300, tags: { 'reauth:owner': 'UOWNER' } }],
        roles: [],
      },
      start,
    );
    await emulator.unfreeze();
    await ensureDecisionTable(clients.dynamodb, TABLE);
    const before = aws.proxy.injected.resetAfter;

    const report = await scanAccount(
      {
        iam: aws.faulty.iam,
        secretsManager: aws.faulty.secretsManager,
        stacks: stackOwnersOfThisAccount(),
        store: createDecisionStore(aws.faulty.documents, TABLE),
      },
      { accountId: ACCOUNT, policy, now: new Date() },
    );

    const store = createDecisionStore(clients.documents, TABLE);
    const histories = await Promise.all(
      [...(await store.loadStates(ACCOUNT)).keys()].map((id) => store.history(id)),
    );
    expect(aws.proxy.injected.resetAfter - before).toBeGreaterThan(0);
    expect(histories.map((h) => h.map((d) => d.action))).toEqual(histories.map(() => ['flag']));
    expect(histories).toHaveLength(13);
    expect(report.decisionsWritten).toBe(13);
  });
});
