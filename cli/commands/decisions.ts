import type { Command } from 'commander';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { summaryLine } from '../../lambdas/shared/domain/usage-summary';
import { verifyHistory } from '../../lambdas/shared/evidence/chain-check';
import { credentialIdArgument } from '../arguments';
import { awsClients, openTable } from '../aws';
import { formatTable } from '../format';
import type { Outcome } from '../output';

interface DecisionsOptions {
  table?: string;
  json?: boolean;
}

export function registerDecisions(program: Command, outcome: Outcome): void {
  program
    .command('decisions')
    .summary("a credential's decision history, its hash chain checked")
    .description(
      "Prints a credential's decision history and checks its hash chain, anchored on its STATE item (seq and lastHash): exit 1 naming each altered, missing or rewritten decision.",
    )
    .argument('<credentialId>', '<accountId>:<kind>:<id>, as the scan prints it', credentialIdArgument)
    .option('--table <name>', 'the decision table (the stack output TableName); default $REAUTH_TABLE')
    .option('--json', 'print the decisions, the STATE anchor and the chain verdict as JSON')
    .action(async (credentialId: string, options: DecisionsOptions) => {
      const clients = awsClients();
      const table = await openTable(clients, options.table);
      const store = createDecisionStore(clients.documents, table);
      // STATE first: a decision recorded between the two reads then lands past the state's seq, which
      // the anchor allows; read the other way round, it would look like a missing tip.
      const read = await store.getState(credentialId);
      const history = await store.history(credentialId);
      // A credential's first decision recorded between the two reads: its STATE exists by now.
      const state = read ?? (history.length > 0 ? await store.getState(credentialId) : undefined);
      const problems = verifyHistory(history, state);
      if (options.json) {
        console.log(
          JSON.stringify(
            {
              credentialId,
              decisions: history,
              state: state
                ? {
                    seq: state.seq,
                    lastHash: state.lastHash,
                    ...(state.serviceUsage && { serviceUsage: state.serviceUsage }),
                  }
                : null,
              chainValid: problems.length === 0,
              problems,
            },
            null,
            2,
          ),
        );
      } else if (history.length === 0 && problems.length === 0) {
        console.log(`No decisions recorded for ${credentialId}.`);
      } else {
        if (history.length > 0) {
          console.log(
            formatTable(
              ['SEQ', 'AT', 'ACTION', 'ACTOR', 'OWNER', 'MODE', 'REASON'],
              history.map((d) => [String(d.seq), d.at, d.action, d.actor, d.owner, d.mode, d.reason]),
            ),
          );
        }
        if (state?.serviceUsage)
          console.log(
            `\nAccess: ${summaryLine(state.serviceUsage)} (IAM's last-accessed data of ${state.serviceUsage.principalArn}, read ${state.serviceUsage.readAt})`,
          );
        console.log(
          problems.length === 0
            ? `\nHash chain intact: ${history.length} decisions, last hash ${history.at(-1)?.hash.slice(0, 16)}…, matching the STATE item (seq ${state?.seq})`
            : `\nHash chain BROKEN:\n${problems.map((p) => `  seq ${p.seq}${p.at ? ` (${p.at})` : ''}: ${p.problem}`).join('\n')}`,
        );
      }
      outcome.code = problems.length === 0 ? 0 : 1;
    });
}
