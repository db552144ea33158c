import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { ConfigurationError } from '../env';
import { createSlackClient, type SlackClient } from './slack-client';

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

/**
 * Reads the Slack secret (once per cold start: callers keep the promise). A malformed secret fails
 * naming the fields, never their values.
 */
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

/** The Slack client for these settings; `apiBaseUrl` points it elsewhere (the local fake Slack in tests). */
export function slackClientFor(settings: SlackSettings, apiBaseUrl?: string): SlackClient {
  return createSlackClient({
    ...(settings.botToken && { botToken: settings.botToken }),
    ...(settings.webhookUrl && { webhookUrl: settings.webhookUrl }),
    ...(apiBaseUrl && { apiBaseUrl }),
  });
}

/**
 * The Slack settings and client of this Lambda, read from Secrets Manager on first use and kept for
 * the life of the execution environment (a failed read is tried again on the next call).
 * Without a secret id: undefined, Slack is not configured.
 */
export function slackFromEnvironment(
  secretsManager: SecretsManagerClient,
  env: { SLACK_SECRET_ARN?: string | undefined; SLACK_API_URL?: string | undefined },
): () => Promise<{ settings: SlackSettings; client: SlackClient } | undefined> {
  let loading: Promise<{ settings: SlackSettings; client: SlackClient }> | undefined;
  return async () => {
    const secretId = env.SLACK_SECRET_ARN;
    if (!secretId) return undefined;
    loading ??= loadSlackSettings(secretsManager, secretId).then((settings) => ({
      settings,
      client: slackClientFor(settings, env.SLACK_API_URL),
    }));
    try {
      return await loading;
    } catch (error) {
      loading = undefined;
      throw error;
    }
  };
}
