import { afterAll, beforeAll } from 'vitest';
import type { AwsClients } from '../../lambdas/shared/adapters/aws-clients';
import { type FaultKind, type FaultProxy, startFaultProxy } from '../../scripts/emulator/fault-proxy';
import { awsClientsAt } from '../../scripts/local/fault-scenarios';
import { useEmulator } from './emulator';

/**
 * The worker's emulator (reset before the file's tests, as `useEmulator`) behind a fault-injecting
 * proxy, started before the file's tests and stopped after them. `faulty` are the Lambdas' own
 * clients (`createAwsClients()`) pointed at the proxy; `clients` go straight to the emulator, to
 * prepare and to check. Use `proxy.endpoint` as a cold-started handler's `AWS_ENDPOINT_URL`.
 */
export function useFaultyAws(options: { rate?: number; seed?: number; kinds?: readonly FaultKind[] } = {}) {
  const { emulator, clients } = useEmulator();
  const handle = {} as { proxy: FaultProxy; faulty: AwsClients };
  beforeAll(async () => {
    handle.proxy = await startFaultProxy({ target: emulator.endpoint, ...options });
    handle.faulty = await awsClientsAt(handle.proxy.endpoint);
  });
  afterAll(() => handle.proxy?.stop());
  return {
    emulator,
    clients,
    get proxy() {
      return handle.proxy;
    },
    get faulty() {
      return handle.faulty;
    },
  };
}
