/** Time as the Slack client sees it: injected, so tests and the bench can pace through minutes at once. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** One Slack limit: at most `calls` in any `windowMs`, for the method or (`perChannel`) for each channel. */
export interface SlackLimit {
  calls: number;
  windowMs: number;
  perChannel?: boolean;
}

const MINUTE = 60_000;

/**
 * Slack's published limits, per method, app and workspace (https://docs.slack.dev/apis/web-api/rate-limits
 * and each method's page). Tiers are floors ("Tier 3: 50+ per minute"). chat.postMessage has its own
 * ("special") limit: about one message per second per channel, plus a workspace-wide limit Slack does not
 * publish, which only a 429 reveals. Incoming webhooks: one message per second. Calls not listed here
 * are not paced: a response_url takes 5 posts in 30 minutes, and reauth makes one or two. Nor are the
 * two calls that answer a person's click inside Slack's 3 seconds: views.open (Tier 4; its trigger_id
 * expires in 3 seconds) and users.info (Tier 4; the answering user's name for the decision's evidence,
 * given up after 800 ms). They go as fast as people click, and only a 429 (its Retry-After honoured)
 * holds them back: pacing them in one warm endpoint made every answer after the tenth wait 0.67 s in
 * the bench (and then lose the name), and each Lambda instance paces alone anyway.
 */
export const SLACK_LIMITS: Readonly<Record<string, SlackLimit>> = {
  'chat.postMessage': { calls: 1, windowMs: 1000, perChannel: true },
  'chat.update': { calls: 50, windowMs: MINUTE }, // Tier 3
  'users.lookupByEmail': { calls: 50, windowMs: MINUTE }, // Tier 3
  webhook: { calls: 1, windowMs: 1000 },
};

/**
 * A token bucket per method (per channel for chat.postMessage), shared by every client of one execution
 * environment so a warm Lambda keeps pacing across invocations. A tier is paced at 90% of its floor with
 * the other 10% as a burst, so no window ever holds more calls than the floor: what Slack promises, not
 * what it usually tolerates. A one-call limit (a message a second) spaces calls by its window.
 */
export interface SlackPacer {
  /** How long a call to `key` would wait now (0: go), without taking its turn. */
  delayOf(key: string): number;
  /** Takes the call's turn; returns how long to wait before making it. */
  reserve(key: string): number;
  /** Slack answered 429 with Retry-After: no call of `key`'s method goes before `untilMs` (epoch ms). */
  holdOff(key: string, untilMs: number): void;
  readonly clock: Clock;
}

interface Bucket {
  tokens: number;
  at: number;
  capacity: number;
  /** Tokens per millisecond. */
  rate: number;
}

/** The pacing key of a call: the method, and the channel where Slack limits per channel. */
export function pacingKey(method: string, channel?: string): string | undefined {
  const limit = SLACK_LIMITS[method];
  if (!limit) return undefined;
  return limit.perChannel && channel ? `${method} ${channel}` : method;
}

export function createSlackPacer(clock: Clock = systemClock): SlackPacer {
  const buckets = new Map<string, Bucket>();

  function bucketOf(key: string): Bucket {
    let bucket = buckets.get(key);
    if (!bucket) {
      const limit = SLACK_LIMITS[key.split(' ')[0] ?? key] ?? { calls: 1, windowMs: 1000 };
      // capacity + rate × window ≤ calls: no window can hold more than the limit.
      const capacity = Math.max(1, Math.floor(limit.calls / 10));
      const rate = Math.max(1, limit.calls - capacity) / limit.windowMs;
      bucket = { tokens: capacity, at: clock.now(), capacity, rate };
      buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Tokens at `now`; negative while calls already reserved are still waiting (or a 429 holds it off). */
  function refill(bucket: Bucket, now: number): void {
    if (now > bucket.at) {
      bucket.tokens = Math.min(bucket.capacity, bucket.tokens + (now - bucket.at) * bucket.rate);
      bucket.at = now;
    }
  }

  function waitFor(bucket: Bucket, tokensAfter: number): number {
    return tokensAfter >= 0 ? 0 : Math.ceil(-tokensAfter / bucket.rate);
  }

  /**
   * What a 429 asked for, per method, not per channel: chat.postMessage's workspace-wide limit is not
   * published, so a 429 for one channel may be that limit, which every channel shares.
   */
  const heldUntil = new Map<string, number>();
  const holdOf = (key: string) => Math.max(0, (heldUntil.get(key.split(' ')[0] ?? key) ?? 0) - clock.now());

  return {
    clock,
    delayOf(key) {
      const bucket = bucketOf(key);
      refill(bucket, clock.now());
      return Math.max(holdOf(key), waitFor(bucket, bucket.tokens - 1));
    },
    reserve(key) {
      const bucket = bucketOf(key);
      refill(bucket, clock.now());
      bucket.tokens -= 1;
      return Math.max(holdOf(key), waitFor(bucket, bucket.tokens));
    },
    holdOff(key, untilMs) {
      const method = key.split(' ')[0] ?? key;
      heldUntil.set(method, Math.max(heldUntil.get(method) ?? 0, untilMs));
    },
  };
}
