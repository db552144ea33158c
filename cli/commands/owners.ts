import { type Command, InvalidArgumentError } from 'commander';
import { createCloudTrailClient } from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { IAM_EVENTS_REGION } from '../../lambdas/shared/domain/creators';
import { loadPolicyFile } from '../../lambdas/shared/policy-file';
import { type BackfillReport, backfillCreators } from '../../lambdas/shared/use-cases/backfill-creators';
import { awsClients, currentAccount, openTable } from '../aws';
import type { Outcome } from '../output';

interface BackfillOptions {
  config: string;
  table?: string;
  days: number;
  dryRun?: boolean;
  json?: boolean;
}

/** CloudTrail's event history holds 90 days. */
const HISTORY_DAYS = 90;

export function registerOwners(program: Command, outcome: Outcome): void {
  const owners = program
    .command('owners')
    .summary("what reauth knows of credentials' owners")
    .description("Commands about where owners come from (the policy's `owners`).");
  owners
    .command('backfill')
    .summary('remember who created the credentials of the last 90 days, from CloudTrail')
    .description(
      "Reads CloudTrail's event history (LookupEvents) of the account of the current AWS credentials for CreateUser, CreateAccessKey, CreateRole and CreateLoginProfile (us-east-1's history, where IAM's events are) and CreateSecret (this region's), and remembers each creator that is a person, or a role owners.byCreatorRole maps, as the events consumer does for new creations: the owner chain's `creator` source. Paced to LookupEvents' 2 calls a second. A creator already known is kept. Single account; in an organization, run it with each member account's credentials.",
    )
    .option('--config <file>', 'the policy file', 'reauth.config.json')
    .option('--table <name>', 'the decision table (the stack output TableName); default $REAUTH_TABLE')
    .option('--days <n>', `how far back to read, in days (1 to ${HISTORY_DAYS})`, daysArgument, HISTORY_DAYS)
    .option('--dry-run', 'read and count, remember nothing')
    .option('--json', 'print the counts as JSON')
    .action(async (options: BackfillOptions) => {
      const policy = loadPolicyFile(options.config);
      const clients = awsClients();
      const table = await openTable(clients, options.table);
      const accountId = await currentAccount(clients);
      const report = await backfillCreators(
        {
          history: {
            iam: createCloudTrailClient(IAM_EVENTS_REGION),
            secretsManager: createCloudTrailClient(),
          },
          store: createDecisionStore(clients.documents, table),
        },
        {
          accountId,
          ...(policy.owners && { owners: policy.owners }),
          now: new Date(),
          days: options.days,
          dryRun: Boolean(options.dryRun),
        },
      );
      console.log(options.json ? JSON.stringify(report, null, 2) : formatBackfill(report));
      outcome.code = 0;
    });
}

function daysArgument(text: string): number {
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1 || days > HISTORY_DAYS)
    throw new InvalidArgumentError(
      `want a whole number of days from 1 to ${HISTORY_DAYS} (CloudTrail's history)`,
    );
  return days;
}

export function formatBackfill(report: BackfillReport): string {
  const rows = Object.entries(report.byEvent);
  const total = rows.reduce((sum, [, c]) => sum + c.hints, 0);
  const verb = report.dryRun ? 'would be remembered' : 'remembered';
  return [
    `Account ${report.accountId}, creations since ${report.since}${report.dryRun ? ' (dry run: nothing remembered)' : ''}:`,
    ...rows.map(
      ([name, c]) => `  ${name}: ${c.read} read, ${c.hints} naming a creator, ${c.none} naming nobody`,
    ),
    `${total} creator hints ${verb} (a creator already known is kept).`,
    ...(Object.keys(report.reasons).length > 0
      ? ['Naming nobody:', ...Object.entries(report.reasons).map(([why, n]) => `  ${n} × ${why}`)]
      : []),
  ].join('\n');
}
