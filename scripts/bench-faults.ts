/**
 * `npm run bench:faults`: reauth under stress. Starts the local AWS emulator and runs every fault
 * scenario (`scripts/local/fault-scenarios.ts`: a scan, an enforce run past the deadlines, duplicated
 * worker deliveries, two scans and two workers at once, a scan killed mid-run and run again) `--runs`
 * times, each with AWS faults injected at `--rate` from a seeded PRNG, compared with a plain run.
 * Prints one table; exits 1 when any decision was duplicated or lost, any recorded status disagrees
 * with IAM or Secrets Manager, or any hash chain is broken.
 *
 *   npx tsx scripts/bench-faults.ts [--runs 20] [--rate 0.1] [--seed 1] [--scenario NAME]
 */
import { parseArgs } from 'node:util';
import { startEmulator } from './emulator/emulator';
import { FAULT_KINDS } from './emulator/fault-proxy';
import {
  type Finding,
  runScenario,
  SCENARIOS,
  type Scenario,
  type ScenarioOutcome,
} from './local/fault-scenarios';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    rate: { type: 'string', default: '0.1' },
    seed: { type: 'string', default: '1' },
    scenario: { type: 'string', multiple: true },
  },
  strict: true,
});
const runs = Number(flags.runs);
const rate = Number(flags.rate);
const seed = Number(flags.seed);
if (!Number.isInteger(runs) || runs < 1 || !(rate >= 0 && rate <= 1) || !Number.isInteger(seed)) {
  console.error('bench:faults: --runs must be a whole number ≥ 1, --rate within 0..1, --seed a whole number');
  process.exit(2);
}
const scenarios = (flags.scenario ?? [...SCENARIOS]) as Scenario[];
const unknown = scenarios.filter((s) => !SCENARIOS.includes(s));
if (unknown.length > 0) {
  console.error(`bench:faults: unknown scenario ${unknown.join(', ')} (one of ${SCENARIOS.join(', ')})`);
  process.exit(2);
}

const emulator = await startEmulator();
const outcomes: ScenarioOutcome[] = [];
const started = Date.now();
try {
  for (let run = 0; run < runs; run++) {
    for (const scenario of scenarios) {
      const outcome = await runScenario(scenario, { emulator, rate, seed: seed + run });
      outcomes.push(outcome);
      const bad = problems(outcome);
      process.stderr.write(
        `run ${run + 1}/${runs} ${scenario}: ${bad.length === 0 ? 'ok' : `${bad.length} problem(s)`}\n`,
      );
      for (const finding of bad) process.stderr.write(`  ${finding}\n`);
    }
  }
} finally {
  await emulator.stop();
}

const sum = (pick: (o: ScenarioOutcome) => number, of = outcomes) => of.reduce((n, o) => n + pick(o), 0);
const rows = [...scenarios, 'all'].map((scenario) => {
  const of = scenario === 'all' ? outcomes : outcomes.filter((o) => o.scenario === scenario);
  return {
    scenario,
    runs: of.length,
    ...Object.fromEntries(FAULT_KINDS.map((kind) => [kind, sum((o) => o.injected[kind], of)])),
    crashes: sum((o) => (o.crashedCalls > 0 ? 1 : 0), of),
    reinvoked: sum((o) => o.failedInvocations, of),
    duplicates: sum((o) => o.duplicates.length, of),
    lost: sum((o) => o.lost.length, of),
    violations: sum((o) => o.violations.length, of),
    brokenChains: sum((o) => o.brokenChains.length, of),
  };
});
console.log(
  `\nreauth under faults: ${runs} run(s) of each scenario, fault rate ${rate}, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
console.table(rows);
const failed = sum((o) => problems(o).length);
console.log(
  failed === 0
    ? 'targets met: 0 duplicates, 0 lost, 0 violations, 0 broken chains'
    : `targets missed: ${failed} problem(s)`,
);
process.exit(failed === 0 ? 0 : 1);

function problems(o: ScenarioOutcome): string[] {
  const line = (label: string) => (f: Finding) => `${label} ${f.credential}: ${f.problem}`;
  return [
    ...o.duplicates.map(line('duplicate')),
    ...o.lost.map(line('lost')),
    ...o.violations.map(line('violation')),
    ...o.brokenChains.map(line('broken chain')),
  ];
}
