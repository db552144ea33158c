/**
 * Cloud Custodian's c7n-org beside reauth in `npm run bench:org`: the same member accounts, through
 * the same counting, AWS-modelling proxy, with the policies a user would write for what reauth's scan
 * finds (access keys unused for 90 days from the credential report, secrets not read for 90 days,
 * roles that other accounts may assume). c7n-org is not a dependency: the bench runs it only when
 * given its executable (`pip install c7n-org` in a virtualenv; `--c7n-org <path>`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const POLICIES = `policies:
  - name: stale-access-keys
    resource: aws.iam-user
    filters:
      - type: credential
        key: access_keys.last_used_date
        value_type: age
        value: 90
        op: gt
  - name: unread-secrets
    resource: aws.secrets-manager
    filters:
      - type: value
        key: LastAccessedDate
        value_type: age
        value: 90
        op: gt
  - name: cross-account-roles
    resource: aws.iam-role
    filters:
      - type: cross-account
`;

export interface C7nOrgRun {
  wallMs: number;
  /** Per account id, the seconds its policies ran, summed (c7n's own metadata.json durations). */
  accountMs: Map<string, number>;
  /** Resources matched, over every account and policy. */
  matched: number;
  exitCode: number | null;
}

/**
 * Runs `c7n-org run` over `accounts` (each assumed through `roleName`), `jobs` accounts at once, with
 * the SDK's environment `env` (the proxy as AWS_ENDPOINT_URL, the hub's credentials).
 */
export async function runC7nOrg(options: {
  executable: string;
  accounts: readonly string[];
  roleName: string;
  region: string;
  jobs: number;
  env: Record<string, string>;
}): Promise<C7nOrgRun> {
  const dir = await mkdtemp(join(tmpdir(), 'reauth-c7n-'));
  try {
    const accountsYaml = `accounts:\n${options.accounts
      .map(
        (id) =>
          `  - account_id: "${id}"\n    name: "${id}"\n    role: "arn:aws:iam::${id}:role/${options.roleName}"\n    regions: ["${options.region}"]\n`,
      )
      .join('')}`;
    await writeFile(join(dir, 'accounts.yml'), accountsYaml);
    await writeFile(join(dir, 'policies.yml'), POLICIES);
    const output = join(dir, 'out');
    const t0 = performance.now();
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        options.executable,
        ['run', '-c', 'accounts.yml', '-u', 'policies.yml', '-s', output, '-r', options.region],
        {
          cwd: dir, // c7n-org's workers (processes): C7N_ORG_PARALLEL, as it documents.
          env: {
            ...process.env,
            ...options.env,
            C7N_ORG_PARALLEL: String(options.jobs),
            AWS_DEFAULT_REGION: options.region,
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      child.once('error', reject);
      child.once('close', (code) => {
        if (code !== 0) console.error(`c7n-org exited ${code}:\n${stderr}`);
        resolve(code);
      });
    });
    const wallMs = performance.now() - t0;
    const accountMs = new Map<string, number>();
    let matched = 0;
    for (const account of await readdir(output).catch(() => [] as string[])) {
      for (const region of await readdir(join(output, account)).catch(() => [] as string[])) {
        for (const policy of await readdir(join(output, account, region)).catch(() => [] as string[])) {
          const metadata = await readFile(
            join(output, account, region, policy, 'metadata.json'),
            'utf8',
          ).catch(() => undefined);
          if (!metadata) continue;
          const parsed = JSON.parse(metadata) as {
            execution?: { duration?: number };
            metrics?: { MetricName: string; Value: number }[];
          };
          accountMs.set(account, (accountMs.get(account) ?? 0) + (parsed.execution?.duration ?? 0) * 1000);
          matched += parsed.metrics?.find((m) => m.MetricName === 'ResourceCount')?.Value ?? 0;
        }
      }
    }
    return { wallMs, accountMs, matched, exitCode };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
