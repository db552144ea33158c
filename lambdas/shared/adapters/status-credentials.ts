import {
  type IAMClient,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
  ListSSHPublicKeysCommand,
  UpdateServiceSpecificCredentialCommand,
  UpdateSigningCertificateCommand,
  UpdateSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import type { StatusCredentialKind } from '../domain/credential';

/**
 * An IAM user's signing certificate, SSH public key or service-specific credential, as IAM lists it.
 * One shape for the three: each has an id, a status and a date, and IAM records no last use of any.
 */
export interface StatusCredential {
  kind: StatusCredentialKind;
  id: string;
  userName: string;
  /** `Expired`: a service-specific credential past its expiry (Bedrock API keys), unusable for good. */
  status: 'Active' | 'Inactive' | 'Expired';
  /** Uploaded (certificate, SSH key) or created (service-specific credential). */
  createdAt: Date;
  /** Service-specific credentials: the service it signs in to. */
  serviceName?: string;
}

const NO_SUCH_ENTITY = ['NoSuchEntityException', 'NoSuchEntity'];

/**
 * The user's credentials of `kind`, every page; undefined when the user does not exist. One call for
 * a user's certificates (at most two) or SSH keys (at most five): IAM's quotas keep them in one page.
 */
export async function listStatusCredentials(
  iam: IAMClient,
  kind: StatusCredentialKind,
  userName: string,
): Promise<StatusCredential[] | undefined> {
  try {
    switch (kind) {
      case 'signing-certificate':
        return await paged(async (Marker) => {
          const page = await iam.send(new ListSigningCertificatesCommand({ UserName: userName, Marker }));
          const items = (page.Certificates ?? []).flatMap((c) =>
            c.CertificateId && c.UploadDate
              ? [statusCredential(kind, c.CertificateId, userName, c.Status, c.UploadDate)]
              : [],
          );
          return { items, next: page.IsTruncated ? page.Marker : undefined };
        });
      case 'ssh-key':
        return await paged(async (Marker) => {
          const page = await iam.send(new ListSSHPublicKeysCommand({ UserName: userName, Marker }));
          const items = (page.SSHPublicKeys ?? []).flatMap((k) =>
            k.SSHPublicKeyId && k.UploadDate
              ? [statusCredential(kind, k.SSHPublicKeyId, userName, k.Status, k.UploadDate)]
              : [],
          );
          return { items, next: page.IsTruncated ? page.Marker : undefined };
        });
      case 'service-credential':
        return await listServiceCredentials(iam, { UserName: userName });
    }
  } catch (error) {
    if (error instanceof Error && NO_SUCH_ENTITY.includes(error.name)) return undefined;
    throw error;
  }
}

/**
 * Every user's service-specific credentials in one paged listing (`AllUsers`), not a call per user:
 * most users have none, and IAM has this form for these alone.
 */
export function listAllServiceCredentials(iam: IAMClient): Promise<StatusCredential[]> {
  return listServiceCredentials(iam, { AllUsers: true });
}

function listServiceCredentials(
  iam: IAMClient,
  whose: { UserName: string } | { AllUsers: true },
): Promise<StatusCredential[]> {
  return paged(async (Marker) => {
    const page = await iam.send(new ListServiceSpecificCredentialsCommand({ ...whose, Marker }));
    const items = (page.ServiceSpecificCredentials ?? []).flatMap((c) =>
      c.ServiceSpecificCredentialId && c.UserName && c.CreateDate
        ? [
            {
              ...statusCredential(
                'service-credential',
                c.ServiceSpecificCredentialId,
                c.UserName,
                c.Status,
                c.CreateDate,
              ),
              ...(c.ServiceName && { serviceName: c.ServiceName }),
            },
          ]
        : [],
    );
    return { items, next: page.IsTruncated ? page.Marker : undefined };
  });
}

/**
 * Sets the credential's status: all reauth does to these, and all its grant allows (Update* changes a
 * status, never makes a credential), so `Active` gives back only what was there.
 */
export async function setStatus(
  iam: IAMClient,
  credential: Pick<StatusCredential, 'kind' | 'id' | 'userName'>,
  Status: 'Active' | 'Inactive',
): Promise<void> {
  const { id, userName: UserName } = credential;
  switch (credential.kind) {
    case 'signing-certificate':
      await iam.send(new UpdateSigningCertificateCommand({ UserName, CertificateId: id, Status }));
      return;
    case 'ssh-key':
      await iam.send(new UpdateSSHPublicKeyCommand({ UserName, SSHPublicKeyId: id, Status }));
      return;
    case 'service-credential':
      await iam.send(
        new UpdateServiceSpecificCredentialCommand({ UserName, ServiceSpecificCredentialId: id, Status }),
      );
      return;
  }
}

function statusCredential(
  kind: StatusCredentialKind,
  id: string,
  userName: string,
  status: string | undefined,
  createdAt: Date,
): StatusCredential {
  const known = status === 'Active' || status === 'Inactive' || status === 'Expired';
  // An unknown status is not Active: reauth asks about, and disables, only what IAM says is usable.
  return { kind, id, userName, status: known ? status : 'Inactive', createdAt };
}

async function paged<T>(read: (marker?: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const all: T[] = [];
  let marker: string | undefined;
  do {
    const { items, next } = await read(marker);
    all.push(...items);
    marker = next;
  } while (marker);
  return all;
}
