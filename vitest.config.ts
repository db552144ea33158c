import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The package's name is its sources here, as tsconfig's `paths` says; its exports name the build, dist/.
  resolve: {
    alias: [{ find: /^reauth$/, replacement: fileURLToPath(new URL('./lib/index.ts', import.meta.url)) }],
  },
  test: {
    pool: 'forks',
    maxWorkers: 2,
    // Hang guards, not speed bounds: no test or hook sets its own. A test's work is bounded by what it
    // does (seeded inventories of a fixed size, calls counted), never by how fast a busy machine does
    // it (issue 22: a 2-core machine at load 18 took the fault scenarios past 30 s). Only something
    // stuck (an emulator that stopped answering) runs into these, and CI's own limit stands behind them.
    testTimeout: 900_000,
    hookTimeout: 900_000,
    // Lambda runs Node 24; the SDK's notice that its 2027 releases need Node 22 would only clutter the
    // output of the unit files that build a client (the emulator's environment sets the same switch).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        // One module graph per worker: each file would otherwise load aws-cdk-lib and cdk-nag anew,
        // which costs more than most of its synths. The files share no state but the process's.
        test: { name: 'infra', include: ['test/infra/**/*.test.ts'], isolate: false },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // One emulator per worker, started only when integration tests run; files in a worker run
          // one after another and each resets its emulator first, so no file sees another's resources.
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
