import { afterAll, beforeAll, inject } from 'vitest';
import { createAwsClients } from '../../lambdas/shared/adapters/aws-clients';
import { connectEmulator, type EmulatorControl, emulatorEnv } from '../../scripts/emulator/emulator';
import { serveSessionPolicies } from '../../scripts/emulator/session-policies';

/**
 * The emulator of this worker, reset before the file's tests, and SDK clients pointed at it
 * (the same clients the Lambdas build, through `AWS_ENDPOINT_URL`). The session policy writer runs in
 * this process as the Lambda the enforcer invokes (`SESSION_POLICIES_FUNCTION`).
 */
export function useEmulator() {
  const endpoints = inject('emulatorEndpoints');
  // VITEST_POOL_ID is 1-based and at most maxWorkers: each worker owns one emulator.
  const endpoint = endpoints[(Number(process.env.VITEST_POOL_ID ?? 1) - 1) % endpoints.length];
  if (!endpoint) throw new Error('no emulator: run the tests with vitest (test/global-setup.ts starts it)');
  Object.assign(process.env, emulatorEnv(endpoint));
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  const emulator = connectEmulator(endpoint);
  let writer: Awaited<ReturnType<typeof serveSessionPolicies>> | undefined;
  beforeAll(async () => {
    await emulator.reset();
    writer = await serveSessionPolicies(emulator);
  });
  afterAll(() => writer?.close());
  return { emulator, clients: createAwsClients() };
}

/** Runs `act` with the emulator's clock `days` before now: what it creates or uses is dated then. */
export async function emulatorDaysAgo<T>(
  emulator: EmulatorControl,
  days: number,
  act: () => Promise<T>,
): Promise<T> {
  await emulator.freeze(new Date(Date.now() - days * 86_400_000));
  try {
    return await act();
  } finally {
    await emulator.unfreeze();
  }
}
