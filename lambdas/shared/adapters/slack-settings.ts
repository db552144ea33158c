import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { ConfigurationError } from '../env';

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
