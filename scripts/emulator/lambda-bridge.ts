import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

/** What runs when the emulator's Step Functions invokes a bridged function. */
export interface BridgedFunction {
  /** The handler module's path (absolute, or relative to the working directory). */
  module: string;
  /** @default 'handler' */
  exportName?: string;
  /** Set before the module is imported and before each invocation (its cold start reads it). */
  env?: Record<string, string>;
  /** The `getRemainingTimeInMillis()` budget of each invocation. @default 900_000 (Lambda's longest) */
  timeoutMs?: number;
}

/** A running bridge: register `url` and `functions` with the emulator (EmulatorControl.bridgeLambda). */
export interface LambdaBridge {
  url: string;
  /** The names and ARNs it serves, as given. */
  functions: string[];
  close(): Promise<void>;
}

type Handler = (event: unknown, context: LambdaLikeContext) => Promise<unknown>;

/** The part of Lambda's context reauth's handlers read. */
export interface LambdaLikeContext {
  functionName: string;
  awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/**
 * Serves reauth's Node handlers to the emulator on a free loopback port, keyed by function name or
 * ARN (`arn:aws:lambda:<region>:<account>:function:<name>` and `<name>` are the same function).
 *
 * Each function is imported once, on its first invocation (its cold start), as its own module
 * instance: the handler module's URL carries `?function=<name>`, so two functions built from one
 * module with different environments each read theirs at import, as in two Lambdas. The modules it
 * imports are shared (reauth's shared modules read no environment at import). The environment is the
 * process's, so functions invoked together should agree on the variables they share.
 *
 * An error thrown by a handler is answered as Lambda reports it, `{errorType: error.name,
 * errorMessage, trace}`, so a state machine's Retry and Catch match on the error's name.
 */
export async function startLambdaBridge(functions: Record<string, BridgedFunction>): Promise<LambdaBridge> {
  const byName = new Map(Object.entries(functions).map(([key, fn]) => [functionName(key), fn]));
  const loaded = new Map<string, Promise<Handler>>();
  const load = (name: string, fn: BridgedFunction): Promise<Handler> => {
    let handler = loaded.get(name);
    if (!handler) {
      Object.assign(process.env, fn.env);
      const url = `${pathToFileURL(fn.module).href}?function=${encodeURIComponent(name)}`;
      handler = import(url).then((module: Record<string, unknown>) => {
        const exported = module[fn.exportName ?? 'handler'];
        if (typeof exported !== 'function')
          throw new Error(`${fn.module} exports no ${fn.exportName ?? 'handler'}`);
        return exported as Handler;
      });
      loaded.set(name, handler);
    }
    return handler;
  };

  let requests = 0;
  const server = createServer(async (request, response) => {
    const answer = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const { functionName: name, payload } = parseInvocation(await readBody(request));
    const fn = byName.get(functionName(name));
    if (!fn) return answer(404, { message: `no bridged function ${name}` });
    const deadline = Date.now() + (fn.timeoutMs ?? 900_000);
    const context: LambdaLikeContext = {
      functionName: name,
      awsRequestId: `bridge-${++requests}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    let started = performance.now();
    try {
      const handler = await load(functionName(name), fn);
      Object.assign(process.env, fn.env);
      started = performance.now(); // the invocation, without its cold start
      // JSON both ways, as Lambda: `undefined` becomes null, dates become strings.
      const result = JSON.parse(JSON.stringify((await handler(payload, context)) ?? null));
      invoked(name, started, payload);
      answer(200, { result });
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      invoked(name, started, payload, failure.name);
      answer(200, {
        error: {
          errorType: failure.name,
          errorMessage: failure.message,
          trace: (failure.stack ?? '').split('\n'),
        },
      });
    }
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  // It serves while its process works (an invocation is always awaited by it), never keeps it alive.
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    functions: Object.keys(functions),
    close: () => new Promise((closed) => server.close(() => closed())),
  };
}

/** What a bridged invocation's performance measure (`lambda:<name>`) carries as its `detail`. */
export interface InvocationDetail {
  payload: unknown;
  /** The error's name, when the handler threw. */
  error?: string;
}

/**
 * Each invocation is a performance measure named `lambda:<function name>`, so a bench times the
 * functions a state machine ran with a PerformanceObserver, wherever the bridge was started.
 */
function invoked(name: string, start: number, payload: unknown, error?: string): void {
  const detail: InvocationDetail = { payload, ...(error && { error }) };
  performance.measure(`lambda:${functionName(name)}`, { start, detail });
}

/** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` or `<name>` → `<name>`. */
export function functionName(nameOrArn: string): string {
  const parts = nameOrArn.split(':');
  return parts.length >= 7 && parts[5] === 'function' ? (parts[6] as string) : nameOrArn;
}

function parseInvocation(body: string): { functionName: string; payload: unknown } {
  try {
    const parsed = JSON.parse(body) as { functionName?: unknown; payload?: unknown };
    return { functionName: String(parsed.functionName ?? ''), payload: parsed.payload ?? null };
  } catch {
    return { functionName: '', payload: null }; // answered 404: no function has that name
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
