import * as z from 'zod';
import { CREDENTIAL_ID_PATTERN } from '../domain/credential';

/** A request Slack (or someone pretending to be Slack) sent that this app cannot use. */
export class SlackRequestError extends Error {
  override readonly name = 'SlackRequestError';
}

export const REAUTH_ACTION_IDS = [
  'reauth:still-needed',
  'reauth:rotate',
  'reauth:disable',
  'reauth:restore',
  'reauth:approve',
  'reauth:right-size',
  'reauth:widen',
] as const;
export type ReauthActionId = (typeof REAUTH_ACTION_IDS)[number];

/** The slash command that lists the requests waiting for the caller (see slack/manifest.json). */
export const REAUTH_COMMAND = '/reauth';
/** The buttons that turn the pages of that list; their value is the page number. */
export const PAGE_ACTION_IDS = ['reauth:page-previous', 'reauth:page-next'] as const;
const PAGE_PATTERN = /^[1-9][0-9]{0,4}$/;
/** The button under a request message's credentials: *Still needed* for every one still open in it. */
export const STILL_NEEDED_ALL_ACTION_ID = 'reauth:still-needed-all';
/**
 * The user picker (`users_select`) beside an orphaned credential's buttons in the fallback owner's
 * message: a security approver names its owner. A picker has no `value`, so the credential and its
 * request ride in the block's `block_id` (`encodeActionValue`, at most 255 characters there).
 */
export const ASSIGN_OWNER_ACTION_ID = 'reauth:assign-owner';
/** Slack's user ids: `U…`, or `W…` on an Enterprise Grid. */
const SLACK_USER_ID_PATTERN = /^[UW][A-Z0-9]{2,20}$/;

export type SlackRequest =
  | { type: 'url_verification'; challenge: string }
  | { type: 'ssl_check' }
  | {
      type: 'block_actions';
      userId: string;
      teamId?: string;
      triggerId: string;
      responseUrl?: string;
      channelId?: string;
      messageTs?: string;
      /** The click came from an ephemeral message: the `/reauth` list. */
      ephemeral?: boolean;
      action: { actionId: ReauthActionId; credentialId: string; requestSeq: number };
    }
  | { type: 'list_page'; userId: string; responseUrl?: string; page: number }
  | {
      /** A security approver chose `assignee` in an orphaned credential's *Assign owner* picker. */
      type: 'assign_owner';
      userId: string;
      teamId?: string;
      triggerId: string;
      responseUrl?: string;
      channelId?: string;
      messageTs?: string;
      ephemeral?: boolean;
      credentialId: string;
      requestSeq: number;
      assignee: string;
    }
  | {
      type: 'answer_all';
      userId: string;
      triggerId: string;
      responseUrl?: string;
      channelId?: string;
      messageTs?: string;
    }
  | {
      type: 'slash_command';
      command: string;
      text: string;
      userId: string;
      teamId?: string;
      responseUrl: string;
    }
  | {
      type: 'view_submission';
      userId: string;
      callbackId: string;
      privateMetadata: string;
      values: Record<
        string,
        Record<string, { value?: string | null; selected_option?: { value: string } | null }>
      >;
    };

const REQUEST_SEQ_PATTERN = /^(?:0|[1-9][0-9]{0,14})$/;

/** The value a reauth button carries: which credential, and which request for it (stale clicks are caught by seq). */
export function encodeActionValue(credentialId: string, requestSeq: number): string {
  if (!CREDENTIAL_ID_PATTERN.test(credentialId)) {
    throw new RangeError('not a credential id that fits in a button value');
  }
  if (!Number.isSafeInteger(requestSeq) || requestSeq < 0) {
    throw new RangeError('requestSeq must be a non-negative integer');
  }
  return `${credentialId}|${requestSeq}`;
}

/** The inverse of `encodeActionValue`; throws SlackRequestError on anything it would not have produced. */
export function decodeActionValue(value: string): { credentialId: string; requestSeq: number } {
  if (typeof value !== 'string') {
    throw new SlackRequestError('action value is not a string');
  }
  const separator = value.lastIndexOf('|');
  const credentialId = value.slice(0, separator);
  const seqText = value.slice(separator + 1);
  if (separator < 0 || !CREDENTIAL_ID_PATTERN.test(credentialId) || !REQUEST_SEQ_PATTERN.test(seqText)) {
    throw new SlackRequestError('action value is not <credentialId>|<requestSeq>');
  }
  const requestSeq = Number(seqText);
  if (!Number.isSafeInteger(requestSeq)) {
    throw new SlackRequestError('requestSeq is out of range');
  }
  return { credentialId, requestSeq };
}

/**
 * The raw body of an API Gateway / function URL event as text, refusing oversized or missing bodies.
 * The size is checked before decoding (cheap refusal) and after (the real limit).
 */
export function decodeBody(
  event: { body?: string | null; isBase64Encoded?: boolean },
  maxBytes: number,
): string {
  const body = event.body;
  if (typeof body !== 'string' || body.length === 0) {
    throw new SlackRequestError('request has no body');
  }
  if (!event.isBase64Encoded) {
    if (Buffer.byteLength(body, 'utf8') > maxBytes) {
      throw new SlackRequestError('request body is too large');
    }
    return body;
  }
  // Four base64 characters carry three bytes.
  if (body.length > Math.ceil(maxBytes / 3) * 4 + 4) {
    throw new SlackRequestError('request body is too large');
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
    throw new SlackRequestError('request body is not valid base64');
  }
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length > maxBytes) {
    throw new SlackRequestError('request body is too large');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SlackRequestError('request body is not UTF-8');
  }
}

const UrlVerificationSchema = z.object({
  type: z.literal('url_verification'),
  challenge: z.string().min(1).max(1000),
});

const InputValueSchema = z.object({
  value: z.string().nullish(),
  selected_option: z.object({ value: z.string() }).nullish(),
});

const BlockActionsPayloadSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1), team_id: z.string().optional() }),
  team: z.object({ id: z.string() }).nullish(),
  trigger_id: z.string().min(1),
  response_url: z.string().min(1).optional(),
  container: z
    .object({
      channel_id: z.string().optional(),
      message_ts: z.string().optional(),
      is_ephemeral: z.boolean().optional(),
    })
    .nullish(),
  channel: z.object({ id: z.string() }).nullish(),
  message: z.object({ ts: z.string() }).nullish(),
  actions: z
    .array(
      z.object({
        action_id: z.string(),
        value: z.string().optional(),
        block_id: z.string().optional(),
        /** A `users_select`'s choice. */
        selected_user: z.string().optional(),
      }),
    )
    .min(1),
});

const ViewSubmissionPayloadSchema = z.object({
  type: z.literal('view_submission'),
  user: z.object({ id: z.string().min(1) }),
  view: z.object({
    callback_id: z.string(),
    private_metadata: z.string().default(''),
    state: z.object({ values: z.record(z.string(), z.record(z.string(), InputValueSchema)) }),
  }),
});

const InteractionTypeSchema = z.object({ type: z.string() });

/** A slash command arrives form-encoded, its fields at the top level (no `payload`). */
const SlashCommandSchema = z.object({
  command: z.string().min(1).max(64),
  text: z.string().max(4000).default(''),
  user_id: z.string().min(1),
  team_id: z.string().optional(),
  response_url: z.url(),
});

/** Who clicked, and where: the same for every click in a message (a button, the owner picker). */
function clickedIn(parsed: z.infer<typeof BlockActionsPayloadSchema>) {
  return {
    userId: parsed.user.id,
    teamId: parsed.team?.id ?? parsed.user.team_id,
    triggerId: parsed.trigger_id,
    responseUrl: parsed.response_url,
    channelId: parsed.container?.channel_id ?? parsed.channel?.id,
    messageTs: parsed.container?.message_ts ?? parsed.message?.ts,
    ...(parsed.container?.is_ephemeral && { ephemeral: true as const }),
  };
}

function isReauthActionId(actionId: string): actionId is ReauthActionId {
  return (REAUTH_ACTION_IDS as readonly string[]).includes(actionId);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SlackRequestError(`${what} is not JSON`);
  }
}

function mustParse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new SlackRequestError(`malformed ${what}`);
  }
  return result.data;
}

function parseInteraction(payloadText: string): SlackRequest {
  const payload = parseJson(payloadText, 'payload');
  const { type } = mustParse(InteractionTypeSchema, payload, 'interaction payload');
  if (type === 'block_actions') {
    const parsed = mustParse(BlockActionsPayloadSchema, payload, 'block_actions payload');
    const [first] = parsed.actions;
    if ((PAGE_ACTION_IDS as readonly string[]).includes(first?.action_id ?? '')) {
      if (!PAGE_PATTERN.test(first?.value ?? '')) throw new SlackRequestError('malformed page');
      return {
        type: 'list_page',
        userId: parsed.user.id,
        responseUrl: parsed.response_url,
        page: Number(first?.value),
      };
    }
    if (first?.action_id === STILL_NEEDED_ALL_ACTION_ID) {
      return {
        type: 'answer_all',
        userId: parsed.user.id,
        triggerId: parsed.trigger_id,
        responseUrl: parsed.response_url,
        channelId: parsed.container?.channel_id ?? parsed.channel?.id,
        messageTs: parsed.container?.message_ts ?? parsed.message?.ts,
      };
    }
    if (first?.action_id === ASSIGN_OWNER_ACTION_ID) {
      const { credentialId, requestSeq } = decodeActionValue(first.block_id as string);
      if (!SLACK_USER_ID_PATTERN.test(first.selected_user ?? '')) {
        throw new SlackRequestError('assign-owner has no Slack user selected');
      }
      return {
        type: 'assign_owner',
        ...clickedIn(parsed),
        credentialId,
        requestSeq,
        assignee: first.selected_user as string,
      };
    }
    if (first === undefined || !isReauthActionId(first.action_id)) {
      throw new SlackRequestError('unsupported action');
    }
    if (first.value === undefined) {
      throw new SlackRequestError('action has no value');
    }
    const { credentialId, requestSeq } = decodeActionValue(first.value);
    return {
      type: 'block_actions',
      ...clickedIn(parsed),
      action: { actionId: first.action_id, credentialId, requestSeq },
    };
  }
  if (type === 'view_submission') {
    const parsed = mustParse(ViewSubmissionPayloadSchema, payload, 'view_submission payload');
    return {
      type: 'view_submission',
      userId: parsed.user.id,
      callbackId: parsed.view.callback_id,
      privateMetadata: parsed.view.private_metadata,
      values: parsed.view.state.values,
    };
  }
  throw new SlackRequestError('unsupported interaction type');
}

function parseRequest(rawBody: string, contentType: string | undefined): SlackRequest {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/json') {
    const body = parseJson(rawBody, 'body');
    return { ...mustParse(UrlVerificationSchema, body, 'url_verification') };
  }
  if (mediaType === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(rawBody);
    if (form.get('ssl_check') === '1') {
      return { type: 'ssl_check' };
    }
    if (form.has('command')) {
      const command = mustParse(SlashCommandSchema, Object.fromEntries(form), 'slash command');
      return {
        type: 'slash_command',
        command: command.command,
        text: command.text,
        userId: command.user_id,
        ...(command.team_id && { teamId: command.team_id }),
        responseUrl: command.response_url,
      };
    }
    const payload = form.get('payload');
    if (payload === null) {
      throw new SlackRequestError('form has no payload');
    }
    return parseInteraction(payload);
  }
  throw new SlackRequestError('unsupported content type');
}

/**
 * Reads a Slack request whose signature has been verified. Throws SlackRequestError, and nothing else,
 * on anything malformed or unsupported: the endpoint maps it to 400.
 */
export function parseSlackRequest(rawBody: string, contentType: string | undefined): SlackRequest {
  if (typeof rawBody !== 'string') {
    throw new SlackRequestError('body is not text');
  }
  try {
    return parseRequest(rawBody, contentType);
  } catch (error) {
    if (error instanceof SlackRequestError) {
      throw error;
    }
    // Validation above should catch everything; this keeps the promise if it does not.
    throw new SlackRequestError('malformed request', { cause: error });
  }
}
