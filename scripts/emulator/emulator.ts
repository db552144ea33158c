import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

/** A running local AWS emulator (moto, with a controllable clock; see server.py). */
export interface Emulator {
  /** `http://127.0.0.1:<port>`: give it to the SDK as `AWS_ENDPOINT_URL`. */
  endpoint: string;
  /** From now on, resources are created and credentials used at `at`. */
  freeze(at: Date): Promise<void>;
  /** Lets the emulator's clock run with real time again. */
  unfreeze(): Promise<void>;
  /** Forgets every resource (and unfreezes the clock, and forgets bridged functions). */
  reset(): Promise<void>;
  /**
   * From now on, a Step Functions task that invokes one of `functions` (names or ARNs) runs it on the
   * bridge at `url` (scripts/emulator/lambda-bridge.ts) instead of moto's Lambda, which needs Docker.
   */
  bridgeLambda(bridge: { url: string; functions: string[] }): Promise<void>;
  /**
   * A console sign-in of `user` (who has a login profile) in `account`, at the emulator's clock: its
   * credential report's `password_last_used` and GetUser's PasswordLastUsed (moto has no console).
   */
  signInToConsole(account: string, user: string): Promise<void>;
  /**
   * Service last-accessed data beside what the emulator sees: `service` (and its `actions`) used by the
   * user or role `arn` now, at the emulator's clock; or, with `failJobs`, that principal's
   * GenerateServiceLastAccessedDetails jobs FAIL (false: they complete again).
   */
  seedServiceUsage(seed: {
    arn: string;
    service?: string;
    actions?: string[];
    failJobs?: boolean;
  }): Promise<void>;
  stop(): Promise<void>;
}

/** The emulator's clock and state, without its process. */
export type EmulatorControl = Omit<Emulator, 'stop'>;

/** Starts the emulator on a free loopback port. Install it first with `npm run emulator:install`. */
export async function startEmulator(): Promise<Emulator> {
  const python = join(process.env.REAUTH_VENV ?? join(root, '.venv'), 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(
      `the local AWS emulator is not installed (${python} is missing): run npm run emulator:install`,
    );
  }
  // stdin stays a pipe: the server exits when it closes, so it never outlives this process.
  const child = spawn(python, [join(here, 'server.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
  const port = await readyPort(child);
  return {
    ...connectEmulator(`http://127.0.0.1:${port}`),
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.stdin?.end();
      }),
  };
}

/** Drives an emulator already running at `endpoint` (started by another process, e.g. vitest's setup). */
export function connectEmulator(endpoint: string): EmulatorControl {
  const call = async (path: string, init: RequestInit): Promise<void> => {
    const response = await fetch(`${endpoint}${path}`, init);
    if (!response.ok)
      throw new Error(`emulator ${init.method} ${path}: HTTP ${response.status} ${await response.text()}`);
  };
  return {
    endpoint,
    freeze: (at) =>
      call('/_reauth/clock', { method: 'POST', body: JSON.stringify({ at: at.toISOString() }) }),
    unfreeze: () => call('/_reauth/clock', { method: 'DELETE' }),
    reset: () => call('/moto-api/reset', { method: 'POST' }),
    bridgeLambda: ({ url, functions }) =>
      call('/_reauth/lambda-bridge', { method: 'POST', body: JSON.stringify({ url, functions }) }),
    signInToConsole: (account, user) =>
      call('/_reauth/console-sign-in', { method: 'POST', body: JSON.stringify({ account, user }) }),
    seedServiceUsage: (seed) =>
      call('/_reauth/service-usage', { method: 'POST', body: JSON.stringify(seed) }),
  };
}

/** The environment that points the AWS SDK at the emulator, with dummy credentials. */
export function emulatorEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    // Lambda runs Node 24; locally, Node 20's end-of-support notice would drown the output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // Metrics are log lines (EMF) for CloudWatch; locally they would only clutter the output.
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
}

function readyPort(child: ChildProcess): Promise<number> {
  return new Promise((done, fail) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const match = /^READY (\d+)$/.exec(line);
      if (match) done(Number(match[1]));
    });
    child.once('error', fail);
    child.once('exit', (code) =>
      fail(new Error(`the emulator exited (code ${code}) before it was ready:\n${stderr}`)),
    );
  });
}
