import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';

/**
 * Scans `table` into `root` as DynamoDB writes a full export: gzipped `{"Item": …}` lines under
 * `AWSDynamoDB/<export id>/data/`. Returns the data file's path.
 */
export async function exportTable(client: DynamoDBClient, table: string, root: string): Promise<string> {
  const lines: string[] = [];
  for await (const page of paginateScan({ client }, { TableName: table })) {
    for (const item of page.Items ?? []) lines.push(`${JSON.stringify({ Item: item })}\n`);
  }
  const dir = join(root, 'AWSDynamoDB', '01763000000000-0a1b2c3d', 'data');
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'kq3fz5nsyq7fbkxt6pt5dwcsoa.json.gz');
  await writeFile(file, gzipSync(lines.join('')));
  return file;
}
