import type { Clock } from '../../lambdas/shared/adapters/slack-pacing';

/** A clock whose sleeps return at once and move its time on: minutes of Slack pacing run in milliseconds. */
export interface VirtualClock extends Clock {
  /** Milliseconds slept so far. */
  readonly slept: number;
  /** Every sleep asked for, in order. */
  readonly sleeps: number[];
  advance(ms: number): void;
}

export function virtualClock(start = Date.UTC(2026, 0, 1)): VirtualClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    async sleep(ms) {
      sleeps.push(ms);
      now += Math.max(0, ms);
    },
    advance(ms) {
      now += ms;
    },
    get slept() {
      return sleeps.reduce((sum, ms) => sum + ms, 0);
    },
    sleeps,
  };
}
