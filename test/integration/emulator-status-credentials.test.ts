import {
  CreateServiceSpecificCredentialCommand,
  CreateUserCommand,
  DeleteServiceSpecificCredentialCommand,
  GenerateCredentialReportCommand,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
  ListSSHPublicKeysCommand,
  UpdateServiceSpecificCredentialCommand,
  UpdateSigningCertificateCommand,
  UpdateSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { readCredentialReport } from '../../lambdas/shared/adapters/iam-inventory';
import { useEmulator } from '../support/emulator';
import { seedStatusCredentials } from '../support/status-credentials';

/**
 * The emulator's status credentials (scripts/emulator/server.py, 19): certificates dated in the
 * credential report, and service-specific credentials (moto has none) listed per user or for all
 * users in pages, with a status that can be changed; SSH keys' status is moto's own.
 */

const { emulator, clients } = useEmulator();
const DAY = 86_400_000;
const day = (date: Date | string | undefined) => new Date(date ?? 0).toISOString().slice(0, 10);

describe('status credentials in the emulator', () => {
  const madeAt = new Date(Date.now() - 400 * DAY);

  it('dates a signing certificate in the credential report, active or not', async () => {
    await emulator.freeze(madeAt);
    await clients.iam.send(new CreateUserCommand({ UserName: 'cert-alice' }));
    await clients.iam.send(new CreateUserCommand({ UserName: 'cert-bob' }));
    const { certificateId } = await seedStatusCredentials(clients.iam, 'cert-alice');
    await emulator.unfreeze();
    await clients.iam.send(
      new UpdateSigningCertificateCommand({
        UserName: 'cert-alice',
        CertificateId: certificateId,
        Status: 'Inactive',
      }),
    );
    await clients.iam.send(new GenerateCredentialReportCommand({}));
    const { rows } = await readCredentialReport(clients.iam, { now: new Date(), maxAgeMinutes: 0 });

    const alice = rows.find((r) => r.user === 'cert-alice');
    expect(alice?.cert_1_active).toBe('false');
    expect(day(alice?.cert_1_last_rotated)).toBe(day(madeAt));
    expect(alice?.cert_2_last_rotated).toBe('N/A');
    expect(rows.find((r) => r.user === 'cert-bob')?.cert_1_last_rotated).toBe('N/A');
    const { Certificates } = await clients.iam.send(
      new ListSigningCertificatesCommand({ UserName: 'cert-alice' }),
    );
    expect(Certificates?.map((c) => c.Status)).toEqual(['Inactive']);
  });

  it('lists service-specific credentials of one user or of all users in pages, dated, and sets their status', async () => {
    await emulator.freeze(madeAt);
    await clients.iam.send(new CreateUserCommand({ UserName: 'ssc-carol' }));
    const carol = await seedStatusCredentials(clients.iam, 'ssc-carol');
    await clients.iam.send(
      new CreateServiceSpecificCredentialCommand({
        UserName: 'ssc-carol',
        ServiceName: 'cassandra.amazonaws.com',
      }),
    );
    await emulator.unfreeze();

    const pages: string[][] = [];
    let Marker: string | undefined;
    do {
      const page = await clients.iam.send(
        new ListServiceSpecificCredentialsCommand({ AllUsers: true, MaxItems: 2, Marker }),
      );
      pages.push((page.ServiceSpecificCredentials ?? []).map((c) => `${c.UserName}/${c.ServiceName}`));
      Marker = page.IsTruncated ? page.Marker : undefined;
    } while (Marker);
    // cert-alice's from the first test, and carol's two.
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    expect(pages.flat()).toContain('ssc-carol/cassandra.amazonaws.com');

    await clients.iam.send(
      new UpdateServiceSpecificCredentialCommand({
        UserName: 'ssc-carol',
        ServiceSpecificCredentialId: carol.serviceCredentialId,
        Status: 'Inactive',
      }),
    );
    const { ServiceSpecificCredentials: own = [] } = await clients.iam.send(
      new ListServiceSpecificCredentialsCommand({
        UserName: 'ssc-carol',
        ServiceName: 'codecommit.amazonaws.com',
      }),
    );
    expect(own.map((c) => [c.ServiceSpecificCredentialId, c.Status, day(c.CreateDate)])).toEqual([
      [carol.serviceCredentialId, 'Inactive', day(madeAt)],
    ]);
    // The password is in the creation's answer only.
    expect(JSON.stringify(own)).not.toMatch(/ServicePassword/);

    await expect(
      clients.iam.send(
        new CreateServiceSpecificCredentialCommand({
          UserName: 'ssc-carol',
          ServiceName: 'codecommit.amazonaws.com',
        }),
      ),
    ).resolves.toBeDefined();
    await expect(
      clients.iam.send(
        new CreateServiceSpecificCredentialCommand({
          UserName: 'ssc-carol',
          ServiceName: 'codecommit.amazonaws.com',
        }),
      ),
    ).rejects.toThrow(/quota/);
    await clients.iam.send(
      new DeleteServiceSpecificCredentialCommand({
        UserName: 'ssc-carol',
        ServiceSpecificCredentialId: carol.serviceCredentialId,
      }),
    );
    await expect(
      clients.iam.send(
        new UpdateServiceSpecificCredentialCommand({
          UserName: 'ssc-carol',
          ServiceSpecificCredentialId: carol.serviceCredentialId,
          Status: 'Active',
        }),
      ),
    ).rejects.toThrow(/No such credential/);
  });

  it("sets an SSH public key's status (moto's own)", async () => {
    await clients.iam.send(new CreateUserCommand({ UserName: 'ssh-dave' }));
    const { sshKeyId } = await seedStatusCredentials(clients.iam, 'ssh-dave');
    await clients.iam.send(
      new UpdateSSHPublicKeyCommand({ UserName: 'ssh-dave', SSHPublicKeyId: sshKeyId, Status: 'Inactive' }),
    );
    const { SSHPublicKeys } = await clients.iam.send(new ListSSHPublicKeysCommand({ UserName: 'ssh-dave' }));
    expect(SSHPublicKeys?.map((k) => [k.SSHPublicKeyId, k.Status])).toEqual([[sshKeyId, 'Inactive']]);
  });
});
