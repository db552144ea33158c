import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/** Debian's `chromium` package, installed by `npm run browser:install`; `CHROMIUM` points elsewhere. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** A rendered box in CSS pixels, from `getBoundingClientRect`. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ProbedMark extends Box {
  tag: string;
  /** The mark's `<title>` (its tooltip), if it has one. */
  title: string | null;
  /** Displayed, visible, not transparent, and filled or stroked. */
  painted: boolean;
}

export interface ProbedLabel extends Box {
  text: string;
  painted: boolean;
}

export interface ProbedChart {
  name: string;
  box: Box;
  /** Drawn marks: bars, their hatching, axes and gridlines. */
  marks: ProbedMark[];
  labels: ProbedLabel[];
  /** The fill colours of the boxes drawn for a state (`data-state`: bars and legend swatches). */
  fills: string[];
  /** The `<details>` data table that follows the chart, if one does. */
  details: { summary: string; head: string[]; rows: string[][] } | null;
}

/** What the page looked like to Chromium once it had loaded. */
export interface ReportProbe {
  title: string;
  viewportWidth: number;
  charts: ProbedChart[];
  /** Every resource the page fetched or tried to (images, styles, fonts, scripts). */
  resources: string[];
  /** Loads the probe's Content-Security-Policy (nothing from outside the page) blocked. */
  violations: string[];
}

const PROBE_ID = 'reauth-chart-probe';

/**
 * Runs in the page: listens for blocked loads from the start, and once the page has loaded, measures
 * each `svg[data-chart]` and writes the result as JSON into a script element `--dump-dom` prints.
 * Plain JavaScript: the test's tsconfig has no DOM types, and this runs in Chromium, not Node.
 */
const PROBE_SCRIPT = `(() => {
  const violations = [];
  document.addEventListener('securitypolicyviolation', (e) => violations.push(e.effectiveDirective + ' ' + e.blockedURI));
  const box = (el) => { const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; };
  const painted = (el) => {
    const s = getComputedStyle(el);
    return s.display !== 'none' && s.visibility === 'visible' && Number(s.opacity) > 0 && (s.fill !== 'none' || s.stroke !== 'none');
  };
  addEventListener('load', () => {
    const charts = [...document.querySelectorAll('svg[data-chart]')].map((svg) => ({
      name: svg.dataset.chart,
      box: box(svg),
      marks: [...svg.querySelectorAll('rect, path, circle, ellipse, line, polygon, polyline')].map((el) => ({
        tag: el.localName, title: el.querySelector('title')?.textContent ?? null, painted: painted(el), ...box(el),
      })),
      labels: [...svg.querySelectorAll('text')].map((el) => ({ text: el.textContent, painted: painted(el), ...box(el) })),
      fills: [...new Set([...svg.querySelectorAll('rect[data-state]')].map((el) => el.getAttribute('fill')))],
      details: (() => {
        let el = svg.nextElementSibling;
        while (el && el.localName !== 'details' && el.localName !== 'svg' && el.localName !== 'h3') el = el.nextElementSibling;
        if (!el || el.localName !== 'details') return null;
        return { summary: el.querySelector('summary')?.textContent ?? '', head: [...el.querySelectorAll('thead th')].map((th) => th.textContent), rows: [...el.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent)) };
      })(),
    }));
    const out = document.createElement('script');
    out.type = 'application/json';
    out.id = '${PROBE_ID}';
    out.textContent = JSON.stringify({
      title: document.title,
      viewportWidth: innerWidth,
      charts,
      resources: performance.getEntriesByType('resource').map((entry) => entry.name),
      violations,
    }).replaceAll('<', '\\\\u003c');
    document.body.append(out);
  });
})();`;

/** Only what the page holds inline; a load from anywhere else is blocked and reported. */
const SELF_CONTAINED_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; font-src data:";

/** Fails with what to install when Chromium is missing: the browser test must not pass without a browser. */
export async function requireChromium(): Promise<void> {
  try {
    await access(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(
      `headless Chromium not found at ${CHROMIUM}: run \`npm run browser:install\` (Debian's chromium package) or set CHROMIUM to a Chromium binary`,
    );
  }
}

/**
 * Opens a copy of `htmlPath` (with the probe and a self-contained-only policy added at the top of
 * its head) in headless Chromium, once, and returns what the probe measured.
 */
export async function probeReport(htmlPath: string, options: { windowSize: string }): Promise<ReportProbe> {
  const html = await readFile(htmlPath, 'utf8');
  if (!html.includes('<head>')) throw new Error(`${htmlPath} has no <head> to add the probe to`);
  const dir = await mkdtemp(join(tmpdir(), 'reauth-chromium-'));
  try {
    const page = join(dir, 'report-probe.html');
    await writeFile(
      page,
      html.replace(
        '<head>',
        `<head><meta http-equiv="Content-Security-Policy" content="${SELF_CONTAINED_POLICY}"><script>${PROBE_SCRIPT}</script>`,
      ),
    );
    const dom = await runChromium(['--dump-dom', `--window-size=${options.windowSize}`], page, dir);
    const json = new RegExp(`<script type="application/json" id="${PROBE_ID}">(.*?)</script>`, 's').exec(
      dom,
    )?.[1];
    if (json === undefined)
      throw new Error(`the probe wrote nothing: the page did not load. Dumped DOM:\n${dom}`);
    return JSON.parse(json) as ReportProbe;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An axe-core rule the page broke, with the elements that broke it. */
export interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  targets: string[];
}

/** What axe-core and a width check found on the page at one window size. */
export interface ReportAudit {
  viewportWidth: number;
  /** The page's own scroll width: wider than the viewport means the reader scrolls the page sideways. */
  scrollWidth: number;
  violations: AxeViolation[];
  /** Rules that ran and found nothing, to show the check did run. */
  passes: string[];
}

const AUDIT_ID = 'reauth-axe-audit';

/**
 * Opens a copy of `htmlPath` with axe-core's own source added to its head, runs every axe rule once
 * the page has loaded, and returns the violations and the page's width. Like the probe, the result is
 * written into the page for `--dump-dom` to print, and the page may load nothing from outside.
 */
export async function auditReport(
  htmlPath: string,
  options: {
    windowSize: string;
    /**
     * The page's width in CSS px, if narrower than the window: headless Chromium keeps its window at
     * least 500 px wide, so a narrower page is opened in a frame of this width (a frame is a viewport:
     * media queries and scrolling behave as in a window that size).
     */
    frameWidth?: number;
  },
): Promise<ReportAudit> {
  const html = await readFile(htmlPath, 'utf8');
  if (!html.includes('<head>')) throw new Error(`${htmlPath} has no <head> to add axe-core to`);
  const axe = (await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8'))
    // Inline, a "</script" in axe's source would end the element early.
    .replaceAll('</script', '<\\/script');
  const run = `addEventListener('load', () => {
    axe.run(document, { resultTypes: ['violations'] }).then((r) => {
      const out = document.createElement('script');
      out.type = 'application/json';
      out.id = '${AUDIT_ID}';
      out.textContent = JSON.stringify({
        viewportWidth: innerWidth,
        scrollWidth: document.documentElement.scrollWidth,
        violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) })),
        passes: r.passes.map((p) => p.id),
      }).replaceAll('<', '\\\\u003c');
      if (parent !== window) parent.postMessage(out.textContent, '*');
      else document.body.append(out);
    });
  });`;
  const dir = await mkdtemp(join(tmpdir(), 'reauth-axe-'));
  try {
    const page = join(dir, 'report-axe.html');
    await writeFile(
      page,
      html.replace(
        '<head>',
        `<head><meta http-equiv="Content-Security-Policy" content="${SELF_CONTAINED_POLICY}"><script>${axe}</script><script>${run}</script>`,
      ),
    );
    let opened = page;
    if (options.frameWidth !== undefined) {
      // The frame's page posts its result up; this page writes it where --dump-dom prints it.
      opened = join(dir, 'report-frame.html');
      await writeFile(
        opened,
        `<!doctype html><html><body style="margin:0"><iframe src="report-axe.html" width="${options.frameWidth}" height="900" style="border:0"></iframe><script>addEventListener('message', (e) => { const out = document.createElement('script'); out.type = 'application/json'; out.id = '${AUDIT_ID}'; out.textContent = e.data; document.body.append(out); });</script></body></html>`,
      );
    }
    const dom = await runChromium(['--dump-dom', `--window-size=${options.windowSize}`], opened, dir);
    const json = new RegExp(`<script type="application/json" id="${AUDIT_ID}">(.*?)</script>`, 's').exec(
      dom,
    )?.[1];
    if (json === undefined)
      throw new Error(
        `axe-core wrote no result: the page or axe did not finish. Dumped DOM:\n${dom.slice(-4000)}`,
      );
    return JSON.parse(json) as ReportAudit;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One headless run over a fresh profile, with everything that would reach the network turned off. */
async function runChromium(command: string[], page: string, dir: string): Promise<string> {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--hide-scrollbars',
    `--user-data-dir=${join(dir, 'profile')}`,
    '--virtual-time-budget=3000',
    ...command,
    pathToFileURL(page).href,
  ];
  try {
    // No wall-clock timeout: how long Chromium takes on a busy machine is not what is tested (the page's
    // own time is virtual, --virtual-time-budget); vitest's hang guard stops a Chromium that never exits.
    const { stdout } = await promisify(execFile)(CHROMIUM, args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '')
      .split('\n')
      .filter((line) => line && !line.includes('dbus'))
      .slice(-20)
      .join('\n');
    throw new Error(`${CHROMIUM} failed on ${page}:\n${stderr}`, { cause: error });
  }
}
