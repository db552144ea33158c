import type { TestProject } from 'vitest/node';
import { type Emulator, startEmulator } from '../scripts/emulator/emulator';

declare module 'vitest' {
  export interface ProvidedContext {
    /** One emulator endpoint per worker: a file uses the one of the worker it runs in. */
    emulatorEndpoints: string[];
  }
}

/** Starts the local AWS emulators once for the whole run and stops them after it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workers = Number(project.config.maxWorkers) || 1;
  const emulators: Emulator[] = await Promise.all(Array.from({ length: workers }, () => startEmulator()));
  project.provide(
    'emulatorEndpoints',
    emulators.map((emulator) => emulator.endpoint),
  );
  return async () => {
    await Promise.all(emulators.map((emulator) => emulator.stop()));
  };
}
