import type { Command } from 'commander';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { readIamInventory } from '../../lambdas/shared/adapters/iam-inventory';
import { readSecretsInventory } from '../../lambdas/shared/adapters/secrets-inventory';
import { planEnforcement } from '../../lambdas/shared/domain/deadlines';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { loadPolicyFile } from '../../lambdas/shared/policy-file';
import { awsClients, currentAccount, openTable } from '../aws';
import { UsageError } from '../errors';
import { formatTable } from '../format';
import { EXIT_FINDINGS, type Outcome, progressReporter } from '../output';

interface EnforceOptions {
  dryRun?: boolean;
  config: string;
  table?: string;
  json?: boolean;
  failOnFindings?: boolean;
}

export function registerEnforce(program: Command, outcome: Outcome): void {
  program
    .command('enforce')
    .summary('what the hourly enforce job would do now (--dry-run)')
    .description(
      'Shows what the hourly enforce job would do now if the policy said enforce: reminders, disables, and what the safety rails (budget, freshness, protected principals) would hold back. Reads only: nothing is changed or recorded. Enforcement itself runs in the enforce Lambda. Exit 0 whatever is due, unless --fail-on-findings: then 3 when anything is.',
    )
    .option('--dry-run', 'required: show, do not act')
    .option('--config <file>', 'the policy file', 'reauth.config.json')
    .option('--table <name>', 'the decision table (the stack output TableName); default $REAUTH_TABLE')
    .option('--json', 'print the plan as JSON: each credential with what its table row shows')
    .option(
      '--fail-on-findings',
      'exit 3 when anything is due: a disable, a reminder, or a credential a rail holds back',
    )
    .action(async (options: EnforceOptions) => {
      if (!options.dryRun) {
        throw new UsageError(
          'enforcement runs in the enforce Lambda, hourly; `reauth enforce --dry-run` shows what it would do now',
        );
      }
      const policy = loadPolicyFile(options.config);
      const clients = awsClients();
      const table = await openTable(clients, options.table);
      const accountId = await currentAccount(clients);
      const progress = progressReporter();
      const now = new Date();
      progress('reading the credential report, the secrets and the decision table');
      const [iam, secrets, states] = await Promise.all([
        readIamInventory(clients.iam, {
          accountId,
          now,
          reportMaxAgeMinutes: policy.credentialReportMaxAgeMinutes,
          // As the hourly enforce job: no SSH keys (a call per user; the enforcer re-checks a key itself).
          statusCredentials: { sshKeysOf: () => false },
        }),
        readSecretsInventory(clients.secretsManager, { accountId }),
        createDecisionStore(clients.documents, table).loadStates(accountId),
      ]);
      const plan = planEnforcement(states.values(), { ...policy, mode: 'enforce' }, now, {
        size:
          iam.accessKeys.length +
          iam.passwords.length +
          iam.statusCredentials.length +
          iam.roles.length +
          secrets.length,
        generatedAt: iam.reportGeneratedAt,
      });
      const rows = [
        ...plan.actions.map((a) => ({
          would: a.step === 'disable' ? 'disable' : 'deactivate replaced key',
          step: a.step,
          state: a.state,
        })),
        ...plan.heldBack.flatMap((h) =>
          h.states.map((state) => ({ would: `held back: ${h.reason}`, step: 'held-back', state })),
        ),
        ...plan.reminders.map((state) => ({ would: 'remind', step: 'remind', state })),
      ];
      if (options.json) {
        console.log(
          JSON.stringify(
            {
              accountId,
              policyMode: policy.mode,
              actions: plan.actions.map((a) => ({ step: a.step, ...credentialRow(a.state) })),
              reminders: plan.reminders.map(credentialRow),
              heldBack: plan.heldBack.map((h) => ({
                reason: h.reason,
                credentialIds: h.states.map((s) => s.credentialId),
                credentials: h.states.map(credentialRow),
              })),
              budget: plan.budget,
              inventoryAt: iam.reportGeneratedAt.toISOString(),
            },
            null,
            2,
          ),
        );
        outcome.code = options.failOnFindings && rows.length > 0 ? EXIT_FINDINGS : 0;
        return;
      }
      console.log(
        `Dry run for account ${accountId}: what the enforce job would do now in enforce mode (the policy says ${policy.mode}). Nothing is changed or recorded.\n`,
      );
      console.log(
        rows.length === 0
          ? 'Nothing is due.'
          : formatTable(
              ['WOULD', 'KIND', 'PRINCIPAL', 'OWNER', 'DEADLINE', 'WHY'],
              rows.map(({ would, state }) => {
                const row = credentialRow(state);
                return [
                  would,
                  row.kind,
                  row.principal,
                  row.owner,
                  row.deadline?.slice(0, 10) ?? '-',
                  row.why,
                ];
              }),
            ),
      );
      console.log(
        `\nBudget: ${plan.budget.planned} due, ${plan.budget.limit} allowed per run${plan.budget.exceeded ? ': EXCEEDED, so nothing would be done' : ''}. Inventory from ${iam.reportGeneratedAt.toISOString()}.`,
      );
      outcome.code = options.failOnFindings && rows.length > 0 ? EXIT_FINDINGS : 0;
    });
}

/** What a row of the dry run's table shows about a credential, for the table and the JSON alike. */
function credentialRow(state: CredentialState) {
  return {
    credentialId: state.credentialId,
    kind: state.kind,
    principal: state.principal,
    owner: state.owner,
    deadline: state.deadlineAt ?? null,
    why: state.why ?? state.triggers.join(','),
  };
}
