import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's interaction payloads are far smaller; anything bigger is refused before it is hashed or parsed. */
export const MAX_SLACK_BODY_BYTES = 64 * 1024;

/** How far a request's timestamp may be from now, either way, before it counts as a replay. */
const MAX_CLOCK_SKEW_SECONDS = 300;

const SIGNATURE_VERSION = 'v0';
const TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;

function computeSignature(rawBody: string, signingSecret: string, timestamp: string): string {
  const digest = createHmac('sha256', signingSecret)
    .update(`${SIGNATURE_VERSION}:${timestamp}:${rawBody}`)
    .digest('hex');
  return `${SIGNATURE_VERSION}=${digest}`;
}

/**
 * Checks Slack's v0 request signature and that the request is recent.
 * Returns false, never throws, on any input: a caller maps false to 401 and moves on.
 *
 * Ours rather than a library's (Bolt's `verifySlackRequest`, the retired events adapter): those throw on
 * a bad request, so every caller must wrap them; they read the clock themselves, where this takes `now`
 * (a test moves it; the skew window is tested at its edges); they do not bound the body before hashing
 * it; and checking a request against a second, freshly read signing secret after a rotation is one more
 * call here. Bolt alone would also bring its HTTP framework into a Lambda that needs none of it.
 */
export function verifySlackRequest(input: {
  rawBody: string;
  timestamp: string | undefined;
  signature: string | undefined;
  signingSecret: string;
  now: Date;
}): boolean {
  try {
    const { rawBody, timestamp, signature, signingSecret, now } = input;
    if (typeof rawBody !== 'string' || typeof signingSecret !== 'string' || signingSecret.length === 0) {
      return false;
    }
    if (
      typeof timestamp !== 'string' ||
      typeof signature !== 'string' ||
      !TIMESTAMP_PATTERN.test(timestamp)
    ) {
      return false;
    }
    const nowSeconds = Math.floor(now.getTime() / 1000);
    if (!Number.isFinite(nowSeconds) || Math.abs(nowSeconds - Number(timestamp)) > MAX_CLOCK_SKEW_SECONDS) {
      return false;
    }
    const expected = Buffer.from(computeSignature(rawBody, signingSecret, timestamp), 'utf8');
    const received = Buffer.from(signature, 'utf8');
    // timingSafeEqual throws on different lengths; the length of a valid signature is no secret.
    if (received.length !== expected.length) {
      return false;
    }
    return timingSafeEqual(received, expected);
  } catch {
    return false;
  }
}

/** Signs a body the way Slack does: tests and the demo use it to play a click. */
export function signSlackRequest(
  rawBody: string,
  signingSecret: string,
  timestampSeconds: number,
): { 'x-slack-request-timestamp': string; 'x-slack-signature': string } {
  const timestamp = String(Math.floor(timestampSeconds));
  return {
    'x-slack-request-timestamp': timestamp,
    'x-slack-signature': computeSignature(rawBody, signingSecret, timestamp),
  };
}
