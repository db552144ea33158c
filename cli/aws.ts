import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { type AwsClients, createAwsClients } from '../lambdas/shared/adapters/aws-clients';
import { ensureDecisionTable } from '../lambdas/shared/adapters/decision-table';
import { UsageError } from './errors';

/**
 * The AWS clients of a command, once the profile it names is known to exist. The SDK does not say
 * so: a profile missing from both files gives "Region is missing" (its region is read first), which
 * sends the user looking for the wrong setting.
 */
export function awsClients(): AwsClients {
  checkProfile(process.env);
  return createAwsClients();
}

/** Throws a usage error naming the profile when AWS_PROFILE (which --profile sets) is in neither file. */
export function checkProfile(env: NodeJS.ProcessEnv): void {
  const profile = env.AWS_PROFILE;
  if (!profile) return;
  const configFile = env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config');
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials');
  const known = new Set([
    ...sectionNames(configFile).flatMap((name) =>
      name === 'default' ? [name] : name.startsWith('profile ') ? [name.slice(8).trim()] : [],
    ),
    ...sectionNames(credentialsFile),
  ]);
  if (known.has(profile)) return;
  const listed = known.size > 0 ? ` (profiles there: ${[...known].sort().join(', ')})` : '';
  throw new UsageError(
    `the AWS profile "${profile}" (--profile or AWS_PROFILE) is not in ${configFile} or ${credentialsFile}${listed}: name another, or add it with \`aws configure --profile ${profile}\` (\`aws configure sso\` for SSO)`,
  );
}

/** The `[section]` names of an INI file; none when the file is missing. */
function sectionNames(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return [...text.matchAll(/^\s*\[([^\]]+)\]/gm)].map((match) => (match[1] ?? '').trim());
}

/**
 * The decision table: --table, else $REAUTH_TABLE; on the local emulator `reauth-decisions`, created
 * when missing. In AWS, a table that does not exist is a usage error naming the setting that chose it.
 */
export async function openTable(clients: AwsClients, flag: string | undefined): Promise<string> {
  const local = Boolean(process.env.AWS_ENDPOINT_URL);
  const table = flag ?? process.env.REAUTH_TABLE ?? (local ? 'reauth-decisions' : undefined);
  if (!table)
    throw new UsageError('no decision table: pass --table (the stack output TableName) or set REAUTH_TABLE');
  if (local) {
    await ensureDecisionTable(clients.dynamodb, table);
    return table;
  }
  try {
    await clients.dynamodb.send(new DescribeTableCommand({ TableName: table }));
  } catch (error) {
    // Not allowed to describe it: the command's own reads and writes will say whether it exists.
    if ((error as Error).name === 'AccessDeniedException') return table;
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    const setting = flag === undefined ? `REAUTH_TABLE=${table}` : `--table ${table}`;
    throw new UsageError(
      `${setting}: no such DynamoDB table in this account and region: pass --table with the stack output TableName`,
    );
  }
  return table;
}

/** The account of the current credentials. */
export async function currentAccount(clients: AwsClients): Promise<string> {
  const { Account } = await clients.sts.send(new GetCallerIdentityCommand({}));
  if (!Account) throw new Error('STS GetCallerIdentity returned no account');
  return Account;
}
