import type { Command } from 'commander';
import type { ChainIssue } from '../../lambdas/shared/evidence/chain-check';
import { type VerifyResult, verifyExport } from '../../lambdas/shared/evidence/evidence-report';
import { exportSource } from '../export-source';
import type { Outcome } from '../output';

interface VerifyOptions {
  export: string;
  json?: boolean;
}

export function registerVerify(program: Command, outcome: Outcome): void {
  program
    .command('verify')
    .summary('check every hash chain in an export of the decision table')
    .description(
      'Checks every hash chain in a DynamoDB export of the decision table (DYNAMODB_JSON, gzipped): exit 0 when all are intact, 1 naming each altered, missing or misplaced decision, and 1 when there is nothing to check (no export at that path, or one that holds no items).',
    )
    .requiredOption('--export <source>', 'the export: s3://bucket/prefix or a directory')
    .option('--json', 'print the verdict and every problem as JSON')
    .action(async (options: VerifyOptions) => {
      const { source, s3 } = exportSource(options.export);
      const result = await verifyExport(source, { s3 });
      console.log(options.json ? JSON.stringify(verifyJson(result), null, 2) : formatVerify(result));
      outcome.code = result.verdict.issues.length === 0 ? 0 : 1;
    });
}

/** The verdict as JSON: what `verify --json` prints, and the start of `report --json`. */
export function verifyJson(result: VerifyResult) {
  const { verdict } = result;
  return {
    export: result.source,
    files: result.files,
    items: result.items,
    credentials: verdict.credentials,
    decisions: verdict.decisions,
    duplicates: verdict.duplicates,
    populationRecords: verdict.populationRecords ?? 0,
    chainsIntact: verdict.issues.length === 0,
    problems: verdict.issues,
  };
}

/** The human verdict: a summary line, then "all N chains intact" or each broken item. */
export function formatVerify(result: VerifyResult): string {
  const { verdict } = result;
  const lines = [
    `Export ${result.source}: ${result.files} files, ${verdict.credentials} credentials, ${verdict.decisions} decisions, ${verdict.populationRecords ?? 0} scan population records` +
      (verdict.duplicates > 0 ? ` (${verdict.duplicates} duplicates across exports counted once)` : ''),
  ];
  if (verdict.issues.length === 0) {
    lines.push(
      `All ${verdict.credentials} chains intact${verdict.populationRecords ? ", and every account's population chain" : ''}.`,
    );
  } else {
    lines.push(`Hash chains BROKEN: ${verdict.issues.length} problems`, ...verdict.issues.map(formatIssue));
  }
  return lines.join('\n');
}

function formatIssue(issue: ChainIssue): string {
  const at = issue.at ? ` at ${issue.at}` : '';
  const key = `pk=${issue.pk}${issue.sk ? ` sk=${issue.sk}` : ''}`;
  const where = issue.where ? ` [${issue.where}]` : '';
  return `  ${issue.credentialId} seq ${issue.seq}${at} (${key})${where}: ${issue.problem}`;
}
