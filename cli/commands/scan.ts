import type { Command } from 'commander';
import { createKmsClient } from '../../lambdas/shared/adapters/aws-clients';
import { createCheckpointSigner } from '../../lambdas/shared/adapters/checkpoint-signer';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import type { CheckpointSigner } from '../../lambdas/shared/domain/checkpoint';
import { isStatusCredential, parseCredentialId } from '../../lambdas/shared/domain/credential';
import { describeAwsServiceAccounts } from '../../lambdas/shared/domain/evaluate';
import {
  describeTrust,
  STATUS_CREDENTIAL_NAMES,
  shortName,
  usedWhere,
} from '../../lambdas/shared/domain/identification';
import { OWNER_SOURCES } from '../../lambdas/shared/domain/owners';
import { describeUsageChange } from '../../lambdas/shared/domain/usage';
import { loadPolicyFile } from '../../lambdas/shared/policy-file';
import { type ScanReport, type ScanRow, scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { awsClients, currentAccount, openTable } from '../aws';
import { describeError } from '../errors';
import { formatTable } from '../format';
import { EXIT_FINDINGS, type Outcome, progressReporter } from '../output';

interface ScanOptions {
  config: string;
  table?: string;
  json?: boolean;
  failOnFindings?: boolean;
  keyId?: string;
}

export function registerScan(program: Command, outcome: Outcome): void {
  program
    .command('scan')
    .summary('scan this account and record the findings')
    .description(
      'Scans the account of the current AWS credentials (or the emulator at AWS_ENDPOINT_URL) and records the findings in the decision table. Changes nothing in IAM or Secrets Manager unless the policy says enforce (and even then, only the enforce job acts). Exit 0 with or without findings, unless --fail-on-findings: then 3 when any credential needs reauthorization.',
    )
    .option('--config <file>', 'the policy file', 'reauth.config.json')
    .option('--table <name>', 'the decision table (the stack output TableName); default $REAUTH_TABLE')
    .option('--json', 'print the scan report as JSON: every row, the inventory counts and what was recorded')
    .option(
      '--key-id <id>',
      "sign the scan's population record with the checkpoint key (the stack output CheckpointKeyArn; kms:Sign), as the scheduled scan does; default $REAUTH_CHECKPOINT_KEY_ID. Without one the record is written unsigned, and reauth verify with a public key names it",
    )
    .option(
      '--fail-on-findings',
      'exit 3 when any credential needs reauthorization (the findings are recorded all the same)',
    )
    .action(async (options: ScanOptions) => {
      const policy = loadPolicyFile(options.config);
      const clients = awsClients();
      const table = await openTable(clients, options.table);
      const accountId = await currentAccount(clients);
      const keyId = options.keyId ?? process.env.REAUTH_CHECKPOINT_KEY_ID;
      const report = await scanAccount(
        {
          iam: clients.iam,
          secretsManager: clients.secretsManager,
          store: createDecisionStore(clients.documents, table),
          stacks: stackOwnersOfThisAccount(),
          ...(keyId && { signer: await checkpointSigner(keyId) }),
        },
        { accountId, policy, now: new Date(), onProgress: progressReporter() },
      );
      console.log(options.json ? JSON.stringify(report, null, 2) : formatScanReport(report));
      const findings = report.rows.some((row) => row.outcome === 'finding');
      outcome.code = options.failOnFindings && findings ? EXIT_FINDINGS : 0;
    });
}

/**
 * The --key-id signer, tried once on a digest of zeros (no record hashes to it) before the scan: an
 * identity the key's policy denies fails here, before any decision is recorded, not at the record.
 */
async function checkpointSigner(keyId: string): Promise<CheckpointSigner> {
  const signer = createCheckpointSigner(createKmsClient(), keyId);
  try {
    await signer('0'.repeat(64));
  } catch (error) {
    throw new Error(
      `cannot sign with --key-id ${keyId} (${describeError(error)}): the stack's checkpoint key lets only the scan and enforce functions' roles sign; run as one of them, or leave --key-id out and the population record is written unsigned`,
      { cause: error },
    );
  }
  return signer;
}

/**
 * The human view of a scan: a table of findings, each followed by an indented line with what its owner
 * needs to recognise it, then what was spared and what was recorded.
 */
export function formatScanReport(report: ScanReport): string {
  const findings = report.rows.filter((row) => row.outcome === 'finding');
  const spared = report.rows.filter((row) => row.outcome !== 'finding');
  const { accessKeys, passwords, signingCertificates, sshKeys, serviceCredentials, secrets, roles } =
    report.inventory;
  const lines = [
    `Account ${report.accountId}, ${report.mode} mode, policy ${report.policyId}`,
    `Inventory: ${accessKeys} active access keys, ${passwords} console passwords, ${signingCertificates} signing certificates, ${sshKeys} SSH public keys, ${serviceCredentials} service-specific credentials, ${secrets} secrets, ${roles} roles in scope`,
    '',
    findings.length === 0 ? 'No credential needs reauthorization.' : formatFindings(findings),
  ];
  if (findings.length > 0) lines.push('', `Owners found by: ${countBySource(findings)}`);
  // Trust findings first, a likely backdoor before anything: each says what is open and what an attacker needs.
  const backdoors = findings.filter((row) => row.identification.awsServiceAccounts);
  if (backdoors.length > 0) {
    lines.push(
      '',
      'Likely backdoors (aws-service-account-trusted):',
      ...backdoors.map(
        (row) =>
          `  ${row.kind} ${shortName(row.principal, MAX_TABLE_NAME)}: ${describeAwsServiceAccounts(row.identification.awsServiceAccounts ?? {})}`,
      ),
    );
  }
  const tooBroad = findings.filter((row) => row.openTrust);
  if (tooBroad.length > 0) {
    lines.push(
      '',
      'Trust too broad (trust-too-broad):',
      ...tooBroad.flatMap((row) =>
        (row.openTrust ?? []).map(
          (open) => `  ${row.kind} ${shortName(row.principal, MAX_TABLE_NAME)}: ${open.why}`,
        ),
      ),
    );
  }
  const usageChanged = findings.filter((row) => row.usageChange);
  if (usageChanged.length > 0) {
    lines.push(
      '',
      'Used in a new way (usage-changed):',
      ...usageChanged.map(
        (row) =>
          `  ${row.kind} ${shortName(row.principal, MAX_TABLE_NAME)}: ${row.usageChange ? describeUsageChange(row.usageChange) : ''}`,
      ),
    );
  }
  const overPrivileged = findings.filter((row) => row.triggers.includes('over-privileged'));
  if (overPrivileged.length > 0) {
    lines.push(
      '',
      'Over-privileged (over-privileged):',
      ...overPrivileged.map(
        (row) =>
          `  ${row.kind} ${shortName(row.principal, MAX_TABLE_NAME)}: ${[row.usage, row.unused].filter(Boolean).join('; ')}`,
      ),
    );
  }
  if (report.serviceUsage.unavailable.length > 0) {
    lines.push(
      '',
      "Service usage unavailable (IAM's last-accessed job failed; their requests go without the usage line):",
      ...report.serviceUsage.unavailable.map((why) => `  ${why}`),
    );
  }
  if (spared.length > 0) {
    lines.push('', 'Spared:', ...spared.map((row) => `  ${row.kind} ${row.principal}: ${row.reason}`));
  }
  lines.push(
    '',
    `${findings.length} need reauthorization; ${report.decisionsWritten} decisions recorded this run` +
      (report.usageLearned > 0 ? `; ${report.usageLearned} credentials learned where they are used` : '') +
      (report.mode === 'report' ? ' (report mode: nothing in IAM or Secrets Manager was changed).' : '.'),
  );
  const { population } = report;
  lines.push(
    population.signedBy
      ? `Population record ${population.seq} signed with ${population.signedBy}.`
      : `Population record ${population.seq} written UNSIGNED (no --key-id): reauth verify with the public key will name it.`,
  );
  if (report.cleared.length > 0)
    lines.push(`No longer needing an answer (the finding went away): ${report.cleared.join(', ')}`);
  if (report.unresolved.length > 0)
    lines.push(`Not resolved (rotated meanwhile): ${report.unresolved.join(', ')}`);
  return lines.join('\n');
}

/** `4 tag, 2 group, 1 creator, 1 fallback`: where the findings' owners came from, in the chain's order. */
function countBySource(rows: readonly ScanRow[]): string {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.ownerSource.source, (counts.get(row.ownerSource.source) ?? 0) + 1);
  return [...OWNER_SOURCES, 'fallback']
    .filter((source) => counts.has(source))
    .map((source) => `${counts.get(source)} ${source}`)
    .join(', ');
}

/** A name in the table: the line under it gives a secret's full ARN. */
const MAX_TABLE_NAME = 60;

function formatFindings(findings: ScanRow[]): string {
  const [header, rule, ...lines] = formatTable(
    ['KIND', 'PRINCIPAL', 'ID', 'OWNER', 'WHY', 'LAST USED', 'RECORD'],
    findings.map((row) => [
      row.kind,
      shortName(row.principal, MAX_TABLE_NAME),
      shortName(shortId(row.credentialId), MAX_TABLE_NAME),
      `${row.owner} (${row.ownerSource.source})`,
      row.triggers.join(','),
      isStatusCredential(row.kind)
        ? 'not recorded'
        : row.lastUsedAt
          ? `${row.lastUsedAt.slice(0, 10)} (${row.idleDays}d)`
          : `never (${row.idleDays}d)`,
      row.record,
    ]),
  ).split('\n');
  return [
    header,
    rule,
    ...lines.flatMap((line, i) => [line, `    ${identificationOf(findings[i] as ScanRow)}`]),
  ].join('\n');
}

/**
 * Beside the table's key id and user, an access key's creation and where it was last used; a
 * password's user and when it was set; a status credential's kind, creation and service; a secret's
 * full ARN; whom a role trusts and whether they need an ExternalId.
 */
function identificationOf(row: ScanRow): string {
  const { kind, id } = parseCredentialId(row.credentialId);
  const where = row.lastUsedAt ? usedWhere(row.identification) : '';
  const lastUsedIn = where && `last used in ${where}`;
  const facts = isStatusCredential(kind)
    ? [
        `${STATUS_CREDENTIAL_NAMES[kind]}, created ${row.identification.createdAt.slice(0, 10)}`,
        row.identification.serviceName && `for ${row.identification.serviceName}`,
        'IAM records no last use',
      ]
    : kind === 'access-key'
      ? [`created ${row.identification.createdAt.slice(0, 10)}`, lastUsedIn]
      : kind === 'password'
        ? [`console password of user ${id}, set ${row.identification.createdAt.slice(0, 10)}`]
        : kind === 'secret'
          ? [id]
          : [`trusts ${describeTrust(row.identification)}`, lastUsedIn];
  return [...facts, row.usage].filter(Boolean).join(', ');
}

function shortId(credentialId: string): string {
  const { kind, id } = parseCredentialId(credentialId);
  return kind === 'secret' ? (id.split(':').pop() ?? id) : id;
}
