/**
 * What a daily organization run waits for on AWS and the emulator answers at once, for
 * `npm run bench:org`. Issue 21 measured these from outside, with the SDK talking to AWS-like latencies:
 *
 * - every AWS call: scripts/bench/aws-latencies.ts (AssumeRole 200 ms, IAM 100 ms, an authorization
 *   details page 600 ms…), injected by the fault proxy before the emulator answers;
 * - a credential report: 3 to 9 s from GenerateCredentialReport until GetCredentialReport returns it.
 *   Until then IAM answers Generate with INPROGRESS and Get with ReportInProgress (HTTP 404). A daily run
 *   finds the report the run before generated, a day old: older than any freshness limit, so it must
 *   generate one and wait.
 *   The emulator generates at once, so `createCredentialReportModel` answers in IAM's place until the
 *   modelled time has passed, and every such answer is a call, counted;
 * - a Distributed Map child's start-up (Step Functions starting the child execution and its Lambda
 *   invoke) and a Lambda cold start, paid once per concurrent slot: the emulator's bridge has neither,
 *   so the projection adds them.
 *
 * Each figure can be overridden by a flag or an environment variable (see `parseOrgLatencyModel`), so
 * a measurement on AWS can replace the figure it measured.
 */
import type { IncomingMessage } from 'node:http';
import type { ProxiedAnswer, ProxiedCall } from '../emulator/fault-proxy';
import { mulberry32 } from '../local/prng';
import { AWS_LATENCY_MS, awsLatencyMs } from './aws-latencies';

export interface OrgLatencyModel {
  /** Milliseconds per call, by `service` or `service Operation` (the aws-latencies table, overridden). */
  callMs: Record<string, number>;
  /** How long IAM takes to generate a credential report: uniform between these, per generation. */
  reportSeconds: { min: number; max: number };
  /** A Distributed Map child's start-up before its Lambda runs. */
  childStartMs: number;
  /** A Lambda cold start (init of the bundled handler), once per concurrent slot. */
  coldStartMs: number;
}

export const DEFAULT_ORG_LATENCY_MODEL: OrgLatencyModel = {
  callMs: { ...AWS_LATENCY_MS },
  reportSeconds: { min: 3, max: 9 },
  // Starting a child workflow and invoking its Lambda: commonly 100–300 ms on AWS.
  childStartMs: 250,
  // A Node.js ARM64 function with a bundled SDK and Powertools: 0.5–1 s of init commonly measured.
  coldStartMs: 1_000,
};

/** The flags `parseOrgLatencyModel` reads (each also from its environment variable). */
export const ORG_LATENCY_FLAGS = {
  latency: { type: 'string', multiple: true },
  'report-seconds': { type: 'string' },
  'child-start-ms': { type: 'string' },
  'cold-start-ms': { type: 'string' },
} as const;

/**
 * The model, from the defaults overridden by the environment, then by flags:
 * `--latency 'iam GetAccountAuthorizationDetails=600'` (repeatable; `BENCH_LATENCY_MS` takes a comma
 * list of the same), `--report-seconds 3-9` (`BENCH_REPORT_SECONDS`), `--child-start-ms 250`
 * (`BENCH_CHILD_START_MS`), `--cold-start-ms 1000` (`BENCH_COLD_START_MS`).
 */
export function parseOrgLatencyModel(
  flags: {
    latency?: string[];
    'report-seconds'?: string;
    'child-start-ms'?: string;
    'cold-start-ms'?: string;
  },
  env: NodeJS.ProcessEnv = process.env,
): OrgLatencyModel {
  const model = structuredClone(DEFAULT_ORG_LATENCY_MODEL);
  const latencies = [...(env.BENCH_LATENCY_MS?.split(',').filter(Boolean) ?? []), ...(flags.latency ?? [])];
  for (const entry of latencies) {
    const [name, ms] = entry.split('=');
    model.callMs[(name ?? '').trim()] = milliseconds(ms, `--latency ${entry}`);
  }
  const report = flags['report-seconds'] ?? env.BENCH_REPORT_SECONDS;
  if (report !== undefined) {
    const [min = Number.NaN, max = min] = report.split('-').map(Number);
    if (!(min >= 0 && max >= min)) throw new Error(`--report-seconds wants MIN-MAX seconds, got ${report}`);
    model.reportSeconds = { min, max };
  }
  const child = flags['child-start-ms'] ?? env.BENCH_CHILD_START_MS;
  if (child !== undefined) model.childStartMs = milliseconds(child, '--child-start-ms');
  const cold = flags['cold-start-ms'] ?? env.BENCH_COLD_START_MS;
  if (cold !== undefined) model.coldStartMs = milliseconds(cold, '--cold-start-ms');
  return model;
}

function milliseconds(value: string | undefined, what: string): number {
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`${what}: not a number of milliseconds`);
  return ms;
}

/** The fault proxy's `latencyMs` for this model. */
export function callLatency(
  model: OrgLatencyModel,
): (call: { service: string; operation: string }) => number {
  return (call) =>
    model.callMs[`${call.service} ${call.operation}`] ?? model.callMs[call.service] ?? awsLatencyMs(call);
}

/** When an account's scan first asked for its report, and when it got it (`performance.now()`). */
export interface ReportWait {
  firstAskedMs: number;
  readyMs?: number;
}

export interface CredentialReportModel {
  /** The fault proxy's `respond`. */
  respond(call: ProxiedCall, forward: () => Promise<ProxiedAnswer>): Promise<ProxiedAnswer>;
  /** Every account's report is a day old, as a daily run finds them; forgets the waits. */
  ageAll(): void;
  /** Per account, since the last `ageAll`. */
  waits(): Map<string, ReportWait>;
}

/** IAM reuses a report generated in the last 4 hours. */
const REPORT_REUSED_MS = 4 * 3_600_000;

/**
 * IAM's credential report with generation time, per account (`accountOf` tells which from the
 * request's credentials). A Generate with no recent report is forwarded (the emulator takes its
 * snapshot then) and answered STARTED; until its modelled time has passed, Generate answers INPROGRESS
 * and Get ReportInProgress, without reaching the emulator. After `ageAll`, Get answers the emulator's report
 * with a GeneratedTime a day ago, until the account's next Generate.
 */
export function createCredentialReportModel(options: {
  model: OrgLatencyModel;
  accountOf: (headers: IncomingMessage['headers']) => string;
  seed?: number;
}): CredentialReportModel {
  const random = mulberry32(options.seed ?? 21);
  const { min, max } = options.model.reportSeconds;
  const reports = new Map<string, { startedMs: number; readyMs: number }>();
  const aged = new Set<string>();
  let waits = new Map<string, ReportWait>();

  return {
    async respond(call, forward) {
      if (call.name.service !== 'iam') return forward();
      const account = options.accountOf(call.headers);
      const now = performance.now();
      const report = reports.get(account);
      if (call.name.operation === 'GenerateCredentialReport') {
        if (report && now - report.startedMs < REPORT_REUSED_MS)
          return generateAnswer(now < report.readyMs ? 'INPROGRESS' : 'COMPLETE');
        const answer = await forward();
        if (answer.status >= 300) return answer;
        reports.set(account, { startedMs: now, readyMs: now + (min + random() * (max - min)) * 1000 });
        aged.delete(account);
        return generateAnswer('STARTED');
      }
      if (call.name.operation !== 'GetCredentialReport') return forward();
      const wait = waits.get(account) ?? { firstAskedMs: now };
      waits.set(account, wait);
      if (aged.has(account)) return dayOld(await forward());
      if (!report) return forward();
      if (now < report.readyMs)
        return iamError(404, 'ReportInProgress', 'Credential report is being generated');
      wait.readyMs ??= now;
      return forward();
    },
    ageAll() {
      for (const account of reports.keys()) aged.add(account);
      reports.clear();
      waits = new Map();
    },
    waits: () => waits,
  };
}

const XML = { 'content-type': 'text/xml' };
const requestId = () => `<RequestId>model-${Math.random().toString(16).slice(2, 10)}</RequestId>`;

function generateAnswer(state: 'STARTED' | 'INPROGRESS' | 'COMPLETE'): ProxiedAnswer {
  const body =
    '<GenerateCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' +
    `<GenerateCredentialReportResult><State>${state}</State><Description>${state}</Description>` +
    `</GenerateCredentialReportResult><ResponseMetadata>${requestId()}</ResponseMetadata>` +
    '</GenerateCredentialReportResponse>';
  return { status: 200, headers: XML, body: Buffer.from(body) };
}

/** The emulator's report, as generated a day ago (the emulator snapshots it when it is generated). */
function dayOld(answer: ProxiedAnswer): ProxiedAnswer {
  if (answer.status >= 300) return answer;
  const yesterday = new Date(Date.now() - 24 * 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const body = answer.body.toString('utf8').replace(/<GeneratedTime>[^<]*</, `<GeneratedTime>${yesterday}<`);
  const { 'content-length': _, ...headers } = answer.headers;
  return { status: answer.status, headers, body: Buffer.from(body) };
}

function iamError(status: number, code: string, message: string): ProxiedAnswer {
  const body =
    `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>` +
    `<Code>${code}</Code><Message>${message}</Message></Error>${requestId()}</ErrorResponse>`;
  return { status, headers: XML, body: Buffer.from(body) };
}
