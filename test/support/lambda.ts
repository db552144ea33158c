import { vi } from 'vitest';
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
