import { ListSecretsCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Credential } from '../domain/credential';

export interface SecretsInventoryOptions {
  accountId: string;
}

/** ListSecrets' largest page: an account's secrets in one call per hundred. */
const PAGE_SIZE = 100;

/**
 * Every secret of the account (in the client's region) as a credential, from ListSecrets alone:
 * LastAccessedDate (day granularity) is the last-used signal. Secrets pending deletion are left out.
 */
export async function readSecretsInventory(
  secretsManager: SecretsManagerClient,
  options: SecretsInventoryOptions,
): Promise<Credential[]> {
  const secrets: Credential[] = [];
  let nextToken: string | undefined;
  do {
    const page = await secretsManager.send(
      new ListSecretsCommand({ MaxResults: PAGE_SIZE, NextToken: nextToken }),
    );
    for (const secret of page.SecretList ?? []) {
      if (secret.DeletedDate || !secret.ARN || !secret.Name) continue;
      const tags: Record<string, string> = {};
      for (const tag of secret.Tags ?? []) {
        if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
      }
      secrets.push({
        accountId: options.accountId,
        kind: 'secret',
        id: secret.ARN,
        principal: secret.Name,
        principalArn: secret.ARN,
        // AWS always sets CreatedDate; without it the secret reads as old, so it is reviewed, not spared.
        createdAt: secret.CreatedDate ?? secret.LastChangedDate ?? new Date(0),
        lastUsedAt: secret.LastAccessedDate,
        lastRotatedAt: secret.LastRotatedDate,
        tags,
      });
    }
    nextToken = page.NextToken || undefined;
  } while (nextToken);
  return secrets;
}
