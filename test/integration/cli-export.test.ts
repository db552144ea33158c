import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { captureOutput } from '../support/cli-output';
import { useEmulator } from '../support/emulator';

const { clients } = useEmulator();
const BUCKET = 'reauth-evidence-under-test';
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'reauth-cli-export-'));
  await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  // Something under another prefix, so "nothing under this prefix" is not "an empty bucket".
  await clients.s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'exports/full/2026-11-22/manifest-summary.json',
      Body: '{}',
    }),
  );
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs `reauth <command> --export <path>` (report with `--out <out>`) and returns its exit code and what it printed. */
async function run(command: 'verify' | 'report', path: string, out = join(root, 'out')) {
  const output = captureOutput();
  // verify takes no --out: the CLI refuses an option a command does not take.
  const code = await main([command, '--export', path, ...(command === 'report' ? ['--out', out] : [])]);
  return { code, text: output.join('\n') };
}

describe('reauth verify and reauth report where there is no export to check', () => {
  it('exit 1 naming a local directory that does not exist', async () => {
    const missing = join(root, 'no-such-export');

    for (const command of ['verify', 'report'] as const) {
      const { code, text } = await run(command, missing, join(root, 'out-missing'));

      expect(code).toBe(1);
      expect(text).toContain(`no export found at ${missing}: no such directory`);
      expect(text).not.toMatch(/chains intact/);
    }
    expect(existsSync(join(root, 'out-missing'))).toBe(false);
  });

  it('exit 1 naming an empty local directory', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty);

    for (const command of ['verify', 'report'] as const) {
      const { code, text } = await run(command, empty, join(root, 'out-empty'));

      expect(code).toBe(1);
      expect(text).toContain(`no export found at ${empty}: the directory is empty`);
    }
  });

  it('exit 1 naming a directory whose data files hold no items', async () => {
    const hollow = join(root, 'hollow');
    const data = join(hollow, 'AWSDynamoDB', '01700000000000-abcdef01', 'data');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'part-0.json.gz'), gzipSync(''));

    const { code, text } = await run('verify', hollow, '--json');

    expect(code).toBe(1);
    expect(text).toContain(`${hollow} holds no items`);
  });

  it('exit 1 naming an S3 prefix with nothing under it', async () => {
    const prefix = `s3://${BUCKET}/exports/full/2026-11-23`;

    for (const command of ['verify', 'report'] as const) {
      const { code, text } = await run(command, prefix, join(root, 'out-s3'));

      expect(code).toBe(1);
      expect(text).toContain(`no export found at ${prefix}: no object under that prefix`);
    }
  });

  it('exit 1 naming an S3 prefix that holds only an export manifest, and a bucket that does not exist', async () => {
    const manifestOnly = `s3://${BUCKET}/exports/full/2026-11-22`;
    const noBucket = 's3://reauth-no-such-bucket/exports';

    const manifest = await run('verify', manifestOnly);
    const bucket = await run('verify', noBucket);

    expect(manifest.code).toBe(1);
    expect(manifest.text).toContain(`no export found at ${manifestOnly}: no data files among its 1 objects`);
    expect(bucket.code).toBe(1);
    expect(bucket.text).toContain(`no export found at ${noBucket}: no such bucket`);
  });
});
