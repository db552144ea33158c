import { afterAll, afterEach, vi } from 'vitest';
import type { EmulatorControl } from '../../scripts/emulator/emulator';

/** Imports a handler afresh, as a Lambda cold start does, with `env` as its environment. */
export async function coldStart<T>(path: string, env: Record<string, string>): Promise<T> {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  return ((await import(path)) as { handler: T }).handler;
}

/** Moves this process's clock (Date only) and the emulator's to `at`; `vi.useRealTimers()` undoes the first. */
export async function travelTo(emulator: EmulatorControl, at: Date): Promise<void> {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
  await emulator.freeze(at);
}

/**
 * The hooks a file that travels in time (`travelTo`) and stubs a cold start's environment needs: this
 * process's clock made real after each test; after the file, the environment unstubbed, the emulator's
 * clock unfrozen, and `close` (a fake Slack, say) run.
 */
export function undoTravelAfter(emulator: EmulatorControl, close: () => Promise<void>): void {
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await emulator.unfreeze();
    await close();
  });
}
