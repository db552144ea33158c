/**
 * The measuring half of `npm run bench:report`, bundled and run by plain node in a child process:
 * writes the evidence report of the export at argv[2], then verifies it; prints one JSON line. The peak
 * RSS is the kernel's high-water mark for the process (`maxRSS`, getrusage), so no short peak slips
 * between samples; the V8 heap and external memory are sampled every 50 ms.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyExport, writeEvidenceReport } from '../../lambdas/shared/evidence/evidence-report';

/** In the child: report then verify; prints one JSON line. */
export async function measure(root: string): Promise<void> {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let peakHeap = 0;
  let peakExternal = 0;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peak = Math.max(peak, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapTotal);
    peakExternal = Math.max(peakExternal, usage.external);
  }, 50);
  const source = { kind: 'dir', path: root } as const;
  const t0 = performance.now();
  const report = await writeEvidenceReport(source, join(root, 'report'));
  const t1 = performance.now();
  const verify = await verifyExport(source);
  const t2 = performance.now();
  clearInterval(sampler);
  // maxRSS is in kB; the samples can only be lower, but are kept for a platform that reports 0.
  peak = Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
  const csvBytes = (await stat(report.csvPath)).size;
  const htmlBytes = (await stat(report.htmlPath)).size;
  console.log(
    JSON.stringify({
      files: report.files,
      items: report.items,
      credentials: report.verdict.credentials,
      decisions: report.verdict.decisions,
      reportIssues: report.verdict.issues.length,
      verifyIssues: verify.verdict.issues.length,
      headsChains: verify.verdict.decisionHeads?.chains ?? 0,
      rows: report.rows,
      csvBytes,
      htmlBytes,
      reportMs: Math.round(t1 - t0),
      verifyMs: Math.round(t2 - t1),
      peakRssMb: Math.round(peak / 1024 / 1024),
      peakHeapTotalMb: Math.round(peakHeap / 1024 / 1024),
      peakExternalMb: Math.round(peakExternal / 1024 / 1024),
      baselineRssMb: Math.round(baseline / 1024 / 1024),
    }),
  );
}

await measure(process.argv[2] as string);
