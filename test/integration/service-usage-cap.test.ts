import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  GenerateCredentialReportCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { serviceUsageReader } from '../../lambdas/shared/adapters/service-usage';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { SERVICE_USAGE_PER_RUN, scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { useEmulator } from '../support/emulator';

/**
 * The first scan of a large account opens a request for every idle key at once: the usage reads are
 * capped per run (IAM's jobs take seconds each), and the requests past the cap go without the line
 * until the next run reads them.
 */

const { emulator, clients } = useEmulator();
const TABLE = 'service-usage-cap-under-test';
const ACCOUNT = '123456789012';
const USERS = SERVICE_USAGE_PER_RUN + 5;
const store = createDecisionStore(clients.documents, TABLE);

beforeAll(async () => {
  await emulator.reset();
  await ensureDecisionTable(clients.dynamodb, TABLE);
  // Keys made 400 days ago and never used: every one a finding on the first scan.
  await emulator.freeze(new Date(Date.now() - 400 * 86_400_000));
  for (let i = 0; i < USERS; i++) {
    await clients.iam.send(
      new CreateUserCommand({ UserName: `idle-${i}`, Tags: [{ Key: 'owner', Value: 'U0OWN' }] }),
    );
    await clients.iam.send(new CreateAccessKeyCommand({ UserName: `idle-${i}` }));
  }
  await emulator.unfreeze();
  await clients.iam.send(new GenerateCredentialReportCommand({}));
});

afterAll(() => emulator.unfreeze());

const scan = () =>
  scanAccount(
    {
      iam: clients.iam,
      secretsManager: clients.secretsManager,
      store,
      stacks: stackOwnersOfThisAccount(),
      serviceUsage: serviceUsageReader(clients.iam, { now: new Date(), sleep: async () => {} }),
    },
    { accountId: ACCOUNT, policy: parsePolicyConfig({}), now: new Date() },
  );

it('reads at most SERVICE_USAGE_PER_RUN principals a run; the requests past it get the line at the next run', async () => {
  const first = await scan();
  expect(first.rows.filter((row) => row.kind === 'access-key' && row.triggers.length > 0)).toHaveLength(
    USERS,
  );
  expect(first.serviceUsage.principals).toBe(SERVICE_USAGE_PER_RUN);

  const { states } = await store.loadAccount(ACCOUNT);
  const keys = [...states.values()].filter((s) => s.kind === 'access-key');
  expect(keys.filter((s) => s.status === 'pending')).toHaveLength(USERS);
  expect(keys.filter((s) => s.serviceUsage !== undefined)).toHaveLength(SERVICE_USAGE_PER_RUN);
  // The next run reads the requests left out (their reminders then show the line), and no other.
  expect((await scan()).serviceUsage.principals).toBe(USERS - SERVICE_USAGE_PER_RUN);
  const read = [...(await store.loadStates(ACCOUNT)).values()].filter((s) => s.kind === 'access-key');
  expect(read.filter((s) => s.serviceUsage !== undefined)).toHaveLength(USERS);
  expect((await scan()).serviceUsage.principals).toBe(0);
});
