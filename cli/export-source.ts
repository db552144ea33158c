import type { S3Client } from '@aws-sdk/client-s3';
import { type ExportSource, parseExportSource } from '../lambdas/shared/evidence/export-reader';
import { awsClients } from './aws';
import { progressReporter } from './output';

/**
 * The export named by --export, and an S3 client when it is in S3. On a terminal, the client reports
 * each listing page and each file as it starts reading it, so a long export shows it is moving.
 */
export function exportSource(text: string): { source: ExportSource; s3?: S3Client } {
  const source = parseExportSource(text);
  if (source.kind === 'dir') return { source };
  const { s3 } = awsClients();
  const progress = progressReporter();
  let files = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket?: string; Key?: string; Prefix?: string };
      if (context.commandName === 'GetObjectCommand') {
        files += 1;
        progress(`reading s3://${input.Bucket}/${input.Key} (file ${files})`);
      } else if (context.commandName === 'ListObjectsV2Command') {
        progress(`listing s3://${input.Bucket}/${input.Prefix ?? ''}`);
      }
      return next(args);
    },
    { step: 'initialize', name: 'reauthCliProgress' },
  );
  return { source, s3 };
}
