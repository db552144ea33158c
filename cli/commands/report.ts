import type { Command } from 'commander';
import { writeEvidenceReport } from '../../lambdas/shared/evidence/evidence-report';
import { PAPER_SIZES, type PaperSize } from '../../lambdas/shared/evidence/report-html';
import { UsageError } from '../errors';
import { exportSource } from '../export-source';
import type { Outcome } from '../output';
import { checkpointKey, formatVerify, verifyJson } from './verify';

interface ReportOptions {
  export: string;
  out: string;
  asOf?: string;
  pdf?: boolean;
  paper: string;
  json?: boolean;
  publicKey?: string;
  keyId?: string;
}

export function registerReport(program: Command, outcome: Outcome): void {
  program
    .command('report')
    .summary('write the evidence report (CSV and HTML) from an export')
    .description(
      "Writes decisions.csv (one row per decision) and report.html (summary, every decision kind, controls, charts, the chain verdict) from an export; exit 1 when a chain is broken, or when --pdf could not print (no Chromium: it says how to get one). Everything is judged as of the export's own time (its manifest), or --as-of; the same export gives the same bytes on every run.",
    )
    .requiredOption('--export <source>', 'the export: s3://bucket/prefix or a directory')
    .option('--out <dir>', 'where to write the report', 'reauth-report')
    .option(
      '--as-of <time>',
      "judge overdue and state as of this ISO 8601 date or time (default: the export's own time)",
    )
    .option(
      '--pdf',
      'also print report.pdf with headless Chromium ($CHROMIUM, else /usr/bin/chromium; `npm run browser:install` installs it)',
    )
    .option(
      '--paper <size>',
      `the page size the report prints to, in report.pdf and from report.html in a browser: ${PAPER_SIZES.join(' or ')}`,
      'a4',
    )
    .option('--json', 'print the verdict, the files written and the row count as JSON')
    .option('--public-key <file>', "check the population records' signatures with this public key (PEM)")
    .option('--key-id <id>', "check the population records' signatures with the KMS key's public key")
    .action(async (options: ReportOptions) => {
      const asOf = options.asOf === undefined ? undefined : parseAsOf(options.asOf);
      const paper = parsePaper(options.paper);
      const { source, s3 } = exportSource(options.export);
      const publicKey = await checkpointKey(options);
      const result = await writeEvidenceReport(source, options.out, {
        s3,
        ...(publicKey && { publicKey }),
        asOf,
        pdf: options.pdf === true,
        paper,
      });
      if (options.json) {
        console.log(
          JSON.stringify(
            {
              ...verifyJson(result),
              asOf: result.asOf,
              csv: result.csvPath,
              html: result.htmlPath,
              ...(options.pdf && { pdf: result.pdfPath ?? null }),
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
      outcome.code = result.verdict.issues.length === 0 && !result.pdfUnavailable ? 0 : 1;
    });
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

/** `--paper`: one of the sizes the print stylesheet knows, in any case (A4 or a4). */
function parsePaper(text: string): PaperSize {
  const paper = PAPER_SIZES.find((size) => size === text.toLowerCase());
  if (!paper) throw new UsageError(`--paper "${text}" is not a page size: use ${PAPER_SIZES.join(' or ')}`);
  return paper;
}
