import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { ConfigurationError } from '../env';
import { createSlackClient, type SlackClient } from './slack-client';
import { createSlackPacer } from './slack-pacing';

/** The Slack secret's JSON: the signing secret, and a bot token or an incoming-webhook URL (or both). */
export const SlackSettingsSchema = z
  .strictObject({
    signingSecret: z.string().min(16),
    botToken: z.string().startsWith('xoxb-').optional(),
    webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .refine((s) => s.botToken !== undefined || s.webhookUrl !== undefined, {
    message: 'needs botToken or webhookUrl',
  });
export type SlackSettings = z.infer<typeof SlackSettingsSchema>;

/** Reads and checks the Slack secret. A malformed secret fails naming the fields, never their values. */
export async function loadSlackSettings(
  secretsManager: SecretsManagerClient,
  secretId: string,
): Promise<SlackSettings> {
  const { SecretString } = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }));
  let json: unknown;
  try {
    json = JSON.parse(SecretString ?? '');
  } catch {
    throw new ConfigurationError(`Slack secret ${secretId} is not JSON`);
  }
  const result = SlackSettingsSchema.safeParse(json);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => `${issue.path.join('.') || '(secret)'}: ${issue.code}`);
    throw new ConfigurationError(`Slack secret ${secretId} is invalid: ${fields.join('; ')}`);
  }
  return result.data;
}

/** How old the settings may grow before they are read again: a rotated token or secret is in use within it. */
export const SETTINGS_MAX_AGE_MS = 5 * 60_000;
/**
 * The least time between two reads of the secret. A request whose signature fails asks for a fresh
 * read (the signing secret may just have been rotated), and anyone can send those: a flood of forged
 * requests must not become a flood of Secrets Manager reads.
 */
export const MIN_READ_INTERVAL_MS = 60_000;

export interface SlackConnection {
  settings: SlackSettings;
  client: SlackClient;
}

export interface SlackSource {
  /**
   * The settings (read again when older than SETTINGS_MAX_AGE_MS) and a client for them that stops
   * waiting on Slack at `deadline` (epoch ms). Undefined: Slack is not configured.
   */
  connect(options?: { deadline?: number | undefined }): Promise<SlackConnection | undefined>;
  /**
   * The settings read afresh, for a signature that failed against the ones held; undefined when they
   * were read less than MIN_READ_INTERVAL_MS ago (or Slack is not configured).
   */
  reread(): Promise<SlackConnection | undefined>;
}

/**
 * The Slack settings of this Lambda, read from Secrets Manager on first use and again when they are
 * older than SETTINGS_MAX_AGE_MS, so rotating the secret takes effect in minutes with no redeploy. A
 * failed read keeps the settings held, if any, and is tried again after MIN_READ_INTERVAL_MS. One
 * pacer serves every client of the execution environment, so pacing holds across invocations.
 *
 * Not Powertools Parameters: its forced fetch reads on every call, so the once-a-minute floor would be
 * ours anyway; its cache reads `Date.now()`, not a clock a test can move; and no release of it matches
 * the Powertools 2.36.0 packages here (it would bring a second copy of their commons).
 */
export function slackFromEnvironment(
  secretsManager: SecretsManagerClient,
  env: { SLACK_SECRET_ARN?: string | undefined; SLACK_API_URL?: string | undefined },
  now: () => number = () => Date.now(),
): SlackSource {
  const pacer = createSlackPacer();
  let held: { settings: SlackSettings; readAt: number } | undefined;
  let lastReadAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<SlackSettings> | undefined;

  function read(secretId: string): Promise<SlackSettings> {
    reading ??= (async () => {
      lastReadAt = now();
      try {
        const settings = await loadSlackSettings(secretsManager, secretId);
        held = { settings, readAt: now() };
        return settings;
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  }

  function connection(settings: SlackSettings, deadline?: number): SlackConnection {
    return {
      settings,
      client: createSlackClient({
        ...(settings.botToken && { botToken: settings.botToken }),
        ...(settings.webhookUrl && { webhookUrl: settings.webhookUrl }),
        ...(env.SLACK_API_URL && { apiBaseUrl: env.SLACK_API_URL }),
        pacer,
        ...(deadline !== undefined && { deadline }),
      }),
    };
  }

  return {
    async connect(options) {
      const secretId = env.SLACK_SECRET_ARN;
      if (!secretId) return undefined;
      const at = now();
      if (!held) {
        return connection(await read(secretId), options?.deadline);
      }
      if (at - held.readAt >= SETTINGS_MAX_AGE_MS && at - lastReadAt >= MIN_READ_INTERVAL_MS) {
        await read(secretId).catch(() => undefined); // the settings held serve until a read succeeds
      }
      return connection(held.settings, options?.deadline);
    },

    async reread() {
      const secretId = env.SLACK_SECRET_ARN;
      if (!secretId) return undefined;
      if (!reading && now() - lastReadAt < MIN_READ_INTERVAL_MS) return undefined;
      return connection(await read(secretId));
    },
  };
}

/**
 * When a Lambda's Slack calls must stop waiting: its remaining time less `reserveMs`, kept for what it
 * does after them (recording what Slack took). Without a Lambda context (a test, the CLI): no deadline.
 */
export function slackDeadline(
  context: Partial<{ getRemainingTimeInMillis(): number }> | undefined,
  reserveMs: number,
): number | undefined {
  const remaining = context?.getRemainingTimeInMillis?.();
  return remaining === undefined ? undefined : Date.now() + remaining - reserveMs;
}
