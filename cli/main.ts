import { parseArgs } from 'node:util';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { type AwsClients, createAwsClients } from '../lambdas/shared/adapters/aws-clients';
import { createDecisionStore } from '../lambdas/shared/adapters/decision-store';
import { readIamInventory } from '../lambdas/shared/adapters/iam-inventory';
import { readSecretsInventory } from '../lambdas/shared/adapters/secrets-inventory';
import { parseCredentialId } from '../lambdas/shared/domain/credential';
import { planEnforcement } from '../lambdas/shared/domain/deadlines';
import { REAUTH_EVENT_SOURCE, REAUTH_EVENTS, type ReauthEventType } from '../lambdas/shared/events/schemas';
import { type ChainIssue, verifyHistory } from '../lambdas/shared/evidence/chain-check';
import {
  type VerifyResult,
  verifyExport,
  writeEvidenceReport,
} from '../lambdas/shared/evidence/evidence-report';
import { type ExportSource, parseExportSource } from '../lambdas/shared/evidence/export-reader';
import { loadPolicyFile } from '../lambdas/shared/policy-file';
import { type ScanReport, scanAccount } from '../lambdas/shared/use-cases/scan-account';
import { ensureDecisionTable } from '../scripts/local/decision-table';
import { formatTable } from './format';

const USAGE = `reauth — keeps machine credentials honest

Usage:
  reauth scan [--config reauth.config.json] [--table NAME] [--json]
      Scan the account of the current AWS credentials (or the emulator at AWS_ENDPOINT_URL)
      and record findings. Changes nothing in IAM or Secrets Manager unless the config says enforce.
  reauth decisions <credentialId> [--table NAME] [--json]
      A credential's decision history, with its hash chain checked and anchored on its STATE item
      (seq and lastHash): exit 1 naming each altered, missing or rewritten decision.
  reauth enforce --dry-run [--config reauth.config.json] [--table NAME] [--json]
      What the hourly enforce job would do now if the policy said enforce: reminders, disables,
      and what the safety rails (budget, freshness, protected principals) would hold back.
      Reads only: nothing is changed or recorded.
  reauth emit <type> [--owner ID] [--credential-id ID | --tag KEY=VALUE] [--reason TEXT]
                     [--new-role ROLE] [--provider NAME] [--bus reauth]
      Publishes one of reauth's events on its bus (what HR and ITSM systems send with PutEvents):
      "Owner Departed", "Owner Role Changed" (--owner); "Purpose Changed",
      "Provider Scope Changed" (--credential-id or --tag). Validated before it is sent.
  reauth verify --export <s3://bucket/prefix | dir> [--json]
      Checks every hash chain in a DynamoDB export of the decision table (DYNAMODB_JSON, gzipped):
      exit 0 when all are intact, 1 naming each altered, missing or misplaced decision, and 1 when
      there is nothing to check (no export at that path, or one that holds no items).
  reauth report --export <s3://bucket/prefix | dir> [--out reauth-report] [--as-of ISO] [--pdf] [--json]
      Writes decisions.csv (one row per decision) and report.html (summary, every decision kind,
      controls, charts, the chain verdict) from an export; exit 1 when a chain is broken, or when
      --pdf could not print (no Chromium: it says how to get one).
      Everything is judged as of the export's own time (its manifest), or --as-of; the same export
      gives the same bytes on every run. --pdf also prints report.pdf with headless Chromium
      ($CHROMIUM, else /usr/bin/chromium; \`npm run browser:install\` installs it).

The table is --table, else $REAUTH_TABLE; against the local emulator it defaults to
"reauth-decisions" and is created when missing.`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Runs one command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case 'scan':
        return await scanCommand(rest);
      case 'decisions':
        return await decisionsCommand(rest);
      case 'enforce':
        return await enforceCommand(rest);
      case 'emit':
        return await emitCommand(rest);
      case 'verify':
        return await verifyCommand(rest);
      case 'report':
        return await reportCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    const err = error as Error;
    console.error(`reauth: ${err.message}`);
    if (err instanceof UsageError) console.error(`\n${USAGE}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

function parse(args: string[], allowPositionals: boolean) {
  try {
    return parseArgs({
      args,
      allowPositionals,
      options: {
        config: { type: 'string', default: 'reauth.config.json' },
        table: { type: 'string' },
        json: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        owner: { type: 'string' },
        'credential-id': { type: 'string' },
        tag: { type: 'string' },
        reason: { type: 'string' },
        'new-role': { type: 'string' },
        provider: { type: 'string' },
        bus: { type: 'string', default: 'reauth' },
        export: { type: 'string' },
        out: { type: 'string', default: 'reauth-report' },
        'as-of': { type: 'string' },
        pdf: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function openTable(clients: AwsClients, flag: string | undefined): Promise<string> {
  const local = Boolean(process.env.AWS_ENDPOINT_URL);
  const table = flag ?? process.env.REAUTH_TABLE ?? (local ? 'reauth-decisions' : undefined);
  if (!table)
    throw new UsageError('no decision table: pass --table (the stack output TableName) or set REAUTH_TABLE');
  if (local) await ensureDecisionTable(clients.dynamodb, table);
  return table;
}

async function scanCommand(args: string[]): Promise<number> {
  const { values } = parse(args, false);
  const policy = loadPolicyFile(values.config);
  const clients = createAwsClients();
  const table = await openTable(clients, values.table);
  const { Account } = await clients.sts.send(new GetCallerIdentityCommand({}));
  if (!Account) throw new Error('STS GetCallerIdentity returned no account');
  const progress = (message: string) => {
    if (!values.json || process.stderr.isTTY) console.error(`… ${message}`);
  };
  const report = await scanAccount(
    {
      iam: clients.iam,
      secretsManager: clients.secretsManager,
      store: createDecisionStore(clients.documents, table),
    },
    { accountId: Account, policy, now: new Date(), onProgress: progress },
  );
  console.log(values.json ? JSON.stringify(report, null, 2) : formatScanReport(report));
  return 0;
}

/** The human view of a scan: a table of findings, then what was spared and what was recorded. */
export function formatScanReport(report: ScanReport): string {
  const findings = report.rows.filter((row) => row.outcome === 'finding');
  const spared = report.rows.filter((row) => row.outcome !== 'finding');
  const { accessKeys, secrets, roles } = report.inventory;
  const lines = [
    `Account ${report.accountId}, ${report.mode} mode, policy ${report.policyId}`,
    `Inventory: ${accessKeys} active access keys, ${secrets} secrets, ${roles} roles in scope`,
    '',
    findings.length === 0
      ? 'No credential needs reauthorization.'
      : formatTable(
          ['KIND', 'PRINCIPAL', 'ID', 'OWNER', 'WHY', 'LAST USED', 'RECORD'],
          findings.map((row) => [
            row.kind,
            row.principal,
            shortId(row.credentialId),
            row.owner,
            row.triggers.join(','),
            row.lastUsedAt ? `${row.lastUsedAt.slice(0, 10)} (${row.idleDays}d)` : `never (${row.idleDays}d)`,
            row.record,
          ]),
        ),
  ];
  if (spared.length > 0) {
    lines.push('', 'Spared:', ...spared.map((row) => `  ${row.kind} ${row.principal}: ${row.reason}`));
  }
  lines.push(
    '',
    `${findings.length} need reauthorization; ${report.decisionsWritten} decisions recorded this run` +
      (report.mode === 'report' ? ' (report mode: nothing in IAM or Secrets Manager was changed).' : '.'),
  );
  if (report.cleared.length > 0)
    lines.push(`No longer needing an answer (the finding went away): ${report.cleared.join(', ')}`);
  if (report.unresolved.length > 0)
    lines.push(`Not resolved (rotated meanwhile): ${report.unresolved.join(', ')}`);
  return lines.join('\n');
}

function shortId(credentialId: string): string {
  const { kind, id } = parseCredentialId(credentialId);
  return kind === 'secret' ? (id.split(':').pop() ?? id) : id;
}

async function decisionsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, true);
  const [credentialId] = positionals;
  if (!credentialId || positionals.length > 1)
    throw new UsageError('decisions takes exactly one credential id');
  parseCredentialId(credentialId);
  const clients = createAwsClients();
  const table = await openTable(clients, values.table);
  const store = createDecisionStore(clients.documents, table);
  // STATE first: a decision recorded between the two reads then lands past the state's seq, which the
  // anchor allows; read the other way round, it would look like a missing tip.
  const read = await store.getState(credentialId);
  const history = await store.history(credentialId);
  // A credential's first decision recorded between the two reads: its STATE exists by now.
  const state = read ?? (history.length > 0 ? await store.getState(credentialId) : undefined);
  const problems = verifyHistory(history, state);
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          credentialId,
          decisions: history,
          state: state ? { seq: state.seq, lastHash: state.lastHash } : null,
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
    console.log(
      problems.length === 0
        ? `\nHash chain intact: ${history.length} decisions, last hash ${history.at(-1)?.hash.slice(0, 16)}…, matching the STATE item (seq ${state?.seq})`
        : `\nHash chain BROKEN:\n${problems.map((p) => `  seq ${p.seq}${p.at ? ` (${p.at})` : ''}: ${p.problem}`).join('\n')}`,
    );
  }
  return problems.length === 0 ? 0 : 1;
}

async function enforceCommand(args: string[]): Promise<number> {
  const { values } = parse(args, false);
  if (!values['dry-run']) {
    throw new UsageError(
      'enforcement runs in the enforce Lambda, hourly; `reauth enforce --dry-run` shows what it would do now',
    );
  }
  const policy = loadPolicyFile(values.config);
  const clients = createAwsClients();
  const table = await openTable(clients, values.table);
  const { Account } = await clients.sts.send(new GetCallerIdentityCommand({}));
  if (!Account) throw new Error('STS GetCallerIdentity returned no account');
  const now = new Date();
  const [iam, secrets, states] = await Promise.all([
    readIamInventory(clients.iam, {
      accountId: Account,
      now,
      reportMaxAgeMinutes: policy.credentialReportMaxAgeMinutes,
    }),
    readSecretsInventory(clients.secretsManager, { accountId: Account }),
    createDecisionStore(clients.documents, table).loadStates(Account),
  ]);
  const plan = planEnforcement(states.values(), { ...policy, mode: 'enforce' }, now, {
    size: iam.accessKeys.length + iam.roles.length + secrets.length,
    generatedAt: iam.reportGeneratedAt,
  });
  if (values.json) {
    const ids = (list: { credentialId: string }[]) => list.map((s) => s.credentialId);
    console.log(
      JSON.stringify(
        {
          accountId: Account,
          policyMode: policy.mode,
          actions: plan.actions.map((a) => ({ step: a.step, credentialId: a.state.credentialId })),
          reminders: ids(plan.reminders.map((r) => r.state)),
          heldBack: plan.heldBack.map((h) => ({ reason: h.reason, credentialIds: ids(h.states) })),
          budget: plan.budget,
          inventoryAt: iam.reportGeneratedAt.toISOString(),
        },
        null,
        2,
      ),
    );
    return 0;
  }
  const rows = [
    ...plan.actions.map(
      (a) => [a.step === 'disable' ? 'disable' : 'deactivate replaced key', a.state] as const,
    ),
    ...plan.heldBack.flatMap((h) => h.states.map((s) => [`held back: ${h.reason}`, s] as const)),
    ...plan.reminders.map((r) => ['remind', r.state] as const),
  ];
  console.log(
    `Dry run for account ${Account}: what the enforce job would do now in enforce mode (the policy says ${policy.mode}). Nothing is changed or recorded.\n`,
  );
  console.log(
    rows.length === 0
      ? 'Nothing is due.'
      : formatTable(
          ['WOULD', 'KIND', 'PRINCIPAL', 'OWNER', 'DEADLINE', 'WHY'],
          rows.map(([what, s]) => [
            what,
            s.kind,
            s.principal,
            s.owner,
            s.deadlineAt?.slice(0, 10) ?? '-',
            s.why ?? s.triggers.join(','),
          ]),
        ),
  );
  console.log(
    `\nBudget: ${plan.budget.planned} due, ${plan.budget.limit} allowed per run${plan.budget.exceeded ? ': EXCEEDED, so nothing would be done' : ''}. Inventory from ${iam.reportGeneratedAt.toISOString()}.`,
  );
  return 0;
}

async function emitCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, true);
  const [type] = positionals;
  if (!type || positionals.length > 1 || !(type in REAUTH_EVENTS)) {
    throw new UsageError(
      `emit takes one event type: ${Object.keys(REAUTH_EVENTS)
        .map((t) => `"${t}"`)
        .join(', ')}`,
    );
  }
  const [tagKey, ...tagValue] = (values.tag ?? '').split('=');
  const selector = {
    ...(values['credential-id'] && { credentialId: values['credential-id'] }),
    ...(values.tag && { tag: { key: tagKey, value: tagValue.join('=') } }),
  };
  const detail = {
    schemaVersion: 1,
    ...(values.owner && { owner: values.owner }),
    ...(Object.keys(selector).length > 0 && { selector }),
    ...(values.reason && { reason: values.reason }),
    ...(values['new-role'] && { newRole: values['new-role'] }),
    ...(values.provider && { provider: values.provider }),
  };
  const checked = REAUTH_EVENTS[type as ReauthEventType].detail.safeParse(detail);
  if (!checked.success) {
    throw new UsageError(
      `"${type}": ${checked.error.issues.map((i) => `${i.path.join('.') || 'detail'}: ${i.message}`).join('; ')}`,
    );
  }
  const { Entries = [], FailedEntryCount } = await createAwsClients().events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: values.bus,
          Source: REAUTH_EVENT_SOURCE,
          DetailType: type,
          Detail: JSON.stringify(checked.data),
        },
      ],
    }),
  );
  if (FailedEntryCount)
    throw new Error(`EventBridge refused the event: ${Entries[0]?.ErrorCode} ${Entries[0]?.ErrorMessage}`);
  console.log(
    values.json
      ? JSON.stringify({ eventId: Entries[0]?.EventId, type, detail: checked.data })
      : `sent "${type}" (event ${Entries[0]?.EventId}) to bus ${values.bus}`,
  );
  return 0;
}

/** The export named by --export, and an S3 client when it is in S3. */
function exportSource(flag: string | undefined): { source: ExportSource; s3?: S3Client } {
  if (!flag) throw new UsageError('--export is required: s3://bucket/prefix or a directory');
  const source = parseExportSource(flag);
  if (source.kind === 'dir') return { source };
  // The emulator serves S3 on one host: path-style addressing there.
  return { source, s3: createAwsClients().s3 };
}

async function verifyCommand(args: string[]): Promise<number> {
  const { values } = parse(args, false);
  const { source, s3 } = exportSource(values.export);
  const result = await verifyExport(source, { s3 });
  console.log(values.json ? JSON.stringify(verifyJson(result), null, 2) : formatVerify(result));
  return result.verdict.issues.length === 0 ? 0 : 1;
}

async function reportCommand(args: string[]): Promise<number> {
  const { values } = parse(args, false);
  const { source, s3 } = exportSource(values.export);
  const asOf = values['as-of'] === undefined ? undefined : parseAsOf(values['as-of']);
  const result = await writeEvidenceReport(source, values.out, { s3, asOf, pdf: values.pdf });
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          ...verifyJson(result),
          asOf: result.asOf,
          csv: result.csvPath,
          html: result.htmlPath,
          ...(values.pdf && { pdf: result.pdfPath ?? null }),
          rows: result.rows,
        },
        null,
        2,
      ),
    );
  } else {
    console.log(formatVerify(result));
    console.log(
      `\nJudged as of ${result.asOf}. Wrote ${result.csvPath} (${result.rows} decisions), ${result.htmlPath}` +
        (result.pdfPath ? ` and ${result.pdfPath}.` : '.'),
    );
  }
  // Asked for a PDF and got none: the CSV and HTML are written, but the run did not do what was asked.
  if (result.pdfUnavailable) console.error(`reauth: --pdf: ${result.pdfUnavailable}`);
  return result.verdict.issues.length === 0 && !result.pdfUnavailable ? 0 : 1;
}

/** `--as-of`: an ISO 8601 date or date-time; a bare date means its start, UTC. */
function parseAsOf(text: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;
  const at = new Date(text);
  if (!iso.test(text) || Number.isNaN(at.getTime())) {
    throw new UsageError(`--as-of "${text}" is not an ISO 8601 time (2026-10-01 or 2026-10-01T12:00:00Z)`);
  }
  return at;
}

function verifyJson(result: VerifyResult) {
  const { verdict } = result;
  return {
    export: result.source,
    files: result.files,
    items: result.items,
    credentials: verdict.credentials,
    decisions: verdict.decisions,
    duplicates: verdict.duplicates,
    chainsIntact: verdict.issues.length === 0,
    problems: verdict.issues,
  };
}

/** The human verdict: a summary line, then "all N chains intact" or each broken item. */
export function formatVerify(result: VerifyResult): string {
  const { verdict } = result;
  const lines = [
    `Export ${result.source}: ${result.files} files, ${verdict.credentials} credentials, ${verdict.decisions} decisions` +
      (verdict.duplicates > 0 ? ` (${verdict.duplicates} duplicates across exports counted once)` : ''),
  ];
  if (verdict.issues.length === 0) {
    lines.push(`All ${verdict.credentials} chains intact.`);
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
