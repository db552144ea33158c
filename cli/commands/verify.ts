import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createKmsClient } from '../../lambdas/shared/adapters/aws-clients';
import { readCheckpointPublicKey } from '../../lambdas/shared/adapters/checkpoint-signer';
import type { ChainIssue } from '../../lambdas/shared/evidence/chain-check';
import { type VerifyResult, verifyExport } from '../../lambdas/shared/evidence/evidence-report';
import { checkProfile } from '../aws';
import { UsageError } from '../errors';
import { exportSource } from '../export-source';
import type { Outcome } from '../output';

interface VerifyOptions {
  export: string;
  json?: boolean;
  publicKey?: string;
  keyId?: string;
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
    .option(
      '--public-key <file>',
      "check each population record's signature with the checkpoint key's public key (PEM, offline)",
    )
    .option(
      '--key-id <id>',
      "check each population record's signature with the checkpoint key's public key, read from KMS (kms:GetPublicKey)",
    )
    .action(async (options: VerifyOptions) => {
      const { source, s3 } = exportSource(options.export);
      const publicKey = await checkpointKey(options);
      const result = await verifyExport(source, { s3, ...(publicKey && { publicKey }) });
      console.log(options.json ? JSON.stringify(verifyJson(result), null, 2) : formatVerify(result));
      outcome.code = result.verdict.issues.length === 0 ? 0 : 1;
    });
}

/** The public key --public-key or --key-id names; neither: signatures are counted, not checked. */
export async function checkpointKey(options: {
  publicKey?: string;
  keyId?: string;
}): Promise<KeyObject | undefined> {
  if (options.publicKey && options.keyId) throw new UsageError('give --public-key or --key-id, not both');
  if (options.publicKey) {
    const pem = await readFile(options.publicKey, 'utf8').catch((error: Error) => {
      throw new UsageError(`cannot read --public-key ${options.publicKey}: ${error.message}`);
    });
    try {
      return createPublicKey(pem);
    } catch (error) {
      throw new UsageError(
        `--public-key ${options.publicKey} holds no public key: ${(error as Error).message}`,
      );
    }
  }
  if (options.keyId) {
    checkProfile(process.env);
    return createPublicKey(await readCheckpointPublicKey(createKmsClient(), options.keyId));
  }
  return undefined;
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
    populationSignatures: verdict.populationSignatures ?? { checked: false, signed: 0, unsigned: 0 },
    decisionHeads: verdict.decisionHeads ?? { accounts: 0, chains: 0, unchecked: 0 },
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
  const signatures = verdict.populationSignatures;
  if (signatures && verdict.populationRecords) {
    const counts = `${signatures.signed} signed, ${signatures.unsigned} unsigned`;
    lines.push(
      signatures.checked
        ? verdict.issues.length === 0
          ? `Every population record's signature verifies with the public key given (${counts}).`
          : `Population signatures checked with the public key given (${counts}).`
        : `Population signatures NOT checked (${counts}): give --public-key <file> or --key-id <id> to check them.`,
    );
  }
  const heads = verdict.decisionHeads;
  if (heads && verdict.populationRecords) {
    const against = signatures?.checked
      ? "each account's latest population record whose signature verifies"
      : "each account's latest population record (signatures not checked)";
    lines.push(
      `Decision chain heads: ${heads.chains} chains of ${heads.accounts} accounts checked against ${against}` +
        (heads.unchecked > 0
          ? `; ${heads.unchecked} accounts NOT checked (no ${signatures?.checked ? 'verified ' : ''}record names its heads).`
          : '.'),
    );
  }
  return lines.join('\n');
}

function formatIssue(issue: ChainIssue): string {
  const at = issue.at ? ` at ${issue.at}` : '';
  const key = `pk=${issue.pk}${issue.sk ? ` sk=${issue.sk}` : ''}`;
  const where = issue.where ? ` [${issue.where}]` : '';
  return `  ${issue.credentialId} seq ${issue.seq}${at} (${key})${where}: ${issue.problem}`;
}
