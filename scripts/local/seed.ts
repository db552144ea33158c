/**
 * Seeds the local emulator with an account that looks lived-in: credentials created, used and read
 * at chosen past times (the emulator's clock is frozen around each step). Used by `npm start` and
 * `npm run bench`.
 */
import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetUserCommand,
  IAMClient,
  type Tag,
} from '@aws-sdk/client-iam';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsClients } from '../../lambdas/shared/adapters/aws-clients';
import { mapWithConcurrency } from '../../lambdas/shared/concurrency';
import type { EmulatorControl } from '../emulator/emulator';

const DAY_MS = 86_400_000;

export const VENDOR_ACCOUNT = '999988887777';

/** What a seeded key is: when it was created and, per slot, when (if ever) it was last used, and where. */
export interface KeySpec {
  createdDaysAgo: number;
  usedDaysAgo?: number;
  /** The service and region of that use (the credential report's last-used columns); IAM in us-east-1 by default. */
  usedIn?: UsedIn;
}

/** A service reauth can call with a seeded key, and the region the call goes to. */
export interface UsedIn {
  service: 'iam' | 's3' | 'sts' | 'secretsmanager';
  region: string;
}

export interface UserSpec {
  name: string;
  tags?: Record<string, string>;
  /** IAM path. @default '/' */
  path?: string;
  /** IAM groups it is added to (created when missing). */
  groups?: string[];
  keys: KeySpec[];
}

export interface SecretSpec {
  name: string;
  createdDaysAgo: number;
  readDaysAgo?: number;
  tags?: Record<string, string>;
}

export interface RoleSpec {
  name: string;
  createdDaysAgo: number;
  /** IAM path. @default '/' */
  path?: string;
  /** Accounts trusted to assume it; the account itself when absent (out of reauth's scope). */
  trustedAccounts?: string[];
  externalId?: string;
  /** Assumed from the trusted account this many days ago. */
  usedDaysAgo?: number;
  /** The region its session called then (RoleLastUsed.Region); the environment's region by default. */
  usedRegion?: string;
  tags?: Record<string, string>;
}

export interface AccountSpec {
  users: UserSpec[];
  secrets: SecretSpec[];
  roles: RoleSpec[];
}

export interface Seeded {
  /** Access key ids per user, in slot order. */
  keyIds: Map<string, string[]>;
  /** Secret ARNs by name. */
  secretArns: Map<string, string>;
  /**
   * Signs a request with a seeded key (`user`, slot 0 or 1) at the emulator's current time: the key's
   * next use, in `usedIn` (IAM in us-east-1 by default).
   */
  useKey(user: string, slot?: number, usedIn?: UsedIn): Promise<void>;
  /** Assumes a seeded role at the emulator's current time and calls with its session from `region`. */
  useRole(name: string, region?: string): Promise<void>;
}

/** One thing to create or use in the emulator, this many days ago. */
export interface SeedStep {
  daysAgo: number;
  run: () => Promise<void>;
}

/**
 * Creates everything in `spec` in the emulator, as if it had happened over the past months:
 * steps are grouped by day so the clock is frozen once per distinct day, not once per resource.
 */
export async function seedAccount(
  emulator: EmulatorControl,
  clients: Pick<AwsClients, 'iam' | 'secretsManager'>,
  spec: AccountSpec,
  now: Date,
  concurrency = 8,
): Promise<Seeded> {
  const { steps, seeded } = planAccount(clients, spec);
  await runSteps(emulator, steps, now, concurrency);
  return seeded;
}

/**
 * The steps that seed `spec` through `clients`, not yet run: several accounts' steps run together
 * (runSteps) freeze the clock once per distinct day for all of them.
 */
export function planAccount(
  clients: Pick<AwsClients, 'iam' | 'secretsManager'>,
  spec: AccountSpec,
): { steps: SeedStep[]; seeded: Seeded } {
  const keyIds = new Map<string, string[]>();
  const secretArns = new Map<string, string>();
  const steps: SeedStep[] = [];
  const at = (daysAgo: number, run: () => Promise<void>) => steps.push({ daysAgo, run });
  const credentials = new Map<string, { accessKeyId: string; secretAccessKey: string }>();

  for (const user of spec.users) {
    const created = Math.max(...user.keys.map((k) => k.createdDaysAgo), 0) + 1;
    at(created, async () => {
      await clients.iam.send(
        new CreateUserCommand({ UserName: user.name, Path: user.path, Tags: toTags(user.tags) }),
      );
      for (const GroupName of user.groups ?? []) {
        try {
          await clients.iam.send(new CreateGroupCommand({ GroupName }));
        } catch (error) {
          if (!(error as Error).name.startsWith('EntityAlreadyExists')) throw error;
        }
        await clients.iam.send(new AddUserToGroupCommand({ GroupName, UserName: user.name }));
      }
    });
    user.keys.forEach((key, slot) => {
      // Keys of one user are created in slot order, a minute apart, so the report's slots are stable.
      at(key.createdDaysAgo + (user.keys.length - slot) / 10_000, async () => {
        const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: user.name }));
        if (!AccessKey?.AccessKeyId || !AccessKey.SecretAccessKey) throw new Error(`no key for ${user.name}`);
        keyIds.set(user.name, [...(keyIds.get(user.name) ?? []), AccessKey.AccessKeyId]);
        credentials.set(`${user.name}#${slot}`, {
          accessKeyId: AccessKey.AccessKeyId,
          secretAccessKey: AccessKey.SecretAccessKey,
        });
      });
      if (key.usedDaysAgo !== undefined) {
        at(key.usedDaysAgo, async () => {
          const signed = credentials.get(`${user.name}#${slot}`);
          if (!signed) throw new Error(`key ${slot + 1} of ${user.name} is used before it is created`);
          // Any request signed with the key records its last use in the emulator.
          await callWith(signed, key.usedIn);
        });
      }
    });
  }

  for (const secret of spec.secrets) {
    at(secret.createdDaysAgo, async () => {
      const { ARN } = await clients.secretsManager.send(
        new CreateSecretCommand({
          Name: secret.name,
          SecretString: `seeded-${secret.name}`,
          Tags: toTags(secret.tags),
        }),
      );
      if (ARN) secretArns.set(secret.name, ARN);
    });
    if (secret.readDaysAgo !== undefined) {
      at(secret.readDaysAgo, async () => {
        await clients.secretsManager.send(new GetSecretValueCommand({ SecretId: secret.name }));
      });
    }
  }

  for (const role of spec.roles) {
    at(role.createdDaysAgo, async () => {
      await clients.iam.send(
        new CreateRoleCommand({
          RoleName: role.name,
          Path: role.path,
          AssumeRolePolicyDocument: JSON.stringify(trustPolicy(role)),
          Tags: toTags(role.tags),
        }),
      );
    });
    if (role.usedDaysAgo !== undefined) {
      at(role.usedDaysAgo, () => assumeAndCall(role, role.usedRegion));
    }
  }

  const seeded: Seeded = {
    keyIds,
    secretArns,
    async useKey(user, slot = 0, usedIn) {
      const signed = credentials.get(`${user}#${slot}`);
      if (!signed) throw new Error(`no seeded key ${slot} for ${user}`);
      await callWith(signed, usedIn);
    },
    async useRole(name, region) {
      const role = spec.roles.find((r) => r.name === name);
      if (!role) throw new Error(`no seeded role ${name}`);
      await assumeAndCall(role, region);
    },
  };
  return { steps, seeded };
}

/** Runs `steps`, oldest first, the clock frozen at each one's day; steps at the same instant run in parallel. */
export async function runSteps(
  emulator: EmulatorControl,
  steps: readonly SeedStep[],
  now: Date,
  concurrency: number,
): Promise<void> {
  const byInstant = new Map<number, (() => Promise<void>)[]>();
  for (const step of steps) byInstant.set(step.daysAgo, [...(byInstant.get(step.daysAgo) ?? []), step.run]);
  const instants = [...byInstant.keys()].sort((a, b) => b - a);
  try {
    for (const daysAgo of instants) {
      await emulator.freeze(new Date(now.getTime() - daysAgo * DAY_MS));
      await mapWithConcurrency(byInstant.get(daysAgo) ?? [], concurrency, (run) => run());
    }
  } finally {
    await emulator.unfreeze();
  }
}

/** Assuming the role and calling with its session is what records RoleLastUsed (and its region). */
async function assumeAndCall(role: RoleSpec, region: string | undefined): Promise<void> {
  const sts = new STSClient({ region: 'us-east-1' });
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::123456789012:role/${role.name}`,
      RoleSessionName: 'vendor',
      ...(role.externalId && { ExternalId: role.externalId }),
    }),
  );
  if (!Credentials?.AccessKeyId || !Credentials.SecretAccessKey)
    throw new Error(`cannot assume ${role.name}`);
  await new SecretsManagerClient({
    ...(region && { region }),
    credentials: {
      accessKeyId: Credentials.AccessKeyId,
      secretAccessKey: Credentials.SecretAccessKey,
      sessionToken: Credentials.SessionToken,
    },
  })
    .send(new GetSecretValueCommand({ SecretId: 'does-not-exist' }))
    .catch(() => undefined);
}

/** One harmless call signed with `credentials` to `usedIn`'s service and region: what the emulator records as a use. */
async function callWith(
  credentials: { accessKeyId: string; secretAccessKey: string },
  usedIn: UsedIn = { service: 'iam', region: 'us-east-1' },
): Promise<void> {
  const { region } = usedIn;
  switch (usedIn.service) {
    case 'iam':
      await new IAMClient({ region, credentials }).send(new GetUserCommand({}));
      return;
    case 's3':
      await new S3Client({ region, credentials }).send(new ListBucketsCommand({}));
      return;
    case 'sts':
      await new STSClient({ region, credentials }).send(new GetCallerIdentityCommand({}));
      return;
    case 'secretsmanager':
      await new SecretsManagerClient({ region, credentials }).send(new ListSecretsCommand({}));
      return;
  }
}

function trustPolicy(role: RoleSpec): unknown {
  const accounts = role.trustedAccounts ?? ['123456789012'];
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: accounts.map((account) => `arn:aws:iam::${account}:root`) },
        Action: 'sts:AssumeRole',
        ...(role.externalId && { Condition: { StringEquals: { 'sts:ExternalId': role.externalId } } }),
      },
    ],
  };
}

function toTags(tags: Record<string, string> | undefined): Tag[] | undefined {
  return tags && Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
