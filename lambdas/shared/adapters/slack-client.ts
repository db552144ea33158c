import type { SlackMessage } from '../slack/messages';
import { createSlackPacer, pacingKey, type SlackPacer } from './slack-pacing';

export type { SlackMessage } from '../slack/messages';

/** A Slack call that failed. The message names the method and Slack's error code, never a token or URL. */
export class SlackApiError extends Error {
  override readonly name = 'SlackApiError';
  /** Slack's `error` field (`channel_not_found`, `ratelimited`…) or `http_<status>`, `timeout`, `network_error`. */
  readonly code: string;
  /** The channel (or user id) a post was for: a setup problem such as `not_in_channel` names it. */
  readonly channel?: string;

  constructor(what: string, code: string, options?: ErrorOptions & { channel?: string }) {
    super(`slack ${what} failed: ${code}`, options);
    this.code = code;
    if (options?.channel !== undefined) this.channel = options.channel;
  }
}

export interface SlackClient {
  /** Posts to a channel, or to a user id (Slack opens the DM). Webhook-only: posts to the webhook's channel, ts ''. */
  postMessage(channel: string, message: SlackMessage): Promise<{ channel: string; ts: string }>;
  updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void>;
  /** The user id for an email, or undefined when no user has it. */
  lookupUserByEmail(email: string): Promise<string | undefined>;
  /**
   * A user's display name and email (`users.info`; scopes `users:read` and `users:read.email`), or
   * undefined when Slack has no such user.
   */
  usersInfo(userId: string): Promise<SlackUserProfile | undefined>;
  openView(triggerId: string, view: object): Promise<void>;
  /** Posts to an interaction's response_url, e.g. `{ replace_original: true, ...message }`. */
  respond(responseUrl: string, body: object): Promise<void>;
}

/** Who a Slack user was when they answered: what an auditor reads beside their id. */
export interface SlackUserProfile {
  /** The display name, else the real name, else the username. */
  name?: string;
  email?: string;
}

export interface SlackClientConfig {
  /** Bot token (`xoxb-…`); without it only webhook posting works. */
  botToken?: string;
  /** Incoming webhook URL, used by `postMessage` when there is no bot token. */
  webhookUrl?: string;
  /** @default 'https://slack.com/api' */
  apiBaseUrl?: string;
  /** @default globalThis.fetch */
  fetchImpl?: typeof fetch;
  /**
   * Paces calls to Slack's limits, on its clock; share one across the clients of an execution environment.
   * @default a pacer of its own on the system clock
   */
  pacer?: SlackPacer;
  /**
   * When the caller must be done (epoch ms on the pacer's clock): no pacing wait or retry runs past it, and
   * a call that would have to wait past it fails with `out_of_time` without reaching Slack.
   * @default none: waits are bounded by MAX_WAIT_MS alone
   */
  deadline?: number;
}

const REQUEST_TIMEOUT_MS = 5000;
/** Tries of one call: the first and up to three retries of a 429, a 5xx or a network error. */
const MAX_ATTEMPTS = 4;
/** Backoff before the first retry of a 5xx or a network error; doubled for each next one. */
const BACKOFF_BASE_MS = 500;
/** The longest single wait (a Retry-After, a pacing turn) a call takes on; longer fails it. */
const MAX_WAIT_MS = 60_000;
const SLACK_ERROR_CODE = /^[a-z0-9_]{1,64}$/;

/** Slack's Retry-After is whole seconds. */
function retryAfterMs(response: Response): number {
  const seconds = Number(response.headers.get('retry-after'));
  return (Number.isFinite(seconds) && seconds >= 0 ? seconds : 1) * 1000;
}

/** Doubling backoff with jitter, so the retries of many callers do not land together. */
function backoffMs(attempt: number): number {
  const ceiling = BACKOFF_BASE_MS * 2 ** (attempt - 1);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

interface PostOptions {
  /** For errors: the method name or a generic label; never the URL, which may itself be a secret. */
  what: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The pacing key (`pacingKey`), or undefined for a call Slack does not limit. */
  pace: string | undefined;
  /**
   * The call creates a message: after a timeout Slack may have posted it, and a retry would post it twice.
   * A refused connection or a 5xx is retried all the same (Slack did not take it).
   */
  creates?: boolean;
}

export function createSlackClient(config: SlackClientConfig): SlackClient {
  const fetchImpl = config.fetchImpl ?? globalThis.fetch;
  const apiBaseUrl = (config.apiBaseUrl ?? 'https://slack.com/api').replace(/\/+$/, '');
  const { botToken, webhookUrl, deadline } = config;
  const pacer = config.pacer ?? createSlackPacer();
  const { clock } = pacer;

  /** Whether a wait of `ms` from now ends in time: before the deadline, and not absurdly long. */
  function canWait(ms: number): boolean {
    return ms <= MAX_WAIT_MS && (deadline === undefined || clock.now() + ms < deadline);
  }

  /** Waits for the call's turn at Slack's limits, or fails it at once when the turn comes too late. */
  async function takeTurn(what: string, key: string | undefined): Promise<void> {
    if (key === undefined) {
      if (!canWait(0)) throw new SlackApiError(what, 'out_of_time');
      return;
    }
    if (!canWait(pacer.delayOf(key))) throw new SlackApiError(what, 'out_of_time');
    const wait = pacer.reserve(key);
    if (wait > 0) await clock.sleep(wait);
  }

  /**
   * POSTs at the call's turn and retries what may succeed later: a 429 after its Retry-After (and every
   * call of the method waits it out too), a 5xx or a network error after a jittered, doubling backoff.
   * Returns the final response that is neither; throws SlackApiError when the retries or the time run out.
   */
  async function post({ what, url, headers, body, pace, creates }: PostOptions): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      await takeTurn(what, pace);
      const timeoutMs =
        deadline === undefined ? REQUEST_TIMEOUT_MS : Math.min(REQUEST_TIMEOUT_MS, deadline - clock.now());
      let failure: { code: string; waitMs: number; retryable: boolean };
      try {
        const response = await fetchImpl(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
        });
        if (response.status !== 429 && response.status < 500) return response;
        await response.body?.cancel();
        if (response.status === 429) {
          const waitMs = retryAfterMs(response);
          if (pace !== undefined) pacer.holdOff(pace, clock.now() + waitMs);
          failure = { code: 'ratelimited', waitMs, retryable: true };
        } else {
          failure = { code: `http_${response.status}`, waitMs: backoffMs(attempt), retryable: true };
        }
      } catch (error) {
        const timedOut =
          error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        // The cause can carry the URL (a webhook or response_url is a credential): drop it.
        failure = {
          code: timedOut ? 'timeout' : 'network_error',
          waitMs: backoffMs(attempt),
          retryable: !(timedOut && creates),
        };
      }
      if (!failure.retryable || attempt >= MAX_ATTEMPTS || !canWait(failure.waitMs)) {
        throw new SlackApiError(what, failure.code);
      }
      await clock.sleep(failure.waitMs);
    }
  }

  function requireToken(method: string): string {
    if (!botToken) {
      throw new SlackApiError(method, 'not_configured');
    }
    return botToken;
  }

  async function readJson(method: string, response: Response): Promise<Record<string, unknown>> {
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch {
      throw new SlackApiError(method, response.ok ? 'invalid_response' : `http_${response.status}`);
    }
    if (typeof parsed !== 'object' || parsed === null) {
      throw new SlackApiError(method, response.ok ? 'invalid_response' : `http_${response.status}`);
    }
    return parsed as Record<string, unknown>;
  }

  async function callApi(
    method: string,
    args: Record<string, unknown>,
    encoding: 'json' | 'form' = 'json',
  ): Promise<Record<string, unknown>> {
    const token = requireToken(method);
    const body =
      encoding === 'json'
        ? JSON.stringify(args)
        : new URLSearchParams(
            Object.entries(args).map(([key, value]): [string, string] => [key, String(value)]),
          ).toString();
    const response = await post({
      what: method,
      url: `${apiBaseUrl}/${method}`,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type':
          encoding === 'json' ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded',
      },
      body,
      pace: pacingKey(method, typeof args.channel === 'string' ? args.channel : undefined),
      creates: method === 'chat.postMessage',
    });
    const result = await readJson(method, response);
    if (result.ok !== true) {
      const error =
        typeof result.error === 'string' && SLACK_ERROR_CODE.test(result.error) ? result.error : undefined;
      throw new SlackApiError(method, error ?? (response.ok ? 'unknown_error' : `http_${response.status}`));
    }
    return result;
  }

  /** Webhooks and response_urls answer `ok` or a short error word, with an HTTP status. */
  async function postToUrl(what: string, url: string, payload: object): Promise<void> {
    const response = await post({
      what,
      url,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(payload),
      pace: pacingKey(what),
      creates: what === 'webhook',
    });
    const text = (await response.text().catch(() => '')).trim();
    let code: string | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && (parsed as { ok?: unknown }).ok === false) {
        const error = (parsed as { error?: unknown }).error;
        code = typeof error === 'string' && SLACK_ERROR_CODE.test(error) ? error : 'unknown_error';
      }
    } catch {
      if (!response.ok && SLACK_ERROR_CODE.test(text)) {
        code = text;
      }
    }
    if (code !== undefined) {
      throw new SlackApiError(what, code);
    }
    if (!response.ok) {
      throw new SlackApiError(what, `http_${response.status}`);
    }
  }

  return {
    async postMessage(channel, message) {
      if (!botToken && webhookUrl) {
        await postToUrl('webhook', webhookUrl, { text: message.text, blocks: message.blocks });
        return { channel, ts: '' };
      }
      const result = await callApi('chat.postMessage', {
        channel,
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
        unfurl_media: false,
      }).catch((error: unknown) => {
        throw error instanceof SlackApiError
          ? new SlackApiError('chat.postMessage', error.code, { cause: error, channel })
          : error;
      });
      if (typeof result.channel !== 'string' || typeof result.ts !== 'string') {
        throw new SlackApiError('chat.postMessage', 'invalid_response');
      }
      return { channel: result.channel, ts: result.ts };
    },

    async updateMessage(channel, ts, message) {
      await callApi('chat.update', { channel, ts, text: message.text, blocks: message.blocks });
    },

    async lookupUserByEmail(email) {
      try {
        // users.lookupByEmail takes form-encoded arguments only.
        const result = await callApi('users.lookupByEmail', { email }, 'form');
        const user = result.user as { id?: unknown } | undefined;
        if (typeof user?.id !== 'string') {
          throw new SlackApiError('users.lookupByEmail', 'invalid_response');
        }
        return user.id;
      } catch (error) {
        if (error instanceof SlackApiError && error.code === 'users_not_found') {
          return undefined;
        }
        throw error;
      }
    },

    async usersInfo(userId) {
      try {
        const result = await callApi('users.info', { user: userId }, 'form');
        const user = result.user as
          | { name?: unknown; real_name?: unknown; profile?: Record<string, unknown> }
          | undefined;
        if (typeof user !== 'object' || user === null)
          throw new SlackApiError('users.info', 'invalid_response');
        const text = (value: unknown) =>
          typeof value === 'string' && value.trim() !== '' ? value : undefined;
        const name =
          text(user.profile?.display_name) ??
          text(user.profile?.real_name) ??
          text(user.real_name) ??
          text(user.name);
        const email = text(user.profile?.email);
        return { ...(name && { name }), ...(email && { email }) };
      } catch (error) {
        if (error instanceof SlackApiError && error.code === 'user_not_found') return undefined;
        throw error;
      }
    },

    async openView(triggerId, view) {
      await callApi('views.open', { trigger_id: triggerId, view });
    },

    async respond(responseUrl, body) {
      await postToUrl('response_url', responseUrl, body);
    },
  };
}
