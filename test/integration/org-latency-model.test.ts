import {
  CreateUserCommand,
  GenerateCredentialReportCommand,
  GetCredentialReportCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { readCredentialReport } from '../../lambdas/shared/adapters/iam-inventory';
import { createCallLedger } from '../../scripts/bench/call-ledger';
import { createCredentialReportModel, parseOrgLatencyModel } from '../../scripts/bench/org-latency-model';
import { emulatorEnv } from '../../scripts/emulator/emulator';
import { startFaultProxy } from '../../scripts/emulator/fault-proxy';
import { useEmulator } from '../support/emulator';

const { emulator, clients } = useEmulator();
const HUB = '123456789012';
const { AWS_REGION: region } = emulatorEnv('');
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

async function modelledIam(reportSeconds: string) {
  const ledger = createCallLedger(HUB);
  const model = parseOrgLatencyModel({ 'report-seconds': reportSeconds }, {});
  const reports = createCredentialReportModel({ model, accountOf: ledger.accountOf });
  const proxy = await startFaultProxy({
    target: emulator.endpoint,
    rate: 0,
    observe: ledger.observe,
    respond: reports.respond,
  });
  const iam = new IAMClient({ endpoint: proxy.endpoint, region, credentials, maxAttempts: 1 });
  return { ledger, reports, proxy, iam };
}

describe("bench:org's credential report model", () => {
  it('answers "in progress" until the modelled generation time has passed, then the report', async () => {
    // Prepare
    await clients.iam.send(new CreateUserCommand({ UserName: 'svc-modelled' }));
    const { proxy, iam } = await modelledIam('1-1');
    try {
      // Act
      const started = await iam.send(new GenerateCredentialReportCommand({}));
      const early = await iam.send(new GetCredentialReportCommand({})).catch((error: Error) => error);
      const again = await iam.send(new GenerateCredentialReportCommand({}));
      await new Promise((elapsed) => setTimeout(elapsed, 1_100));
      const ready = await iam.send(new GetCredentialReportCommand({}));

      // Assess
      expect(started.State).toBe('STARTED');
      expect((early as Error).name).toBe('CredentialReportNotReadyException');
      expect(again.State).toBe('INPROGRESS');
      expect(new TextDecoder().decode(ready.Content)).toContain('svc-modelled');
    } finally {
      await proxy.stop();
    }
  });

  it('makes a daily run find a day-old report, generate one and wait, every poll counted as a call', async () => {
    // Prepare: yesterday's report
    const { ledger, reports, proxy, iam } = await modelledIam('1.5-1.5');
    try {
      await iam.send(new GenerateCredentialReportCommand({}));
      await new Promise((elapsed) => setTimeout(elapsed, 1_600));
      reports.ageAll();
      ledger.take();

      // Act
      const t0 = performance.now();
      const report = await readCredentialReport(iam, { now: new Date(), maxAgeMinutes: 60 });
      const waitedMs = performance.now() - t0;

      // Assess
      const calls = ledger.take().map((c) => c.operation);
      expect(waitedMs).toBeGreaterThanOrEqual(1_500);
      expect(Date.now() - report.generatedAt.getTime()).toBeLessThan(60_000);
      expect(calls.filter((op) => op === 'GenerateCredentialReport')).toHaveLength(1);
      // The day-old report, the not-ready answers (one a second), and the report.
      expect(calls.filter((op) => op === 'GetCredentialReport').length).toBeGreaterThanOrEqual(3);
    } finally {
      await proxy.stop();
    }
  });
});
