import { type Command, InvalidArgumentError } from 'commander';
import {
  type AssumedCredentials,
  createCloudTrailClient,
  createOrganizationsClient,
} from '../../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { assumeMemberCredentials, MemberRoleMissing } from '../../lambdas/shared/adapters/member-account';
import { listOrganizationAccounts } from '../../lambdas/shared/adapters/organization';
import { mapWithConcurrency } from '../../lambdas/shared/concurrency';
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
  organization?: boolean;
  role: string;
}

/** The role an organization's management account can assume in every account it created. */
const DEFAULT_MEMBER_ROLE = 'OrganizationAccountAccessRole';

/**
 * Accounts backfilled at once: LookupEvents' 2 calls a second are per account and region, so accounts
 * do not slow each other; a few at once keep the command's own connections and STS calls modest.
 */
const ACCOUNTS_AT_ONCE = 4;

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
      "Reads CloudTrail's event history (LookupEvents) of the account of the current AWS credentials for CreateUser, CreateAccessKey, CreateRole and CreateLoginProfile (us-east-1's history, where IAM's events are) and CreateSecret (this region's), and remembers each creator that is a person, or a role owners.byCreatorRole maps, as the events consumer does for new creations: the owner chain's `creator` source. Paced to LookupEvents' 2 calls a second per account. A creator already known is kept. With --organization, from the management account (or a delegated administrator), every active account of the organization, each through the role --role names there.",
    )
    .option('--config <file>', 'the policy file', 'reauth.config.json')
    .option('--table <name>', 'the decision table (the stack output TableName); default $REAUTH_TABLE')
    .option('--days <n>', `how far back to read, in days (1 to ${HISTORY_DAYS})`, daysArgument, HISTORY_DAYS)
    .option('--dry-run', 'read and count, remember nothing')
    .option('--json', 'print the counts as JSON')
    .option('--organization', "every active account of the organization, each through --role's credentials")
    .option(
      '--role <name>',
      'with --organization: the role assumed in each account (it needs cloudtrail:LookupEvents)',
      DEFAULT_MEMBER_ROLE,
    )
    .action(async (options: BackfillOptions) => {
      const policy = loadPolicyFile(options.config);
      const clients = awsClients();
      const table = await openTable(clients, options.table);
      const current = await currentAccount(clients);
      const store = createDecisionStore(clients.documents, table);
      const backfill = (accountId: string, credentials?: AssumedCredentials) =>
        backfillCreators(
          {
            history: {
              iam: createCloudTrailClient(IAM_EVENTS_REGION, credentials),
              secretsManager: createCloudTrailClient(undefined, credentials),
            },
            store,
          },
          {
            accountId,
            ...(policy.owners && { owners: policy.owners }),
            now: new Date(),
            days: options.days,
            dryRun: Boolean(options.dryRun),
          },
        );
      if (!options.organization) {
        const report = await backfill(current);
        console.log(options.json ? JSON.stringify(report, null, 2) : formatBackfill(report));
        outcome.code = 0;
        return;
      }
      const { accounts } = await listOrganizationAccounts(createOrganizationsClient());
      const runId = new Date().toISOString().replace(/[-:]|\.\d+/g, '');
      // One account failing (no such role, access denied) is said and the others go on.
      const results = await mapWithConcurrency(
        accounts.filter((account) => account.status === 'ACTIVE'),
        ACCOUNTS_AT_ONCE,
        async ({ accountId }): Promise<BackfillReport | { accountId: string; failed: string }> => {
          try {
            const credentials =
              accountId === current
                ? undefined
                : await assumeMemberCredentials(clients.sts, {
                    accountId,
                    roleName: options.role,
                    job: 'backfill',
                    runId,
                  });
            return await backfill(accountId, credentials);
          } catch (error) {
            const failed =
              error instanceof MemberRoleMissing
                ? `cannot assume the role ${options.role} in account ${accountId} (missing, or not trusting the current credentials): name another with --role`
                : error instanceof Error
                  ? error.message
                  : String(error);
            return { accountId, failed };
          }
        },
      );
      const failed = results.filter((r) => 'failed' in r);
      console.log(
        options.json
          ? JSON.stringify(results, null, 2)
          : results
              .map((r) =>
                'failed' in r ? `Account ${r.accountId}: not read: ${r.failed}` : formatBackfill(r),
              )
              .join('\n\n'),
      );
      outcome.code = failed.length > 0 ? 1 : 0;
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
