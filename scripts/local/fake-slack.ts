import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SLACK_LIMITS } from '../../lambdas/shared/adapters/slack-pacing';
import { checkMessage, checkModal, type LimitViolation } from '../../lambdas/shared/slack/limits';

/** One call the fake received: `method` is a Web API method, `webhook`, or `response:<name>`. */
export interface RecordedRequest {
  method: string;
  body: any;
  authorization?: string;
}

export interface FakeSlack {
  /** e.g. http://127.0.0.1:PORT/api */
  apiBaseUrl: string;
  webhookUrl: string;
  /** A response_url whose calls are recorded as `response:<name>`. */
  responseUrl(name: string): string;
  requests: RecordedRequest[];
  calls(method: string): RecordedRequest[];
  /**
   * Makes the next call to `method` fail: `ratelimited` answers HTTP 429 (Retry-After: 1), `http_<status>`
   * answers that status, anything else answers 200 `{ ok: false, error }`.
   */
  failNext(method: string, error: string): void;
  /**
   * Answers the next `calls` calls to `method` (every one until `clearRateLimit`, by default) with HTTP
   * 429 and `Retry-After: retryAfterSeconds`, as Slack does when an app is over a limit.
   */
  rateLimit(method: string, options: { retryAfterSeconds: number; calls?: number }): void;
  clearRateLimit(method: string): void;
  /**
   * The bot is not in `channel` (a private channel nobody invited it to): every chat.postMessage to it
   * answers `not_in_channel`, as Slack does, until `invite(channel)`.
   */
  notInChannel(channel: string): void;
  invite(channel: string): void;
  /** Calls received per method, and how many of them were answered 429. */
  counts(): Record<string, { calls: number; ratelimited: number }>;
  close(): Promise<void>;
}

/** Options of the fake's rate limiting (separate from its message checks). */
export interface FakeSlackLimitOptions {
  /**
   * Enforce Slack's published limits (`SLACK_LIMITS`) on this clock (epoch ms): a call over its method's
   * (or channel's) limit in the window is answered 429 with the Retry-After that frees it.
   * @default limits are not enforced
   */
  enforceLimitsAt?: () => number;
}

const WEBHOOK_PATH = '/services/T0000FAKE/B0000FAKE/fakewebhooksecret';
const FIRST_TS_SECONDS = 1_700_000_000;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Slack's Web API takes JSON or form-encoded arguments; so does the fake. */
function parseArguments(text: string, contentType: string | undefined): unknown {
  if ((contentType ?? '').startsWith('application/json')) {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain' : 'application/json; charset=utf-8',
    ...headers,
  });
  response.end(text);
}

/** Slack names each broken rule in `response_metadata.messages`, with a JSON pointer to it. */
function refusal(error: string, violations: LimitViolation[]) {
  return {
    ok: false,
    error,
    response_metadata: {
      messages: violations.map((v) => `[ERROR] ${v.rule} [json-pointer:/${v.path.replace(/[.[\]]+/g, '/')}]`),
    },
  };
}

/** A message's blocks as Slack reads them: a JSON array, or (form-encoded) its JSON text. */
function messageOf(args: any): { text?: unknown; blocks?: unknown } {
  if (typeof args?.blocks !== 'string') return { text: args?.text, blocks: args?.blocks };
  try {
    return { text: args.text, blocks: JSON.parse(args.blocks) };
  } catch {
    return { text: args.text, blocks: args.blocks };
  }
}

/**
 * A local stand-in for Slack's Web API (chat.postMessage, chat.update, users.lookupByEmail, users.info,
 * views.open), an incoming webhook and response_urls, answering in Slack's documented shapes. Every
 * message and modal is held to Slack's Block Kit limits (lambdas/shared/slack/limits.ts) and refused
 * as Slack refuses it (`invalid_blocks`, `msg_too_long`, `invalid_arguments`…).
 */
export async function startFakeSlack(
  options: {
    /** email → user id, for users.lookupByEmail (and users.info: the email's local part as the name). */
    users?: Record<string, string>;
    /** user id → display name and email, for users.info. */
    profiles?: Record<string, { name: string; email?: string }>;
  } & FakeSlackLimitOptions = {},
): Promise<FakeSlack> {
  const users = new Map(Object.entries(options.users ?? {}).map(([email, id]) => [email.toLowerCase(), id]));
  const profiles = new Map<string, { name: string; email?: string }>(
    Object.entries(options.users ?? {}).map(([email, id]) => [
      id,
      { name: email.split('@')[0] ?? email, email },
    ]),
  );
  for (const [id, profile] of Object.entries(options.profiles ?? {})) profiles.set(id, profile);
  const requests: RecordedRequest[] = [];
  const failures = new Map<string, string[]>();
  /** `channel ts` of every message posted, so chat.update can refuse unknown ones as Slack does. */
  const posted = new Set<string>();
  /** Channels the bot is not in. */
  const outside = new Set<string>();
  let messageCount = 0;
  const limiter = startLimiter(options.enforceLimitsAt);

  function nextTs(): string {
    messageCount += 1;
    const micros = messageCount * 100;
    const seconds = FIRST_TS_SECONDS + Math.floor(micros / 1_000_000);
    return `${seconds}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }

  /** Answers an injected failure for `method`, if one is queued; true when it did. */
  function injectFailure(method: string, response: ServerResponse): boolean {
    const error = failures.get(method)?.shift();
    if (error === undefined) {
      return false;
    }
    const status = /^http_(\d{3})$/.exec(error)?.[1];
    if (error === 'ratelimited') {
      send(response, 429, { ok: false, error }, { 'retry-after': '1' });
    } else if (status !== undefined) {
      send(
        response,
        Number(status),
        method.startsWith('webhook') || method.startsWith('response:') ? 'error' : {},
      );
    } else if (method === 'webhook' || method.startsWith('response:')) {
      send(response, 400, error);
    } else {
      send(response, 200, { ok: false, error });
    }
    return true;
  }

  function answerApi(method: string, args: any, response: ServerResponse): void {
    switch (method) {
      case 'chat.postMessage': {
        if (typeof args.channel !== 'string' || args.channel.length === 0) {
          return send(response, 200, { ok: false, error: 'channel_not_found' });
        }
        if (outside.has(args.channel)) return send(response, 200, { ok: false, error: 'not_in_channel' });
        if (!args.text && !args.blocks) {
          return send(response, 200, { ok: false, error: 'no_text' });
        }
        const checked = checkMessage(messageOf(args));
        if (checked.code) return send(response, 200, refusal(checked.code, checked.violations));
        // Posting to a user id lands in the app's DM with them.
        const channel = /^[UW]/.test(args.channel) ? `D${args.channel.slice(1)}` : args.channel;
        const ts = nextTs();
        posted.add(`${channel} ${ts}`);
        return send(response, 200, {
          ok: true,
          channel,
          ts,
          message: { text: args.text, blocks: args.blocks },
        });
      }
      case 'chat.update': {
        if (!posted.has(`${args.channel} ${args.ts}`)) {
          return send(response, 200, { ok: false, error: 'message_not_found' });
        }
        const checked = checkMessage(messageOf(args));
        if (checked.code) return send(response, 200, refusal(checked.code, checked.violations));
        return send(response, 200, { ok: true, channel: args.channel, ts: args.ts, text: args.text });
      }
      case 'users.lookupByEmail': {
        const id = typeof args.email === 'string' ? users.get(args.email.toLowerCase()) : undefined;
        if (id === undefined) {
          return send(response, 200, { ok: false, error: 'users_not_found' });
        }
        return send(response, 200, { ok: true, user: { id, profile: { email: args.email } } });
      }
      case 'users.info': {
        const profile = typeof args.user === 'string' ? profiles.get(args.user) : undefined;
        if (profile === undefined) {
          return send(response, 200, { ok: false, error: 'user_not_found' });
        }
        // Slack's shape: the display name in the profile (empty when unset), the email with users:read.email.
        return send(response, 200, {
          ok: true,
          user: {
            id: args.user,
            name: profile.name.toLowerCase().replaceAll(' ', '.'),
            real_name: profile.name,
            profile: {
              display_name: profile.name,
              real_name: profile.name,
              ...(profile.email && { email: profile.email }),
            },
          },
        });
      }
      case 'views.open': {
        if (typeof args.trigger_id !== 'string' || args.trigger_id.length === 0) {
          return send(response, 200, { ok: false, error: 'invalid_trigger_id' });
        }
        if (typeof args.view !== 'object' || args.view === null) {
          return send(response, 200, { ok: false, error: 'invalid_arguments' });
        }
        const broken = checkModal(args.view);
        if (broken.length) return send(response, 200, refusal('invalid_arguments', broken));
        return send(response, 200, { ok: true, view: { id: 'V0000FAKE', ...args.view } });
      }
      default:
        return send(response, 404, { ok: false, error: 'unknown_method' });
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://fake').pathname;
    const text = await readBody(request);
    const body = parseArguments(text, request.headers['content-type']);
    const authorization = request.headers.authorization;

    if (request.method !== 'POST') {
      return send(response, 405, 'method_not_allowed');
    }
    if (path.startsWith('/api/')) {
      const method = path.slice('/api/'.length);
      requests.push({ method, body, ...(authorization ? { authorization } : {}) });
      if (injectFailure(method, response) || limiter.refuse(method, body, response)) return;
      if (!/^Bearer \S+$/.test(authorization ?? '')) {
        return send(response, 200, { ok: false, error: 'invalid_auth' });
      }
      if (body === undefined) {
        return send(response, 200, { ok: false, error: 'invalid_json' });
      }
      return answerApi(method, body, response);
    }
    if (path === WEBHOOK_PATH || path.startsWith('/response/')) {
      const method = path === WEBHOOK_PATH ? 'webhook' : `response:${decodeURIComponent(path.slice(10))}`;
      requests.push({ method, body, ...(authorization ? { authorization } : {}) });
      if (injectFailure(method, response) || limiter.refuse(method, body, response)) return;
      const payload = body as any;
      if (typeof payload !== 'object' || payload === null || (!payload.text && !payload.blocks)) {
        return send(response, 400, method === 'webhook' ? 'invalid_payload' : 'no_text');
      }
      if (checkMessage(messageOf(payload)).code) return send(response, 400, 'invalid_blocks');
      return method === 'webhook' ? send(response, 200, 'ok') : send(response, 200, { ok: true });
    }
    return send(response, 404, 'not_found');
  }

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) send(response, 500, 'internal_error');
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    apiBaseUrl: `${origin}/api`,
    webhookUrl: `${origin}${WEBHOOK_PATH}`,
    responseUrl: (name) => `${origin}/response/${encodeURIComponent(name)}`,
    requests,
    calls: (method) => requests.filter((recorded) => recorded.method === method),
    failNext(method, error) {
      failures.set(method, [...(failures.get(method) ?? []), error]);
    },
    rateLimit: limiter.rateLimit,
    clearRateLimit: limiter.clearRateLimit,
    notInChannel(channel) {
      outside.add(channel);
    },
    invite(channel) {
      outside.delete(channel);
    },
    counts() {
      const counts: Record<string, { calls: number; ratelimited: number }> = {};
      for (const { method } of requests) {
        counts[method] ??= { calls: 0, ratelimited: limiter.ratelimited.get(method) ?? 0 };
        counts[method].calls++;
      }
      return counts;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * The fake's rate limits: those a test asks for (`rateLimit`), and Slack's published ones when enforced,
 * counted as Slack states them (at most N calls in any window: a log of recent calls per method, or per
 * channel for chat.postMessage), independently of how the client paces itself.
 */
function startLimiter(now: (() => number) | undefined) {
  const forced = new Map<string, { retryAfterSeconds: number; calls: number }>();
  const recent = new Map<string, number[]>();
  const ratelimited = new Map<string, number>();

  function answer429(method: string, response: ServerResponse, retryAfterSeconds: number): true {
    ratelimited.set(method, (ratelimited.get(method) ?? 0) + 1);
    send(response, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfterSeconds) });
    return true;
  }

  return {
    ratelimited,
    rateLimit(method: string, options: { retryAfterSeconds: number; calls?: number }) {
      forced.set(method, {
        retryAfterSeconds: options.retryAfterSeconds,
        calls: options.calls ?? Number.POSITIVE_INFINITY,
      });
    },
    clearRateLimit(method: string) {
      forced.delete(method);
    },
    /** Answers 429 when `method` is over a limit; true when it did. */
    refuse(method: string, args: any, response: ServerResponse): boolean {
      const force = forced.get(method);
      if (force && force.calls > 0) {
        force.calls--;
        return answer429(method, response, force.retryAfterSeconds);
      }
      const limit = SLACK_LIMITS[method];
      if (!now || !limit) return false;
      const key = limit.perChannel ? `${method} ${String(args?.channel)}` : method;
      const at = now();
      const inWindow = (recent.get(key) ?? []).filter((t) => t > at - limit.windowMs);
      if (inWindow.length >= limit.calls) {
        recent.set(key, inWindow);
        const freeAt = (inWindow[0] ?? at) + limit.windowMs;
        return answer429(method, response, Math.max(1, Math.ceil((freeAt - at) / 1000)));
      }
      recent.set(key, [...inWindow, at]);
      return false;
    },
  };
}
