import { afterAll, describe, expect, it } from 'vitest';
import { runScenario, SCENARIOS } from '../../scripts/local/fault-scenarios';
import { useEmulator } from '../support/emulator';

// Each scenario once, with a fixed seed, on a small account: the same runs as `npm run bench:faults`.
const { emulator } = useEmulator();

afterAll(() => emulator.reset());

describe('reauth under AWS faults, duplicated deliveries, concurrency and a crash', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario}: records what a plain run records, once, and IAM agrees with the record`, async () => {
      const outcome = await runScenario(scenario, { emulator, rate: 0.1, seed: 7 });

      expect(outcome.duplicates, 'duplicated decisions').toEqual([]);
      expect(outcome.lost, 'lost decisions').toEqual([]);
      expect(outcome.violations, 'status and IAM disagree').toEqual([]);
      expect(outcome.brokenChains, 'broken chains').toEqual([]);
    });
  }
});
