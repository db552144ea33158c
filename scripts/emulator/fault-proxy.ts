/**
 * A fault-injecting HTTP proxy in front of the local AWS emulator: a fraction of AWS calls are
 * throttled, fail with a 5xx, lose their connection before or after the emulator applied them, or
 * answer slowly, as AWS does now and then. Errors come in each protocol's own shape so the SDK
 * classifies and retries them as it would in AWS. A seeded PRNG picks the faults: the same seed and
 * the same order of calls give the same faults (concurrent calls may arrive in another order).
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { mulberry32 } from '../local/prng';

export const FAULT_KINDS = ['throttle', 'serverError', 'resetBefore', 'resetAfter', 'slow'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultProxyOptions {
  /** The emulator, e.g. `http://127.0.0.1:PORT`. */
  target: string;
  /** Fraction of AWS calls that get a fault. @default 0.1 */
  rate?: number;
  /** @default 1 */
  seed?: number;
  /** The faults to draw from, equally likely. @default every kind */
  kinds?: readonly FaultKind[];
  /** Told of every AWS call forwarded and answered (a bench counts calls with it). */
  observe?: (call: ForwardedCall) => void;
  /**
   * Milliseconds each AWS call waits before it is forwarded, as AWS would take to answer it (see
   * scripts/bench/aws-latencies.ts): the emulator answers in microseconds. @default none
   */
  latencyMs?: (call: CallName) => number;
  /**
   * Answers an AWS call in the emulator's place, or forwards it and changes its answer: what the
   * emulator cannot model (a credential report that takes seconds to generate). Its answers are
   * observed as the emulator's are. @default forward every call unchanged
   */
  respond?: (call: ProxiedCall, forward: () => Promise<ProxiedAnswer>) => Promise<ProxiedAnswer>;
}

/** An AWS call as the proxy received it, named. */
export interface ProxiedCall {
  name: CallName;
  headers: IncomingMessage['headers'];
  body: string;
}

/** An answer to an AWS call, the emulator's or one made in its place. */
export interface ProxiedAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** An AWS call by its SigV4 signing name (`iam`, `dynamodb`…) and operation (`GetPolicy`). */
export interface CallName {
  service: string;
  operation: string;
}

/**
 * Which call a request is: the service from its SigV4 scope; the operation from `x-amz-target` (JSON
 * protocols), `Action=` (query protocols: IAM, STS) or the path (Smithy RPC v2).
 */
export function callNameOf(headers: IncomingMessage['headers'], body: string): CallName {
  const scope = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(String(headers.authorization));
  const target = headers['x-amz-target'];
  const operation =
    typeof target === 'string'
      ? (target.split('.').at(-1) ?? target)
      : (/(?:^|&)Action=([A-Za-z]+)/.exec(body)?.[1] ??
        String(headers[':path'] ?? '').split('/operation/')[1] ??
        'other');
  return { service: scope?.[1] ?? 'unknown', operation };
}

/** An AWS call the proxy forwarded, with the emulator's answer. */
export interface ForwardedCall {
  headers: IncomingMessage['headers'];
  body: string;
  status: number;
  answer: string;
  /** `performance.now()` when the request arrived and when its answer came back. */
  startedMs: number;
  endedMs: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give it to the SDK as `AWS_ENDPOINT_URL`. */
  endpoint: string;
  /** Faults injected so far, by kind (slow calls are forwarded too). */
  injected: Record<FaultKind, number>;
  /** AWS calls that reached the emulator. */
  forwarded: number;
  /** Those of them by operation, for JSON protocols (`x-amz-target`, e.g. `secretsmanager.GetSecretValue`). */
  forwardedBy: Record<string, number>;
  /** Calls refused because the proxy crashed. */
  crashed: number;
  setRate(rate: number): void;
  /**
   * After `calls` more forwarded AWS calls, the proxy is dead, as a Lambda killed mid-run: every later
   * call, and every response not yet delivered, is reset (`reset`) or never answered at all (`hang`:
   * the caller is frozen where it stood, which a reset is not: the SDK retries it for seconds, and the
   * "dead" caller would go on acting). `onCrash` resolves at the first refused call.
   */
  crashAfter(calls: number, how?: 'reset' | 'hang'): void;
  onCrash: Promise<void>;
  /** Closes the proxy. Calls held by a `hang` crash stay unanswered: a killed Lambda never resumes. */
  stop(): Promise<void>;
}

/** The emulator's own control endpoints (reset, clock) are not AWS: never faulted. */
const CONTROL_PATHS = ['/moto-api/', '/_reauth/'];
const SLOW_MS = { min: 20, max: 300 };

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const kinds = options.kinds ?? FAULT_KINDS;
  const random = mulberry32(options.seed ?? 1);
  let rate = options.rate ?? 0.1;
  let crashBudget = Number.POSITIVE_INFINITY;
  let crashHow: 'reset' | 'hang' = 'reset';
  let markCrashed = () => {};
  const onCrash = new Promise<void>((resolve) => {
    markCrashed = resolve;
  });
  const upstream = new Agent({ keepAlive: true });
  const injected = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  const state = { forwarded: 0, crashed: 0, dead: false };
  const forwardedBy: Record<string, number> = {};

  function refuse(incoming: IncomingMessage): void {
    state.crashed++;
    state.dead = true;
    markCrashed();
    // A held socket must not keep the process alive; it is never answered.
    if (crashHow === 'hang') incoming.socket.unref();
    else incoming.socket.resetAndDestroy();
  }

  function forward(incoming: IncomingMessage, body: Buffer): Promise<ProxiedAnswer> {
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          host: target.hostname,
          port: target.port,
          method: incoming.method,
          path: incoming.url,
          headers: { ...incoming.headers, host: target.host },
          agent: upstream,
        },
        async (answer) => {
          const chunks: Buffer[] = [];
          for await (const chunk of answer) chunks.push(chunk as Buffer);
          resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) });
        },
      );
      outgoing.once('error', reject);
      outgoing.end(body);
    });
  }

  async function handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const control = CONTROL_PATHS.some((path) => incoming.url?.startsWith(path));
    if (!control && crashBudget <= 0) return refuse(incoming);
    const fault = !control && random() < rate ? kinds[Math.floor(random() * kinds.length)] : undefined;
    if (fault) injected[fault]++;
    if (fault === 'throttle' || fault === 'serverError') {
      const error = errorResponse(incoming, body.toString('utf8'), fault, random() < 0.5 ? 500 : 503);
      outgoing.writeHead(error.status, { 'content-type': error.contentType });
      return void outgoing.end(error.body);
    }
    // The request never reached AWS: a retry is safe whatever the call.
    if (fault === 'resetBefore') return void incoming.socket.resetAndDestroy();
    if (fault === 'slow') await sleep(SLOW_MS.min + random() * (SLOW_MS.max - SLOW_MS.min));
    if (!control && options.latencyMs)
      await sleep(options.latencyMs(callNameOf(incoming.headers, body.toString('utf8'))));
    const startedMs = performance.now();
    if (!control) {
      state.forwarded++;
      const operation = incoming.headers['x-amz-target'];
      if (typeof operation === 'string') forwardedBy[operation] = (forwardedBy[operation] ?? 0) + 1;
      crashBudget--;
    }
    const text = body.toString('utf8');
    const answer =
      !control && options.respond
        ? await options.respond(
            { name: callNameOf(incoming.headers, text), headers: incoming.headers, body: text },
            () => forward(incoming, body),
          )
        : await forward(incoming, body);
    if (!control)
      options.observe?.({
        headers: incoming.headers,
        body: body.toString('utf8'),
        status: answer.status,
        answer: answer.body.toString('utf8'),
        startedMs,
        endedMs: performance.now(),
      });
    // The emulator applied it and the answer is lost: the caller cannot tell this from resetBefore,
    // and its retry repeats a change already made (what idempotency tokens and re-reads are for).
    if (fault === 'resetAfter') return void incoming.socket.resetAndDestroy();
    // Killed while this call was in flight: the change is made, the caller never hears of it.
    if (!control && state.dead) return refuse(incoming);
    outgoing.writeHead(answer.status, answer.headers);
    outgoing.end(answer.body);
  }

  const server = createServer((incoming, outgoing) => {
    handle(incoming, outgoing).catch(() => incoming.socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    injected,
    get forwarded() {
      return state.forwarded;
    },
    forwardedBy,
    get crashed() {
      return state.crashed;
    },
    setRate(next) {
      rate = next;
    },
    crashAfter(calls, how = 'reset') {
      crashBudget = calls;
      crashHow = how;
    },
    onCrash,
    stop: () =>
      new Promise((resolve) => {
        upstream.destroy();
        server.close(() => resolve());
        if (crashHow === 'hang' && state.dead) return resolve();
        server.closeAllConnections();
      }),
  };
}

/**
 * An error as the service would answer it. JSON protocols (an `x-amz-target` header: DynamoDB,
 * Secrets Manager, SQS, EventBridge) take `__type`; query protocols (IAM, STS: a form with `Action=`)
 * an `ErrorResponse` XML; S3 (REST-XML) a bare `Error`. The SDK reads the error code from there, and
 * its retry strategy knows `ThrottlingException`, `Throttling` and `SlowDown` as throttling
 * (@smithy/core retry: THROTTLING_ERROR_CODES) and 500/503 as transient.
 */
function errorResponse(
  incoming: IncomingMessage,
  body: string,
  fault: 'throttle' | 'serverError',
  serverStatus: 500 | 503,
): { status: number; contentType: string; body: string } {
  const [code, status, message] =
    fault === 'throttle'
      ? (['Throttling', 400, 'Rate exceeded'] as const)
      : serverStatus === 500
        ? (['InternalFailure', 500, 'We encountered an internal error. Please try again.'] as const)
        : (['ServiceUnavailable', 503, 'Service unavailable. Please try again.'] as const);
  const target = incoming.headers['x-amz-target'];
  if (typeof target === 'string') {
    const type = `com.amazonaws.${target.split('.')[0]?.toLowerCase()}#${fault === 'throttle' ? 'ThrottlingException' : code}`;
    return {
      status,
      contentType: 'application/x-amz-json-1.0',
      body: JSON.stringify({ __type: type, message }),
    };
  }
  const error = `<Code>${code}</Code><Message>${message}</Message>`;
  const requestId = `<RequestId>fault-${Math.random().toString(16).slice(2, 10)}</RequestId>`;
  if (/(^|&)Action=/.test(body)) {
    const type = `<Type>${fault === 'throttle' ? 'Sender' : 'Receiver'}</Type>`;
    return {
      status,
      contentType: 'text/xml',
      body: `<ErrorResponse><Error>${type}${error}</Error>${requestId}</ErrorResponse>`,
    };
  }
  const s3 =
    fault === 'throttle' ? '<Code>SlowDown</Code><Message>Please reduce your request rate.</Message>' : error;
  return {
    status: fault === 'throttle' ? 503 : status,
    contentType: 'application/xml',
    body: `<Error>${s3}${requestId}</Error>`,
  };
}
