import { inspect } from 'node:util';
import {
  CreateLoginProfileCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  DeleteLoginProfileCommand,
  EnableMFADeviceCommand,
  GenerateCredentialReportCommand,
  GetLoginProfileCommand,
  ListAttachedUserPoliciesCommand,
  ListMFADevicesCommand,
} from '@aws-sdk/client-iam';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { EnforcementTarget, Enforcer } from '../../lambdas/shared/adapters/enforcement';
import { stackOwnersOfThisAccount } from '../../lambdas/shared/adapters/stack-owners';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { ROTATABLE_TAG } from '../../lambdas/shared/domain/reauth-marks';
import { planStillNeeded } from '../../lambdas/shared/domain/reauthorization';
import { enforceAccount } from '../../lambdas/shared/use-cases/enforce-account';
import { scanAccount } from '../../lambdas/shared/use-cases/scan-account';
import { runActionJob } from '../../lambdas/shared/use-cases/slack-actions';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { type FakeSlack, startFakeSlack } from '../../scripts/local/fake-slack';
import { useEmulator } from '../support/emulator';
import { testEnforcer } from '../support/enforcer';
import { pacedVirtually } from '../support/slack';

/**
 * Console passwords as credentials: found in the credential report, asked about in report mode with
 * nothing changed, disabled by deleting the login profile (MFA left alone), and restored as a new
 * password that must be changed, stored in a secret for the owner and nowhere else.
 */

const { emulator, clients } = useEmulator();
const enforcer = testEnforcer(clients);
const ACCOUNT = '123456789012';
const TABLE = 'reauth-console-passwords';
const DAY = 86_400_000;
const START = new Date();
const daysAgo = (days: number) => new Date(START.getTime() - days * DAY);
const target = (user: string): EnforcementTarget => ({ kind: 'password', id: user, principal: user });

afterEach(() => emulator.unfreeze());

/** A user with a console password made `madeDaysAgo`, last signed in `signedInDaysAgo` (never: undefined). */
async function userWithPassword(
  name: string,
  options: { madeDaysAgo: number; signedInDaysAgo?: number; tags?: Record<string, string> },
): Promise<void> {
  await emulator.freeze(daysAgo(options.madeDaysAgo));
  await clients.iam.send(
    new CreateUserCommand({
      UserName: name,
      Tags: Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  await clients.iam.send(new CreateLoginProfileCommand({ UserName: name, Password: `Initial-${name}-1!` }));
  if (options.signedInDaysAgo !== undefined) {
    await emulator.freeze(daysAgo(options.signedInDaysAgo));
    await emulator.signInToConsole(ACCOUNT, name);
  }
  await emulator.unfreeze();
}

async function hasLoginProfile(user: string): Promise<boolean> {
  try {
    return (
      (await clients.iam.send(new GetLoginProfileCommand({ UserName: user }))).LoginProfile !== undefined
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'NoSuchEntityException') return false;
    throw error;
  }
}

describe('console passwords in a report-mode scan', () => {
  const store = createDecisionStore(clients.documents, TABLE);

  beforeAll(async () => {
    await ensureDecisionTable(clients.dynamodb, TABLE);
    await userWithPassword('console-idle', {
      madeDaysAgo: 300,
      signedInDaysAgo: 60,
      tags: { owner: 'U0IDLE' },
    });
    await userWithPassword('console-busy', {
      madeDaysAgo: 300,
      signedInDaysAgo: 2,
      tags: { owner: 'U0BUSY' },
    });
    await userWithPassword('console-never', { madeDaysAgo: 30, tags: { owner: 'U0NEVER' } });
  });

  it('asks the owner about a password unused 45 days or never used past the grace, and changes nothing in IAM', async () => {
    const report = await scanAccount(
      { iam: clients.iam, secretsManager: clients.secretsManager, store, stacks: stackOwnersOfThisAccount() },
      { accountId: ACCOUNT, policy: parsePolicyConfig({}), now: new Date() },
    );

    expect(report.inventory.passwords).toBe(3);
    const findings = report.rows.filter((row) => row.outcome === 'finding');
    expect(findings.map((row) => row.credentialId).sort()).toEqual([
      `${ACCOUNT}:password:console-idle`,
      `${ACCOUNT}:password:console-never`,
    ]);
    const idle = await store.getState(`${ACCOUNT}:password:console-idle`);
    expect(idle).toMatchObject({
      kind: 'password',
      principal: 'console-idle',
      owner: 'U0IDLE',
      status: 'pending',
    });
    const [flag] = await store.history(`${ACCOUNT}:password:console-idle`);
    expect(flag).toMatchObject({ action: 'flag', kind: 'password', mode: 'report' });
    expect(flag?.reason).toBe('unused for 60 days (tier standard allows 45)');
    expect(flag?.evidence.controls).toEqual(
      expect.arrayContaining(['AWS Security Hub IAM.22', 'CIS AWS Foundations v3.0.0 1.12']),
    );
    expect(flag?.evidence.controls).not.toContain('AWS Security Hub IAM.3');
    for (const user of ['console-idle', 'console-busy', 'console-never'])
      expect(await hasLoginProfile(user), user).toBe(true);
  });
});

describe('disabling and restoring a console password', () => {
  beforeAll(async () => {
    await userWithPassword('console-marked', {
      madeDaysAgo: 200,
      signedInDaysAgo: 100,
      tags: { [ROTATABLE_TAG.key]: ROTATABLE_TAG.value },
    });
    await userWithPassword('console-unmarked', { madeDaysAgo: 200, signedInDaysAgo: 100 });
    const { VirtualMFADevice } = await clients.iam.send(
      new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'console-marked-mfa' }),
    );
    await clients.iam.send(
      new EnableMFADeviceCommand({
        UserName: 'console-marked',
        SerialNumber: VirtualMFADevice?.SerialNumber,
        AuthenticationCode1: '123456',
        AuthenticationCode2: '654321',
      }),
    );
  });

  it('deletes the login profile after recording what was there, and leaves MFA alone', async () => {
    const receipt = await enforcer.disable(target('console-marked'));

    expect(receipt).toMatchObject({
      kind: 'password',
      userName: 'console-marked',
      loginProfileDeleted: true,
    });
    expect(receipt.kind === 'password' && receipt.passwordLastUsed?.slice(0, 10)).toBe(
      daysAgo(100).toISOString().slice(0, 10),
    );
    expect(await hasLoginProfile('console-marked')).toBe(false);
    const { MFADevices } = await clients.iam.send(new ListMFADevicesCommand({ UserName: 'console-marked' }));
    expect(MFADevices).toHaveLength(1);
    // No login profile: nothing left to disable, and no drift.
    expect(await enforcer.recheck(target('console-marked'))).toEqual({ exists: false });
    // A retry finds nothing to delete, and says so.
    expect(await enforcer.disable(target('console-marked'))).toMatchObject({ loginProfileDeleted: false });
  });

  it('makes no password when the record is only made to match IAM (no owner asked)', async () => {
    expect(await enforcer.restore(target('console-marked'))).toEqual({});
    expect(await hasLoginProfile('console-marked')).toBe(false);
  });

  it('restores a new password that must be changed, in a secret tagged with its owner, never in the result', async () => {
    const result = await enforcer.restore(target('console-marked'), {
      passwordFor: { owner: 'U0MARKED', now: START },
    });

    const { LoginProfile } = await clients.iam.send(
      new GetLoginProfileCommand({ UserName: 'console-marked' }),
    );
    expect(LoginProfile?.PasswordResetRequired).toBe(true);
    expect(result.passwordStoredIn).toMatch(/:secret:reauth\/rotated\/console-marked\/console-password-/);
    const secret = await clients.secretsManager.send(
      new DescribeSecretCommand({ SecretId: result.passwordStoredIn }),
    );
    expect(secret.Tags).toEqual(expect.arrayContaining([{ Key: 'reauth:owner', Value: 'U0MARKED' }]));
    const { SecretString } = await clients.secretsManager.send(
      new GetSecretValueCommand({ SecretId: result.passwordStoredIn }),
    );
    const { userName, password } = JSON.parse(SecretString ?? '{}') as { userName: string; password: string };
    expect(userName).toBe('console-marked');
    expect(password).toMatch(/^.{32}$/);
    expect(inspect(result, { depth: null })).not.toContain(password);
    expect(await enforcer.recheck(target('console-marked'))).toMatchObject({ exists: true, disabled: false });

    // Asked again (a retry): the profile is there, nothing new is made.
    expect(
      await enforcer.restore(target('console-marked'), { passwordFor: { owner: 'U0MARKED', now: START } }),
    ).toEqual({});
  });

  it('refuses a new password for a user no platform team marked, and makes nothing', async () => {
    await enforcer.disable(target('console-unmarked'));
    const result = await enforcer.restore(target('console-unmarked'), {
      passwordFor: { owner: 'U0UNMARKED', now: START },
    });
    expect(result.refused).toMatch(/not marked reauth:rotatable=true/);
    expect(result.passwordStoredIn).toBeUndefined();
    expect(await hasLoginProfile('console-unmarked')).toBe(false);
  });
});

describe('console passwords in enforce mode', () => {
  afterAll(() => fake?.close());
  const ENFORCE_TABLE = 'reauth-console-passwords-enforce';
  const store = createDecisionStore(clients.documents, ENFORCE_TABLE);
  const policy = parsePolicyConfig({ mode: 'enforce', actionBudget: { maxActions: 100, maxFraction: 1 } });
  const id = `${ACCOUNT}:password:console-enforced`;
  let fake: FakeSlack;
  let deps: Parameters<typeof enforceAccount>[0];

  /** An owner's *Restore* of a disabled password, as the Slack worker runs it, 17 days on. */
  function restoreAsked(credentialId: string, requestSeq: number, slackUserId: string, respondTo: string) {
    return runActionJob(
      {
        store,
        slack: pacedVirtually(fake.apiBaseUrl),
        enforcer,
        policy,
        policyId: policyIdOf(policy),
        now: () => new Date(Date.now() + 17 * DAY),
      },
      { action: 'restore', credentialId, requestSeq, slackUserId, responseUrl: fake.responseUrl(respondTo) },
    );
  }

  beforeAll(async () => {
    fake = await startFakeSlack({});
    const slack = pacedVirtually(fake.apiBaseUrl);
    // The owner of console-raced answers Still needed while the deadline's disable deletes its password.
    const answeringEnforcer: Enforcer = {
      ...enforcer,
      async disable(target, options) {
        const receipt = await enforcer.disable(target, options);
        if (target.id === 'console-raced')
          await store.transition(`${ACCOUNT}:password:console-raced`, (current) =>
            current
              ? planStillNeeded(
                  current,
                  { days: 30, reason: 'the on-call signs in with it' },
                  { now: new Date(), policy, policyId: policyIdOf(policy), slackUserId: 'U0RACE' },
                )
              : undefined,
          );
        return receipt;
      },
    };
    deps = { ...clients, store, enforcer: answeringEnforcer, slack, stacks: stackOwnersOfThisAccount() };
    await ensureDecisionTable(clients.dynamodb, ENFORCE_TABLE);
    // Each made 300 days ago and last signed in 50 days ago, past the 45-day idle limit.
    const owners: Record<string, Record<string, string>> = {
      'console-enforced': { owner: 'U0ENF' },
      'console-restorable': { owner: 'U0RES', [ROTATABLE_TAG.key]: ROTATABLE_TAG.value },
      'console-plain': { owner: 'U0PLAIN' },
      'console-raced': { owner: 'U0RACE' },
      'console-removed': { owner: 'U0REM' },
    };
    for (const [user, tags] of Object.entries(owners))
      await userWithPassword(user, { madeDaysAgo: 300, signedInDaysAgo: 50, tags });
    // The report the first scan read is fresh enough to be read again: a new one shows these users.
    await clients.iam.send(new GenerateCredentialReportCommand({}));
  });

  // Three enforce runs over every password the file made take longer than the default 30 s allows on
  // a loaded machine (the deadline run alone about 17 s here), though none waits on a clock.
  it('disables an unanswered password at its deadline, records what was there, and asks again when it comes back', async () => {
    await enforceAccount(deps, { accountId: ACCOUNT, policy, now: new Date() });
    expect(await store.getState(id)).toMatchObject({ status: 'pending', kind: 'password' });
    expect(await hasLoginProfile('console-enforced')).toBe(true);

    // Its owner removes one password before the deadline: nothing is left to disable.
    await clients.iam.send(new DeleteLoginProfileCommand({ UserName: 'console-removed' }));
    // Past the deadline, on a credential report of that day (an older one holds enforcement back).
    const deadlinePassed = new Date(Date.now() + 15 * DAY);
    await emulator.freeze(deadlinePassed);
    const report = await enforceAccount(deps, { accountId: ACCOUNT, policy, now: deadlinePassed });

    expect(report.disabled).toContain(id);
    expect(report.gone).toEqual([`${ACCOUNT}:password:console-removed`]);
    expect(await store.getState(`${ACCOUNT}:password:console-removed`)).toMatchObject({ status: 'deleted' });
    expect(await hasLoginProfile('console-enforced')).toBe(false);
    const state = await store.getState(id);
    expect(state).toMatchObject({
      status: 'disabled',
      disableReceipt: {
        kind: 'password',
        userName: 'console-enforced',
        loginProfileDeleted: true,
        // A console session outlives the login profile: the user's sessions from before are ended.
        revokedSessions: { issuedBefore: deadlinePassed.toISOString() },
      },
    });
    const { AttachedPolicies = [] } = await clients.iam.send(
      new ListAttachedUserPoliciesCommand({ UserName: 'console-enforced' }),
    );
    expect(AttachedPolicies.map((p) => p.PolicyArn)).toContain(
      (state?.disableReceipt as { revokedSessions: { policyArn: string } }).revokedSessions.policyArn,
    );
    const disable = (await store.history(id)).find((d) => d.action === 'disable');
    expect(disable?.evidence.revokedSessions).toEqual(
      (state?.disableReceipt as { revokedSessions?: unknown }).revokedSessions,
    );
    expect(disable?.evidence.controls).toEqual(
      expect.arrayContaining(['AWS Security Hub IAM.22', 'CIS AWS Foundations v3.0.0 1.12']),
    );

    // Someone gives the user a password again outside reauth: drift, and disabled again.
    await clients.iam.send(
      new CreateLoginProfileCommand({ UserName: 'console-enforced', Password: 'Came-Back-Passw0rd!' }),
    );
    const dayAfter = new Date(deadlinePassed.getTime() + DAY);
    await emulator.freeze(dayAfter);
    const later = await enforceAccount(deps, { accountId: ACCOUNT, policy, now: dayAfter });
    expect(later.drifted).toContain(id);
    const drift = (await store.history(id)).find((d) => d.action === 'drift');
    expect(drift?.reason).toContain('the user has a console password again');
    // Not silently disabled again: a new request asks the owner, as for every kind.
    expect(await store.getState(id)).toMatchObject({ status: 'pending' });
    expect(await hasLoginProfile('console-enforced')).toBe(true);
  });

  it('records a password deleted at its deadline as its owner answered as disabled, and tells the owner it can be restored', async () => {
    const raced = `${ACCOUNT}:password:console-raced`;
    // The answer came first in the record, but IAM keeps no deleted password: the record says so.
    expect(await hasLoginProfile('console-raced')).toBe(false);
    expect((await store.history(raced)).map((d) => d.action).slice(-2)).toEqual(['reauthorize', 'disable']);
    const state = await store.getState(raced);
    expect(state).toMatchObject({
      status: 'disabled',
      disableReceipt: { kind: 'password', userName: 'console-raced', loginProfileDeleted: true },
    });
    expect(state?.claim).toBeUndefined();
    const disable = (await store.history(raced)).at(-1);
    expect(disable?.reason).toMatch(/deleted at the deadline as its owner answered/);
    const told = fake.calls('chat.postMessage').filter((call) => call.body.channel === 'U0RACE');
    expect(JSON.stringify(told.at(-1)?.body)).toMatch(/Restore/);
  });

  it("restores a disabled password at its owner's request as a new one, told where to fetch it, the password nowhere else", async () => {
    const restorable = `${ACCOUNT}:password:console-restorable`;
    const disabled = await store.getState(restorable);
    expect(disabled).toMatchObject({ status: 'disabled' });
    await emulator.unfreeze();

    const outcome = await restoreAsked(restorable, disabled?.requestSeq as number, 'U0RES', 'owner');

    expect(outcome.recorded).toBe('restore');
    const { LoginProfile } = await clients.iam.send(
      new GetLoginProfileCommand({ UserName: 'console-restorable' }),
    );
    expect(LoginProfile?.PasswordResetRequired).toBe(true);
    const restore = (await store.history(restorable)).find((d) => d.action === 'restore');
    const storedIn = restore?.evidence.passwordStoredIn as string;
    expect(storedIn).toMatch(/:secret:reauth\/rotated\/console-restorable\/console-password-/);
    const { SecretString } = await clients.secretsManager.send(
      new GetSecretValueCommand({ SecretId: storedIn }),
    );
    const { password } = JSON.parse(SecretString ?? '{}') as { password: string };
    const told = fake.calls('response:owner').map((call) => JSON.stringify(call.body));
    expect(told.some((text) => text.includes(storedIn) && text.includes('get-secret-value'))).toBe(true);
    for (const where of [
      ...told,
      JSON.stringify(await store.history(restorable)),
      JSON.stringify(fake.requests),
    ])
      expect(where).not.toContain(password);
  });

  it('tells the owner why a password of a user no platform team marked is not restored, and records nothing', async () => {
    const plain = `${ACCOUNT}:password:console-plain`;
    const disabled = await store.getState(plain);
    expect(disabled).toMatchObject({ status: 'disabled' });

    const outcome = await restoreAsked(plain, disabled?.requestSeq as number, 'U0PLAIN', 'plain');

    expect(outcome.recorded).toBeUndefined();
    expect(fake.calls('response:plain').at(-1)?.body.text).toMatch(
      /^console password of console-plain was not restored: .*not marked reauth:rotatable=true/,
    );
    expect(await store.getState(plain)).toMatchObject({ status: 'disabled', seq: disabled?.seq });
    expect(await hasLoginProfile('console-plain')).toBe(false);
  });
});
