import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { packPdfObjects } from './pdf-object-streams';

/** Where `reauth report --pdf` looks for headless Chromium: `$CHROMIUM`, else Debian's `chromium`. */
export function chromiumPath(): string {
  return process.env.CHROMIUM ?? '/usr/bin/chromium';
}

/** What to do when there is no Chromium: said by the CLI instead of a bare "not found". */
export function chromiumMissingHint(path: string): string {
  return (
    `no headless Chromium at ${path}, so no PDF was written: run \`npm run browser:install\` ` +
    "(Debian's chromium package), or set CHROMIUM to a Chromium or Chrome binary; report.html prints " +
    'to the same pages from any browser (Print, then Save as PDF)'
  );
}

export async function chromiumInstalled(path = chromiumPath()): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Prints `htmlPath` to `pdfPath` with headless Chromium: the report's own print stylesheet sets the
 * page size and numbers the pages, so Chromium's header and footer (which carry the file's path and
 * the time of printing) are turned off. A fresh profile, and nothing that would reach the network.
 * Chromium's tagged PDF is then packed into object streams (`packPdfObjects`), a quarter of its size.
 */
export async function printPdf(htmlPath: string, pdfPath: string, chromium = chromiumPath()): Promise<void> {
  const profile = await mkdtemp(join(tmpdir(), 'reauth-pdf-'));
  const printed = join(profile, 'printed.pdf');
  try {
    await promisify(execFile)(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        '--no-pdf-header-footer',
        `--print-to-pdf=${printed}`,
        pathToFileURL(resolve(htmlPath)).href,
      ],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: unknown) => {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '')
        .split('\n')
        .filter((line) => line && !line.includes('dbus'))
        .slice(-10)
        .join('\n');
      throw new Error(`${chromium} could not print ${htmlPath} to PDF:\n${stderr}`, { cause: error });
    });
    await writeFile(resolve(pdfPath), packPdfObjects(await readFile(printed)));
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}
