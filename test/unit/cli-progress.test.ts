import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { progressReporter } from '../../cli/output';
import { captureOutput } from '../support/cli-output';

describe('progress on stderr', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is printed on a terminal and kept out of a pipe', () => {
    const output = captureOutput();

    progressReporter({ isTTY: true })('reading the credential report');
    progressReporter({ isTTY: false })('listing secrets');

    expect(output).toEqual(['… reading the credential report']);
  });

  describe('of reauth verify over S3', () => {
    const saved = { ...process.env };
    const tty = process.stderr.isTTY;
    let server: Server;
    beforeEach(async () => {
      // S3 as it answers a caller without access: the listing is refused (no retry) after its progress line.
      server = createServer((_request, response) => {
        response.writeHead(403, { 'content-type': 'application/xml' });
        response.end('<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
      }).listen(0, '127.0.0.1');
      await once(server, 'listening');
      Object.assign(process.env, {
        AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'example',
      });
      process.stderr.isTTY = true;
    });
    afterEach(async () => {
      process.env = saved;
      process.stderr.isTTY = tty;
      server.close();
      await once(server, 'close');
    });

    it('names each listing of the export as it starts it', async () => {
      const output = captureOutput();

      expect(await main(['verify', '--export', 's3://evidence/exports/full/2026-11-23'])).toBe(1);
      expect(output[0]).toMatch(/^… listing s3:\/\/evidence\/exports\/full\/2026-11-23/);
      expect(output.at(-1)).toMatch(/^reauth: .*Access Denied/);
    });
  });
});
