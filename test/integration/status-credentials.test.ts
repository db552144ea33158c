import {
  CreateUserCommand,
  GenerateCredentialReportCommand,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
  ListSSHPublicKeysCommand,
  UpdateSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatScanReport } from '../../cli/commands/scan';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import { type StatusCredentialKind } from '../../lambdas/shared/domain/credential';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { enforceAccount } from '../../lambdas/shared/use-cases/enforce-account';
import { scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { runActionJob } from '../../lambdas/shared/use-cases/slack-actions';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { type FakeSlack, startFakeSlack } from '../../scripts/local/fake-slack';
import { useEmulator } from '../support/emulator';
import { testEnforcer } from '../support/enforcer';
import { pacedVirtually } from '../support/slack';
import { type SeededStatusCredentials, seedStatusCredentials } from '../support/status-credentials';

/**
 * Signing certificates, SSH public keys and service-specific credentials as credentials: found without
 * a call per credential (the certificates through the credential report), judged by age alone,
 * asked about in report mode with nothing changed, set Inactive at an unanswered deadline in enforce
 * mode with a receipt, and set Active again by their owner's Restore.
 */

const { emulator, clients } = useEmulator();
const enforcer = testEnforcer(clients);
const ACCOUNT = '123456789012';
const DAY = 86_400_000;
const START = new Date();
const daysAgo = (days: number) => new Date(START.getTime() - days * DAY);

afterEach(() => emulator.unfreeze());

/** A user whose certificate, SSH key and service credential were made `madeDaysAgo`. */
async function userWithStatusCredentials(
  name: string,
  options: { madeDaysAgo: number; tags?: Record<string, string> },
): Promise<SeededStatusCredentials> {
  await emulator.freeze(daysAgo(options.madeDaysAgo));
  await clients.iam.send(
    new CreateUserCommand({
      UserName: name,
      Tags: Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  const seeded = await seedStatusCredentials(clients.iam, name);
  await emulator.unfreeze();
  return seeded;
}

/** The status IAM lists for each of the user's three credentials. */
async function statuses(user: string): Promise<Record<StatusCredentialKind, (string | undefined)[]>> {
  const [certificates, keys, services] = await Promise.all([
    clients.iam.send(new ListSigningCertificatesCommand({ UserName: user })),
    clients.iam.send(new ListSSHPublicKeysCommand({ UserName: user })),
    clients.iam.send(new ListServiceSpecificCredentialsCommand({ UserName: user })),
  ]);
  return {
    'signing-certificate': (certificates.Certificates ?? []).map((c) => c.Status),
    'ssh-key': (keys.SSHPublicKeys ?? []).map((k) => k.Status),
    'service-credential': (services.ServiceSpecificCredentials ?? []).map((c) => c.Status),
  };
}

const ALL_ACTIVE = {
  'signing-certificate': ['Active'],
  'ssh-key': ['Active'],
  'service-credential': ['Active'],
};
const ALL_INACTIVE = {
  'signing-certificate': ['Inactive'],
  'ssh-key': ['Inactive'],
  'service-credential': ['Inactive'],
};

const idsOf = (seeded: SeededStatusCredentials): Record<StatusCredentialKind, string> => ({
  'signing-certificate': `${ACCOUNT}:signing-certificate:${seeded.certificateId}`,
  'ssh-key': `${ACCOUNT}:ssh-key:${seeded.sshKeyId}`,
  'service-credential': `${ACCOUNT}:service-credential:${seeded.serviceCredentialId}`,
});

describe('status credentials in a report-mode scan', () => {
  const TABLE = 'reauth-status-credentials';
  const store = createDecisionStore(clients.documents, TABLE);
  let old: SeededStatusCredentials;

  beforeAll(async () => {
    await ensureDecisionTable(clients.dynamodb, TABLE);
    old = await userWithStatusCredentials('keys-old', { madeDaysAgo: 400, tags: { owner: 'U0OLD' } });
    await userWithStatusCredentials('keys-young', { madeDaysAgo: 30, tags: { owner: 'U0YOUNG' } });
    // An old SSH key already Inactive is no credential to ask about.
    const retired = await userWithStatusCredentials('keys-retired', { madeDaysAgo: 400 });
    await clients.iam.send(
      new UpdateSSHPublicKeyCommand({
        UserName: 'keys-retired',
        SSHPublicKeyId: retired.sshKeyId,
        Status: 'Inactive',
      }),
    );
    await clients.iam.send(new GenerateCredentialReportCommand({}));
  });

  it('asks the owner about each credential older than the tier allows, by its age alone, and changes nothing in IAM', async () => {
    const report = await scanAccount(
      { iam: clients.iam, secretsManager: clients.secretsManager, store, stacks: stackOwnersOfThisAccount() },
      { accountId: ACCOUNT, policy: parsePolicyConfig({ listSshPublicKeys: 'daily' }), now: new Date() },
    );

    expect(report.inventory).toMatchObject({ signingCertificates: 3, sshKeys: 2, serviceCredentials: 3 });
    const findings = report.rows.filter((row) => row.outcome === 'finding').map((row) => row.credentialId);
    // keys-retired's certificate and service credential are 400 days old too; its SSH key is Inactive.
    expect(findings).toEqual(expect.arrayContaining(Object.values(idsOf(old))));
    expect(findings.filter((id) => id.includes(':ssh-key:'))).toEqual([idsOf(old)['ssh-key']]);
    expect(findings.some((id) => id.includes('keys-young'))).toBe(false);
    expect(findings).toHaveLength(5);

    for (const [kind, credentialId] of Object.entries(idsOf(old))) {
      expect(await store.getState(credentialId), kind).toMatchObject({
        kind,
        principal: 'keys-old',
        owner: 'U0OLD',
        status: 'pending',
      });
      const [flag] = await store.history(credentialId);
      expect(flag, kind).toMatchObject({ action: 'flag', kind, mode: 'report' });
      expect(flag?.reason).toBe('not rotated for 400 days (tier standard allows 365)');
      expect(flag?.evidence).toMatchObject({
        triggers: ['max-age'],
        lastUsedAt: null,
        limits: { maxAgeDays: 365 },
      });
      // No control about IAM users' unused keys and passwords counts them.
      expect(flag?.evidence.controls).toEqual(['NIST CSF 2.0 PR.AA-01']);
    }
    expect(await statuses('keys-old')).toEqual(ALL_ACTIVE);
    expect(await statuses('keys-young')).toEqual(ALL_ACTIVE);

    // `reauth scan` names each kind, and says IAM records no use of them.
    const printed = formatScanReport(report);
    expect(printed).toContain('3 signing certificates, 2 SSH public keys, 3 service-specific credentials');
    expect(printed).toMatch(/ssh-key\s+keys-old\s+APKA\w+\s+U0OLD \(tag\)\s+max-age\s+not recorded/);
    expect(printed).toContain(
      `service-specific credential, created ${daysAgo(400).toISOString().slice(0, 10)}, for codecommit.amazonaws.com, IAM records no last use`,
    );
  });

  it("finds them in a fixed number of calls, and each user's SSH keys once a week (daily or never if the policy says)", async () => {
    await clients.iam.send(new CreateUserCommand({ UserName: 'keys-none' }));
    await clients.iam.send(new GenerateCredentialReportCommand({}));
    const scan = async (listSshPublicKeys?: 'weekly' | 'daily' | 'never', now = new Date(), job?: string) => {
      const calls = new Map<string, number>();
      const name = `count-${listSshPublicKeys}`;
      clients.iam.middlewareStack.add(
        (next, context) => async (args) => {
          const command = (context.commandName ?? '').replace(/Command$/, '');
          calls.set(command, (calls.get(command) ?? 0) + 1);
          return next(args);
        },
        { step: 'initialize', name },
      );
      try {
        const report = await scanAccount(
          {
            iam: clients.iam,
            secretsManager: clients.secretsManager,
            store,
            stacks: stackOwnersOfThisAccount(),
          },
          {
            accountId: ACCOUNT,
            policy: parsePolicyConfig(listSshPublicKeys === undefined ? {} : { listSshPublicKeys }),
            now,
            ...(job && { job }),
          },
        );
        return { inventory: report.inventory, calls };
      } finally {
        clients.iam.middlewareStack.remove(name);
      }
    };

    const listing = await scan('daily');
    // Four users, three of them with an active certificate in the credential report.
    expect(listing.calls.get('ListSSHPublicKeys')).toBe(4);
    expect(listing.calls.get('ListSigningCertificates')).toBe(3);
    expect(listing.calls.get('ListServiceSpecificCredentials')).toBe(1);

    // By default a seventh of the users a day: over any seven days, each user's keys exactly once.
    const week = [];
    for (let day = 0; day < 7; day++)
      week.push(await scan(undefined, new Date(Date.now() + day * 86_400_000)));
    expect(week.reduce((sum, run) => sum + (run.calls.get('ListSSHPublicKeys') ?? 0), 0)).toBe(4);
    expect(week.reduce((sum, run) => sum + run.inventory.sshKeys, 0)).toBe(listing.inventory.sshKeys);
    // The hourly enforce job lists none.
    const enforcing = await scan('daily', new Date(), 'enforce');
    expect(enforcing.calls.get('ListSSHPublicKeys')).toBeUndefined();

    const skipping = await scan('never');
    expect(skipping.inventory).toMatchObject({ signingCertificates: 3, sshKeys: 0, serviceCredentials: 3 });
    expect(skipping.calls.get('ListSSHPublicKeys')).toBeUndefined();
    expect(skipping.calls.get('ListSigningCertificates')).toBe(3);
  });
});

describe('status credentials in enforce mode', () => {
  afterAll(() => fake?.close());
  const TABLE = 'reauth-status-credentials-enforce';
  const store = createDecisionStore(clients.documents, TABLE);
  const policy = parsePolicyConfig({
    mode: 'enforce',
    listSshPublicKeys: 'daily',
    actionBudget: { maxActions: 100, maxFraction: 1 },
  });
  let fake: FakeSlack;
  let deps: Parameters<typeof enforceAccount>[0];
  let enforced: Record<StatusCredentialKind, string>;

  beforeAll(async () => {
    fake = await startFakeSlack({});
    deps = {
      ...clients,
      store,
      enforcer,
      slack: pacedVirtually(fake.apiBaseUrl),
      stacks: stackOwnersOfThisAccount(),
    };
    await ensureDecisionTable(clients.dynamodb, TABLE);
    enforced = idsOf(
      await userWithStatusCredentials('keys-enforced', { madeDaysAgo: 400, tags: { owner: 'U0ENF' } }),
    );
    await clients.iam.send(new GenerateCredentialReportCommand({}));
  });

  it('sets each unanswered credential Inactive at its deadline with a receipt, and its owner is asked first', async () => {
    // The daily scan finds the SSH key (the hourly enforce job lists none), then the enforce job asks.
    await scanAccount(deps, { accountId: ACCOUNT, policy, now: new Date() });
    await enforceAccount(deps, { accountId: ACCOUNT, policy, now: new Date() });
    for (const id of Object.values(enforced))
      expect(await store.getState(id)).toMatchObject({ status: 'pending' });
    expect(await statuses('keys-enforced')).toEqual(ALL_ACTIVE);
    const asked = JSON.stringify(fake.requests);
    expect(asked).toContain('SSH public key');
    expect(asked).toContain('Last used: not recorded by IAM');

    // Past the deadline, on a credential report of that day (an older one holds enforcement back).
    const deadlinePassed = new Date(Date.now() + 15 * DAY);
    await emulator.freeze(deadlinePassed);
    const report = await enforceAccount(deps, { accountId: ACCOUNT, policy, now: deadlinePassed });

    expect(report.disabled).toEqual(expect.arrayContaining(Object.values(enforced)));
    expect(await statuses('keys-enforced')).toEqual(ALL_INACTIVE);
    for (const [kind, id] of Object.entries(enforced)) {
      const state = await store.getState(id);
      expect(state).toMatchObject({
        status: 'disabled',
        disableReceipt: { kind, userName: 'keys-enforced', id: id.split(':')[2] },
      });
      const disable = (await store.history(id)).find((d) => d.action === 'disable');
      expect(disable?.evidence.controls, kind).toEqual(['NIST CSF 2.0 PR.AA-05']);
    }
    // Set Inactive, each is still there: the re-check says disabled, not gone.
    expect(
      await enforcer.recheck({
        kind: 'ssh-key',
        id: enforced['ssh-key'].split(':')[2] as string,
        principal: 'keys-enforced',
      }),
    ).toEqual({ exists: true, disabled: true });
  });

  it("sets a disabled credential Active again at its owner's Restore, and opens a new request", async () => {
    await emulator.unfreeze();
    for (const [kind, id] of Object.entries(enforced)) {
      const disabled = await store.getState(id);
      const outcome = await runActionJob(
        {
          store,
          slack: pacedVirtually(fake.apiBaseUrl),
          enforcer,
          policy,
          policyId: policyIdOf(policy),
          now: () => new Date(Date.now() + 17 * DAY),
        },
        {
          action: 'restore',
          credentialId: id,
          requestSeq: disabled?.requestSeq as number,
          slackUserId: 'U0ENF',
          responseUrl: fake.responseUrl(kind),
        },
      );
      expect(outcome.recorded, kind).toBe('restore');
      expect(await store.getState(id), kind).toMatchObject({ status: 'pending' });
    }
    expect(await statuses('keys-enforced')).toEqual(ALL_ACTIVE);
  });
});
