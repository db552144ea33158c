import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signSlackRequest, verifySlackRequest } from '../../lambdas/shared/slack/signature';

// Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TIMESTAMP = '1531420618';
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const DOC_NOW = new Date(Number(DOC_TIMESTAMP) * 1000);

const SECRET = 'test-signing-secret-0123456789abcdef';
const NOW = new Date('2026-11-23T09:00:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;

function signed(rawBody: string, secret = SECRET, timestampSeconds = NOW_SECONDS) {
  const headers = signSlackRequest(rawBody, secret, timestampSeconds);
  return { timestamp: headers['x-slack-request-timestamp'], signature: headers['x-slack-signature'] };
}

function verify(input: Partial<Parameters<typeof verifySlackRequest>[0]> & { rawBody: string }): boolean {
  return verifySlackRequest({
    signingSecret: SECRET,
    now: NOW,
    timestamp: undefined,
    signature: undefined,
    ...input,
  });
}

describe('verifySlackRequest', () => {
  it("accepts Slack's documented example", () => {
    expect(
      verifySlackRequest({
        rawBody: DOC_BODY,
        timestamp: DOC_TIMESTAMP,
        signature: DOC_SIGNATURE,
        signingSecret: DOC_SECRET,
        now: DOC_NOW,
      }),
    ).toBe(true);
  });

  it("signs Slack's documented example to the documented signature", () => {
    expect(signSlackRequest(DOC_BODY, DOC_SECRET, Number(DOC_TIMESTAMP))).toEqual({
      'x-slack-request-timestamp': DOC_TIMESTAMP,
      'x-slack-signature': DOC_SIGNATURE,
    });
  });

  it('agrees with an HMAC computed independently', () => {
    const rawBody = 'payload=%7B%22type%22%3A%22block_actions%22%7D';
    const hex = createHmac('sha256', SECRET).update(`v0:${NOW_SECONDS}:${rawBody}`).digest('hex');

    expect(verify({ rawBody, timestamp: String(NOW_SECONDS), signature: `v0=${hex}` })).toBe(true);
  });

  it('accepts a timestamp exactly 300 s away either way', () => {
    for (const offset of [-300, 300]) {
      const { timestamp, signature } = signed('a=1', SECRET, NOW_SECONDS + offset);
      expect(verify({ rawBody: 'a=1', timestamp, signature })).toBe(true);
    }
  });

  it('refuses a request 301 s old or 301 s in the future', () => {
    for (const offset of [-301, 301]) {
      const { timestamp, signature } = signed('a=1', SECRET, NOW_SECONDS + offset);
      expect(verify({ rawBody: 'a=1', timestamp, signature })).toBe(false);
    }
  });

  it('refuses a tampered body', () => {
    const { timestamp, signature } = signed('amount=1');
    expect(verify({ rawBody: 'amount=2', timestamp, signature })).toBe(false);
  });

  it('refuses a signature made with another secret', () => {
    const { timestamp, signature } = signed('a=1', 'another-secret');
    expect(verify({ rawBody: 'a=1', timestamp, signature })).toBe(false);
  });

  it('refuses when a header is missing or the secret is empty', () => {
    const { timestamp, signature } = signed('a=1');
    expect(verify({ rawBody: 'a=1', timestamp: undefined, signature })).toBe(false);
    expect(verify({ rawBody: 'a=1', timestamp, signature: undefined })).toBe(false);
    expect(verify({ rawBody: 'a=1', timestamp, signature: '' })).toBe(false);
    expect(verify({ rawBody: 'a=1', timestamp, signature, signingSecret: '' })).toBe(false);
  });

  it('refuses timestamps that are not whole seconds', () => {
    const rawBody = 'a=1';
    for (const timestamp of [`${NOW_SECONDS}.0`, ` ${NOW_SECONDS}`, `+${NOW_SECONDS}`, '1e9', '']) {
      const hex = createHmac('sha256', SECRET).update(`v0:${timestamp}:${rawBody}`).digest('hex');
      expect(verify({ rawBody, timestamp, signature: `v0=${hex}` })).toBe(false);
    }
  });

  it('refuses a signature of another version or in upper case', () => {
    const { timestamp, signature } = signed('a=1');
    expect(verify({ rawBody: 'a=1', timestamp, signature: signature.replace('v0=', 'v1=') })).toBe(false);
    expect(verify({ rawBody: 'a=1', timestamp, signature: signature.toUpperCase() })).toBe(false);
  });
});

describe('verifySlackRequest, for any input', () => {
  const RUNS = { numRuns: 600 };

  it('never throws and never accepts a signature not made with the secret', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.option(
          fc.oneof(fc.string(), fc.integer({ min: NOW_SECONDS - 400, max: NOW_SECONDS + 400 }).map(String)),
        ),
        fc.option(fc.oneof(fc.string({ unit: 'binary' }), fc.stringMatching(/^v0=[0-9a-f]{64}$/))),
        (rawBody, timestamp, signature) => {
          const accepted = verify({
            rawBody,
            timestamp: timestamp ?? undefined,
            signature: signature ?? undefined,
          });
          expect(accepted).toBe(false);
        },
      ),
      RUNS,
    );
  });

  it('accepts any body signed with the secret within the window', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 2000 }),
        fc.integer({ min: -300, max: 300 }),
        (rawBody, skew) => {
          const { timestamp, signature } = signed(rawBody, SECRET, NOW_SECONDS + skew);
          expect(verify({ rawBody, timestamp, signature })).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('refuses when any one character of the signature changes', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 1 }),
        (rawBody, position, replacement) => {
          const { timestamp, signature } = signed(rawBody);
          const index = position % signature.length;
          fc.pre(signature[index] !== replacement);
          const flipped = signature.slice(0, index) + replacement + signature.slice(index + 1);
          expect(verify({ rawBody, timestamp, signature: flipped })).toBe(false);
        },
      ),
      RUNS,
    );
  });

  it('refuses when any one character of the body changes', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 1 }),
        (rawBody, position, replacement) => {
          const { timestamp, signature } = signed(rawBody);
          const index = position % rawBody.length;
          fc.pre(rawBody[index] !== replacement);
          const tampered = rawBody.slice(0, index) + replacement + rawBody.slice(index + 1);
          expect(verify({ rawBody: tampered, timestamp, signature })).toBe(false);
        },
      ),
      RUNS,
    );
  });
});
