import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeActionValue,
  decodeBody,
  encodeActionValue,
  parseSlackRequest,
  SlackRequestError,
} from '../../lambdas/shared/slack/request';

const FORM = 'application/x-www-form-urlencoded';
const KEY_ID = '123456789012:access-key:AKIAIOSFODNN7EXAMPLE';
const SECRET_ID =
  '123456789012:secret:arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-password-AbCdEf';

/** How Slack delivers an interaction: form-encoded, the JSON in `payload`. */
function formWithPayload(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** A block_actions payload as Slack sends it for a button click in a bot's DM (trimmed of display fields). */
function buttonClick(actionId: string, value: string): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: 'U042OWNER', username: 'dana', name: 'dana', team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    container: {
      type: 'message',
      message_ts: '1700000000.000100',
      channel_id: 'D042OWNER',
      is_ephemeral: false,
    },
    trigger_id: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
    team: { id: 'T0TEAM', domain: 'example' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: 'D042OWNER', name: 'directmessage' },
    message: { type: 'message', user: 'U0BOT', ts: '1700000000.000100', bot_id: 'B0BOT', text: 'fallback' },
    state: { values: {} },
    response_url: 'https://hooks.slack.com/actions/T0TEAM/1234567890/abcdefABCDEF',
    actions: [
      {
        action_id: actionId,
        block_id: 'Xy1z',
        text: { type: 'plain_text', text: 'Still needed', emoji: true },
        value,
        style: 'primary',
        type: 'button',
        action_ts: '1700000050.123456',
      },
    ],
  };
}

function viewSubmission(): Record<string, unknown> {
  return {
    type: 'view_submission',
    team: { id: 'T0TEAM', domain: 'example' },
    user: { id: 'U042OWNER', username: 'dana', name: 'dana', team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    trigger_id: '398738663015.47445629121.aaaa',
    view: {
      id: 'V0VIEW',
      team_id: 'T0TEAM',
      type: 'modal',
      callback_id: 'reauth:still-needed',
      private_metadata: JSON.stringify({ credentialId: KEY_ID, requestSeq: 3 }),
      hash: '156772938.1827394',
      state: {
        values: {
          reason: {
            reason: { type: 'plain_text_input', value: 'The nightly ETL job still uploads with it.' },
          },
          days: {
            days: {
              type: 'static_select',
              selected_option: { text: { type: 'plain_text', text: '90 days' }, value: '90' },
            },
          },
        },
      },
    },
    response_urls: [],
  };
}

function expectRefused(run: () => unknown): void {
  expect(run).toThrow(SlackRequestError);
}

describe('parseSlackRequest', () => {
  it('reads /reauth as Slack sends a slash command: form fields, no payload', () => {
    const body = new URLSearchParams({
      token: 'legacy',
      team_id: 'T0TEAM',
      channel_id: 'D042OWNER',
      user_id: 'U042OWNER',
      user_name: 'dana',
      command: '/reauth',
      text: '2',
      api_app_id: 'A0APP',
      response_url: 'https://hooks.slack.com/commands/T0TEAM/1234567890/abcdefABCDEF',
      trigger_id: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
    }).toString();

    expect(parseSlackRequest(body, FORM)).toEqual({
      type: 'slash_command',
      command: '/reauth',
      text: '2',
      userId: 'U042OWNER',
      teamId: 'T0TEAM',
      responseUrl: 'https://hooks.slack.com/commands/T0TEAM/1234567890/abcdefABCDEF',
    });
    expectRefused(() => parseSlackRequest(body.replace(/response_url=[^&]*/, 'response_url=nope'), FORM));
  });

  it('reads a page turn of the /reauth list, and Still needed for all of a message', () => {
    const page = { ...buttonClick('reauth:page-next', '3'), container: { is_ephemeral: true } };

    expect(parseSlackRequest(formWithPayload(page), FORM)).toEqual({
      type: 'list_page',
      userId: 'U042OWNER',
      responseUrl: 'https://hooks.slack.com/actions/T0TEAM/1234567890/abcdefABCDEF',
      page: 3,
    });
    expectRefused(() => parseSlackRequest(formWithPayload(buttonClick('reauth:page-next', '0')), FORM));
    expect(
      parseSlackRequest(formWithPayload(buttonClick('reauth:still-needed-all', 'all')), FORM),
    ).toMatchObject({
      type: 'answer_all',
      userId: 'U042OWNER',
      channelId: 'D042OWNER',
      messageTs: '1700000000.000100',
    });
  });

  it('reads a button click on a reauth request', () => {
    const request = parseSlackRequest(
      formWithPayload(buttonClick('reauth:still-needed', `${KEY_ID}|3`)),
      FORM,
    );

    expect(request).toEqual({
      type: 'block_actions',
      userId: 'U042OWNER',
      teamId: 'T0TEAM',
      triggerId: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
      responseUrl: 'https://hooks.slack.com/actions/T0TEAM/1234567890/abcdefABCDEF',
      channelId: 'D042OWNER',
      messageTs: '1700000000.000100',
      action: { actionId: 'reauth:still-needed', credentialId: KEY_ID, requestSeq: 3 },
    });
  });

  it('reads a click whose credential is a secret ARN, with a charset in the content type', () => {
    const request = parseSlackRequest(
      formWithPayload(buttonClick('reauth:disable', `${SECRET_ID}|0`)),
      'application/x-www-form-urlencoded; charset=utf-8',
    );

    expect(request.type === 'block_actions' && request.action).toEqual({
      actionId: 'reauth:disable',
      credentialId: SECRET_ID,
      requestSeq: 0,
    });
  });

  it("reads a choice in an orphaned credential's Assign owner picker: the credential from the block id, the user chosen", () => {
    const picked = (selected: unknown, blockId: unknown = `${SECRET_ID}|4`) =>
      formWithPayload({
        type: 'block_actions',
        user: { id: 'U0SECURITY', team_id: 'T0TEAM' },
        trigger_id: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
        response_url: 'https://hooks.slack.com/actions/T0TEAM/1234567890/abcdefABCDEF',
        container: { type: 'message', channel_id: 'C0SECURITY', message_ts: '1700000000.000200' },
        actions: [
          {
            type: 'users_select',
            action_id: 'reauth:assign-owner',
            block_id: blockId,
            selected_user: selected,
          },
        ],
      });

    expect(parseSlackRequest(picked('U0NEWOWNER'), FORM)).toEqual({
      type: 'assign_owner',
      userId: 'U0SECURITY',
      teamId: 'T0TEAM',
      triggerId: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
      responseUrl: 'https://hooks.slack.com/actions/T0TEAM/1234567890/abcdefABCDEF',
      channelId: 'C0SECURITY',
      messageTs: '1700000000.000200',
      credentialId: SECRET_ID,
      requestSeq: 4,
      assignee: 'U0NEWOWNER',
    });
    // No user chosen, a channel or an email instead of a user, or no credential in the block id.
    for (const body of [
      picked(undefined),
      picked('#security'),
      picked('bob@example.com'),
      picked('U0NEWOWNER', 'b'),
      picked('U0NEWOWNER', null),
    ]) {
      expect(() => parseSlackRequest(body, FORM)).toThrow(SlackRequestError);
    }
  });

  it('reads a submitted dialog', () => {
    const request = parseSlackRequest(formWithPayload(viewSubmission()), FORM);

    expect(request).toEqual({
      type: 'view_submission',
      userId: 'U042OWNER',
      callbackId: 'reauth:still-needed',
      privateMetadata: JSON.stringify({ credentialId: KEY_ID, requestSeq: 3 }),
      values: {
        reason: { reason: { value: 'The nightly ETL job still uploads with it.' } },
        days: { days: { selected_option: { value: '90' } } },
      },
    });
  });

  it("reads Slack's URL verification handshake", () => {
    const body = JSON.stringify({
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });

    expect(parseSlackRequest(body, 'application/json')).toEqual({
      type: 'url_verification',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
    });
  });

  it("reads Slack's SSL check", () => {
    expect(parseSlackRequest('ssl_check=1&token=Jhj5dZrVaK7ZwHHjRyZWjbDl', FORM)).toEqual({
      type: 'ssl_check',
    });
  });

  it.each([
    [
      'an action this app does not own',
      formWithPayload(buttonClick('other-app:approve', `${KEY_ID}|3`)),
      FORM,
    ],
    ['a value without a seq', formWithPayload(buttonClick('reauth:rotate', KEY_ID)), FORM],
    ['a negative seq', formWithPayload(buttonClick('reauth:rotate', `${KEY_ID}|-1`)), FORM],
    ['a fractional seq', formWithPayload(buttonClick('reauth:rotate', `${KEY_ID}|1.5`)), FORM],
    ['a bad account id', formWithPayload(buttonClick('reauth:rotate', '12345:access-key:AKIA|1')), FORM],
    ['an unknown kind', formWithPayload(buttonClick('reauth:rotate', '123456789012:certificate:x|1')), FORM],
    ['no actions', formWithPayload({ ...buttonClick('reauth:rotate', `${KEY_ID}|1`), actions: [] }), FORM],
    ['no user', formWithPayload({ ...buttonClick('reauth:rotate', `${KEY_ID}|1`), user: undefined }), FORM],
    ['an unsupported interaction', formWithPayload({ type: 'shortcut', callback_id: 'x' }), FORM],
    ['a payload that is not JSON', 'payload=%7Bnot-json', FORM],
    ['a payload that is JSON null', 'payload=null', FORM],
    ['a form without payload', 'foo=bar', FORM],
    ['an event callback', JSON.stringify({ type: 'event_callback', event: {} }), 'application/json'],
    ['a JSON body that is not JSON', '{"type":', 'application/json'],
    ['an unknown content type', 'payload=%7B%7D', 'text/plain'],
    ['no content type', 'ssl_check=1', undefined],
  ])('refuses %s', (_name, body, contentType) => {
    expectRefused(() => parseSlackRequest(body, contentType));
  });

  it('throws nothing but SlackRequestError for any body', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.constantFrom(FORM, 'application/json', undefined, 'text/plain'),
        (body, contentType) => {
          try {
            parseSlackRequest(body, contentType);
          } catch (error) {
            expect(error).toBeInstanceOf(SlackRequestError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('throws nothing but SlackRequestError for any JSON in payload or in a JSON body', () => {
    const click = buttonClick('reauth:still-needed', `${KEY_ID}|3`);
    // Arbitrary JSON, and near misses: real payloads with one field replaced by arbitrary JSON.
    const nearMiss = fc
      .tuple(fc.constantFrom(click, viewSubmission()), fc.string(), fc.jsonValue())
      .map(([base, key, value]) => ({ ...base, [Object.keys(base)[key.length % 5] ?? key]: value }));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearMiss), (payload) => {
        for (const [body, contentType] of [
          [formWithPayload(payload), FORM],
          [JSON.stringify(payload), 'application/json'],
        ] as const) {
          try {
            parseSlackRequest(body, contentType);
          } catch (error) {
            expect(error).toBeInstanceOf(SlackRequestError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decodeBody', () => {
  it('returns a plain body as it is', () => {
    expect(decodeBody({ body: 'ssl_check=1', isBase64Encoded: false }, 100)).toBe('ssl_check=1');
  });

  it('decodes a base64 body', () => {
    const body = 'payload=%7B%22type%22%3A%22block_actions%22%7D&é';
    const encoded = Buffer.from(body, 'utf8').toString('base64');

    expect(decodeBody({ body: encoded, isBase64Encoded: true }, 1000)).toBe(body);
  });

  it('accepts a body of exactly the limit and refuses one byte more, plain or base64', () => {
    const atLimit = 'a'.repeat(64);
    const overLimit = 'a'.repeat(65);

    expect(decodeBody({ body: atLimit }, 64)).toBe(atLimit);
    expect(decodeBody({ body: Buffer.from(atLimit).toString('base64'), isBase64Encoded: true }, 64)).toBe(
      atLimit,
    );
    expectRefused(() => decodeBody({ body: overLimit }, 64));
    expectRefused(() =>
      decodeBody({ body: Buffer.from(overLimit).toString('base64'), isBase64Encoded: true }, 64),
    );
  });

  it('counts bytes, not characters', () => {
    expectRefused(() => decodeBody({ body: 'é'.repeat(40) }, 64));
  });

  it('refuses a huge base64 body before decoding it', () => {
    expectRefused(() => decodeBody({ body: 'A'.repeat(10_000_000), isBase64Encoded: true }, 64 * 1024));
  });

  it('refuses a missing body, bad base64 and bytes that are not UTF-8', () => {
    expectRefused(() => decodeBody({}, 100));
    expectRefused(() => decodeBody({ body: null }, 100));
    expectRefused(() => decodeBody({ body: '' }, 100));
    expectRefused(() => decodeBody({ body: 'not base64!', isBase64Encoded: true }, 100));
    expectRefused(() =>
      decodeBody({ body: Buffer.from([0xff, 0xfe, 0x41]).toString('base64'), isBase64Encoded: true }, 100),
    );
  });
});

describe('encodeActionValue and decodeActionValue', () => {
  const idChars = fc.constantFrom(...'abcXYZ019/_+=,.@-:'.split(''));
  const credentialId = fc
    .tuple(
      fc.stringMatching(/^\d{12}$/),
      fc.constantFrom('access-key', 'secret', 'role', 'password'),
      fc.oneof(
        fc.string({ unit: idChars, minLength: 1, maxLength: 200 }),
        fc
          .stringMatching(/^[a-z0-9/_-]{1,60}$/)
          .map((name) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`),
      ),
    )
    .map(([account, kind, id]) => `${account}:${kind}:${id}`);

  it('round-trips any credential id and seq, secret ARNs with colons included', () => {
    fc.assert(
      fc.property(credentialId, fc.nat(), (id, seq) => {
        expect(decodeActionValue(encodeActionValue(id, seq))).toEqual({ credentialId: id, requestSeq: seq });
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips a secret ARN', () => {
    expect(decodeActionValue(encodeActionValue(SECRET_ID, 12))).toEqual({
      credentialId: SECRET_ID,
      requestSeq: 12,
    });
  });

  it('refuses to encode what it could not decode', () => {
    expect(() => encodeActionValue('not-a-credential', 1)).toThrow(RangeError);
    expect(() => encodeActionValue(`${KEY_ID}|x`, 1)).toThrow(RangeError);
    expect(() => encodeActionValue(KEY_ID, -1)).toThrow(RangeError);
    expect(() => encodeActionValue(KEY_ID, 1.5)).toThrow(RangeError);
  });

  it('throws only SlackRequestError when decoding any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        try {
          const decoded = decodeActionValue(value);
          expect(encodeActionValue(decoded.credentialId, decoded.requestSeq)).toBe(value);
        } catch (error) {
          expect(error).toBeInstanceOf(SlackRequestError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
