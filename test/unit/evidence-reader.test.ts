import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  ExportFormatError,
  itemKind,
  parseExportSource,
  readExport,
} from '../../lambdas/shared/evidence/export-reader';

async function exportDir(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'reauth-export-'));
  for (const [name, text] of Object.entries(files)) {
    const path = join(root, name);
    await import('node:fs/promises').then((fs) => fs.mkdir(join(path, '..'), { recursive: true }));
    await writeFile(path, name.endsWith('.gz') ? gzipSync(text) : text);
  }
  return root;
}

async function readAll(root: string) {
  const records = [];
  for await (const record of readExport({ kind: 'dir', path: root })) records.push(record);
  return records;
}

const FULL_LINE = JSON.stringify({
  Item: {
    pk: { S: 'CRED#123456789012:access-key:AKIA1' },
    sk: { S: 'DECISION#2026-11-22T12:00:00.000Z#000001' },
    seq: { N: '1' },
    evidence: {
      M: {
        idleDays: { N: '120' },
        lastUsedAt: { NULL: true },
        triggers: { L: [{ S: 'idle' }] },
        protected: { BOOL: false },
      },
    },
  },
});

describe('reading a DynamoDB export (DYNAMODB_JSON)', () => {
  it('reads gzipped Item lines from */data/*.gz with plain values', async () => {
    const root = await exportDir({
      'AWSDynamoDB/01/data/a.json.gz': `${FULL_LINE}\n`,
      'AWSDynamoDB/01/manifest-summary.json': '{"itemCount":1}',
    });

    const records = await readAll(root);

    expect(records).toHaveLength(1);
    expect(records[0]?.item).toEqual({
      pk: 'CRED#123456789012:access-key:AKIA1',
      sk: 'DECISION#2026-11-22T12:00:00.000Z#000001',
      seq: 1,
      evidence: { idleDays: 120, lastUsedAt: null, triggers: ['idle'], protected: false },
    });
    expect(records[0]?.line).toBe(1);
    expect(itemKind(records[0]?.item ?? {})).toBe('decision');
  });

  it('reads the NewImage of incremental export lines and skips deletions', async () => {
    const image = { pk: { S: 'CRED#1:secret:x' }, sk: { S: 'STATE' }, status: { S: 'pending' } };
    const root = await exportDir({
      'inc/data/b.gz': [
        JSON.stringify({
          Metadata: { WriteTime: { N: '1' } },
          Keys: { pk: image.pk, sk: image.sk },
          NewImage: image,
          OldImage: { ...image, status: { S: 'active' } },
        }),
        JSON.stringify({
          Metadata: { WriteTime: { N: '2' } },
          Keys: { pk: image.pk, sk: { S: 'EXPORT#x' } },
          OldImage: image,
        }),
      ].join('\n'),
    });

    const records = await readAll(root);

    expect(records.map((r) => r.item)).toEqual([{ pk: 'CRED#1:secret:x', sk: 'STATE', status: 'pending' }]);
    expect(itemKind(records[0]?.item ?? {})).toBe('state');
  });

  it('names the file and line of a malformed line', async () => {
    const root = await exportDir({
      'x/data/c.json.gz': `${FULL_LINE}\n{"Item": {"pk": {"S": "a"}, "seq": {"Q": "x"}}}\n`,
    });

    const error = await readAll(root).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ExportFormatError);
    expect((error as Error).message).toMatch(/x\/data\/c\.json\.gz:2: Unsupported type passed: Q/);
  });

  it('names the file and line of a line that is not JSON, and of a corrupt gzip file', async () => {
    const notJson = await exportDir({ 'd/data/e.json.gz': `${FULL_LINE}\n${FULL_LINE}\n{"Item": ` });
    const corrupt = await exportDir({});
    await import('node:fs/promises').then((fs) => fs.mkdir(join(corrupt, 'd', 'data'), { recursive: true }));
    await writeFile(join(corrupt, 'd', 'data', 'f.json.gz'), 'not gzip at all');

    expect(((await readAll(notJson).catch((e: unknown) => e)) as Error).message).toMatch(
      /e\.json\.gz:3: not JSON/,
    );
    expect(((await readAll(corrupt).catch((e: unknown) => e)) as Error).message).toMatch(
      /f\.json\.gz: cannot read/,
    );
  });

  it('tells an S3 source from a directory', () => {
    expect(parseExportSource('s3://bucket/exports/AWSDynamoDB/')).toEqual({
      kind: 's3',
      bucket: 'bucket',
      prefix: 'exports/AWSDynamoDB/',
    });
    expect(parseExportSource('./exports')).toEqual({ kind: 'dir', path: './exports' });
  });
});
