import {
  CreateLoginProfileCommand,
  CreateUserCommand,
  DeleteLoginProfileCommand,
  GenerateCredentialReportCommand,
  GetLoginProfileCommand,
  GetUserCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { readCredentialReport } from '../../lambdas/shared/adapters/iam-inventory';
import { useEmulator } from '../support/emulator';

/**
 * The emulator's console passwords (scripts/emulator/server.py, 16): a login profile dated when it is
 * made, PasswordResetRequired kept, and console sign-ins (moto has no console) in the credential report.
 */

const { emulator, clients } = useEmulator();
const ACCOUNT = '123456789012';
const DAY = 86_400_000;

async function reportRow(user: string): Promise<Record<string, string>> {
  await emulator.unfreeze();
  await clients.iam.send(new GenerateCredentialReportCommand({}));
  const report = await readCredentialReport(clients.iam, { now: new Date(), maxAgeMinutes: 0 });
  const row = report.rows.find((r) => r.user === user);
  if (!row) throw new Error(`no report row for ${user}`);
  return row;
}

describe('console passwords in the emulator', () => {
  const userMadeAt = new Date(Date.now() - 300 * DAY);
  const profileMadeAt = new Date(Date.now() - 200 * DAY);
  const signedInAt = new Date(Date.now() - 120 * DAY);

  it('dates a login profile when it is made, keeps PasswordResetRequired, and shows a console sign-in', async () => {
    await emulator.freeze(userMadeAt);
    await clients.iam.send(new CreateUserCommand({ UserName: 'console-alice' }));
    await clients.iam.send(new CreateUserCommand({ UserName: 'console-bob' }));
    await emulator.freeze(profileMadeAt);
    await clients.iam.send(
      new CreateLoginProfileCommand({
        UserName: 'console-alice',
        Password: 'Initial-Passw0rd!',
        PasswordResetRequired: true,
      }),
    );
    await emulator.freeze(signedInAt);
    await emulator.signInToConsole(ACCOUNT, 'console-alice');

    const { LoginProfile } = await clients.iam.send(
      new GetLoginProfileCommand({ UserName: 'console-alice' }),
    );
    expect(LoginProfile?.CreateDate?.toISOString().slice(0, 10)).toBe(
      profileMadeAt.toISOString().slice(0, 10),
    );
    expect(LoginProfile?.PasswordResetRequired).toBe(true);
    const { User } = await clients.iam.send(new GetUserCommand({ UserName: 'console-alice' }));
    expect(User?.PasswordLastUsed?.toISOString().slice(0, 10)).toBe(signedInAt.toISOString().slice(0, 10));

    const alice = await reportRow('console-alice');
    expect(alice.password_enabled).toBe('true');
    expect(alice.password_last_changed?.slice(0, 10)).toBe(profileMadeAt.toISOString().slice(0, 10));
    expect(alice.password_last_used?.slice(0, 10)).toBe(signedInAt.toISOString().slice(0, 10));
    const bob = await reportRow('console-bob');
    expect(bob.password_enabled).toBe('false');
    expect(bob.password_last_changed).toBe('N/A');
  });

  it('refuses a sign-in without a login profile, and the report shows a deleted one as gone', async () => {
    await expect(emulator.signInToConsole(ACCOUNT, 'console-bob')).rejects.toThrow(/409/);
    await clients.iam.send(new DeleteLoginProfileCommand({ UserName: 'console-alice' }));
    const alice = await reportRow('console-alice');
    expect(alice.password_enabled).toBe('false');
    expect(alice.password_last_changed).toBe('N/A');
  });
});
