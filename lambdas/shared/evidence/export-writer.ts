import { createHash, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { marshall } from '@aws-sdk/util-dynamodb';

const gzipAsync = promisify(gzip);

/**
 * Writes items as DynamoDB writes an export to S3, in a local directory: `AWSDynamoDB/<exportId>/
 * data/<id>.json.gz` (DYNAMODB_JSON lines), `manifest-files.json` and `manifest-summary.json`. For the
 * tests, the benchmark and local drills; the real exports come from `ExportTableToPointInTime`.
 */
export interface ExportWriter {
  /** One data file holding these items. Returns its path. */
  addFile(items: Iterable<Record<string, unknown>>): Promise<string>;
  /** Writes the manifests; returns the export's directory. */
  close(): Promise<string>;
}

export function createExportWriter(
  root: string,
  options: {
    exportId?: string;
    incremental?: boolean;
    tableArn?: string;
    /** The time the export is consistent to (ISO), as DynamoDB writes it. @default now */
    exportTime?: string;
    /** An incremental export's start (ISO). @default a day before `exportTime` */
    exportFromTime?: string;
  } = {},
): ExportWriter {
  const exportId = options.exportId ?? `${Date.now()}-${randomUUID().slice(0, 8)}`;
  const exportDir = join(root, 'AWSDynamoDB', exportId);
  const manifest: { itemCount: number; md5Checksum: string; dataFileS3Key: string }[] = [];
  return {
    async addFile(items) {
      await mkdir(join(exportDir, 'data'), { recursive: true });
      let count = 0;
      const lines: string[] = [];
      for (const item of items) {
        count += 1;
        lines.push(exportLine(item, options.incremental ?? false));
      }
      const body = await gzipAsync(lines.join(''));
      const key = `AWSDynamoDB/${exportId}/data/${randomUUID().replaceAll('-', '').slice(0, 26)}.json.gz`;
      await writeFile(join(root, key), body);
      manifest.push({
        itemCount: count,
        md5Checksum: createHash('md5').update(body).digest('base64'),
        dataFileS3Key: key,
      });
      return join(root, key);
    },
    async close() {
      await mkdir(exportDir, { recursive: true });
      const exportTime = options.exportTime ?? new Date().toISOString();
      const window = options.incremental
        ? {
            exportFromTime:
              options.exportFromTime ?? new Date(Date.parse(exportTime) - 86_400_000).toISOString(),
            exportToTime: exportTime,
          }
        : {};
      await writeFile(
        join(exportDir, 'manifest-files.json'),
        manifest.map((entry) => `${JSON.stringify(entry)}\n`).join(''),
      );
      await writeFile(
        join(exportDir, 'manifest-summary.json'),
        JSON.stringify({
          version: '2020-06-30',
          exportArn: `${options.tableArn ?? 'arn:aws:dynamodb:us-east-1:000000000000:table/reauth-decisions'}/export/${exportId}`,
          exportType: options.incremental ? 'INCREMENTAL_EXPORT' : 'FULL_EXPORT',
          exportTime,
          ...window,
          outputFormat: 'DYNAMODB_JSON',
          itemCount: manifest.reduce((n, entry) => n + entry.itemCount, 0),
          manifestFilesS3Key: `AWSDynamoDB/${exportId}/manifest-files.json`,
        }),
      );
      return exportDir;
    },
  };
}

/** One line of a data file: `{"Item":…}` in a full export, `{"Keys":…,"NewImage":…}` in an incremental one. */
export function exportLine(item: Record<string, unknown>, incremental = false): string {
  const image = marshall(item, { removeUndefinedValues: true });
  if (!incremental) return `${JSON.stringify({ Item: image })}\n`;
  const { pk, sk } = image;
  return `${JSON.stringify({
    Metadata: { WriteTime: { N: String(Date.now() * 1000) } },
    Keys: { pk, sk },
    NewImage: image,
  })}\n`;
}
