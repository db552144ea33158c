import { afterAll, describe, expect, it } from 'vitest';
import { runScenario, SCENARIOS, scenarioWork } from '../../scripts/local/fault-scenarios';
import { useEmulator } from '../support/emulator';

// Each scenario once, with a fixed seed, on a small account: the same runs as `npm run bench:faults`.
const { emulator } = useEmulator();

/**
 * What one run of a handler over the small account may take: 1 to 5 s on an idle 2-core machine, about
 * 15 s at a load average of 16. A scenario's timeout is its work (`scenarioWork`: its runs counted at
 * their retry bound) times this, not the suite's fixed 30 s, which a busy machine exceeds.
 */
const RUN_MS = 30_000;

afterAll(() => emulator.reset());

describe('reauth under AWS faults, duplicated deliveries, concurrency and a crash', () => {
  for (const scenario of SCENARIOS) {
    it(
      `${scenario}: records what a plain run records, once, and IAM agrees with the record`,
      async () => {
        const outcome = await runScenario(scenario, { emulator, rate: 0.1, seed: 7 });

        expect(outcome.duplicates, 'duplicated decisions').toEqual([]);
        expect(outcome.lost, 'lost decisions').toEqual([]);
        expect(outcome.violations, 'status and IAM disagree').toEqual([]);
        expect(outcome.brokenChains, 'broken chains').toEqual([]);
      },
      scenarioWork(scenario) * RUN_MS,
    );
  }
});
