import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from '../lambdas/shared/adapters/aws-clients';
import { ensureDecisionTable } from '../lambdas/shared/adapters/decision-table';
import { UsageError } from './errors';

/** The decision table: --table, else $REAUTH_TABLE; on the local emulator `reauth-decisions`, created when missing. */
export async function openTable(clients: AwsClients, flag: string | undefined): Promise<string> {
  const local = Boolean(process.env.AWS_ENDPOINT_URL);
  const table = flag ?? process.env.REAUTH_TABLE ?? (local ? 'reauth-decisions' : undefined);
  if (!table)
    throw new UsageError('no decision table: pass --table (the stack output TableName) or set REAUTH_TABLE');
  if (local) await ensureDecisionTable(clients.dynamodb, table);
  return table;
}

/** The account of the current credentials. */
export async function currentAccount(clients: AwsClients): Promise<string> {
  const { Account } = await clients.sts.send(new GetCallerIdentityCommand({}));
  if (!Account) throw new Error('STS GetCallerIdentity returned no account');
  return Account;
}
