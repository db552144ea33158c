import {
  CreateServiceSpecificCredentialCommand,
  type IAMClient,
  UploadSigningCertificateCommand,
  UploadSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';

/**
 * A self-signed P-256 certificate (CN reauth-test-signing-certificate) made for these tests: public
 * material only, its private key was never kept. IAM (and moto) refuse a body that is not X.509.
 */
export const SIGNING_CERTIFICATE_PEM = `-----BEGIN CERTIFICATE-----
MIIBqTCCAU+gAwIBAgIUejYzr/S7KQdjwBqjkxLNmI4TrMEwCgYIKoZIzj0EAwIw
KjEoMCYGA1UEAwwfcmVhdXRoLXRlc3Qtc2lnbmluZy1jZXJ0aWZpY2F0ZTAeFw0y
NjEyMDYxMjU5NDhaFw0zNjEyMDMxMjU5NDhaMCoxKDAmBgNVBAMMH3JlYXV0aC10
ZXN0LXNpZ25pbmctY2VydGlmaWNhdGUwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AAS1N6FmuOHuRPzOfp6V1snbpBcgkQga8wZ39ShKPf76NTdoHKGPijuZlk6gUV+d
Rxh1Osz2WQxeP9Jp+MyDAvpvo1MwUTAdBgNVHQ4EFgQUM1XdmBJU3Q82UjmaUKfY
Nm8KdwowHwYDVR0jBBgwFoAUM1XdmBJU3Q82UjmaUKfYNm8KdwowDwYDVR0TAQH/
BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiBqBw3wfhVvCbdcM0v/+SrEWurRMzNh
C3SmdLAHMFcGbwIhAPYjsEB8qiDPjMbyfqeE8/Sgs8eDv7gl8Adw+gWwo/oZ
-----END CERTIFICATE-----
`;

/** An ed25519 public key made for these tests (its private key was never kept). */
export const SSH_PUBLIC_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZffC74uhtfmYvDXvFtmrKWpXLPocS7LdjbU2vt5BLU reauth-test';

/** The ids of a user's three status credentials, as IAM made them. */
export interface SeededStatusCredentials {
  certificateId: string;
  sshKeyId: string;
  serviceCredentialId: string;
}

/** Gives `userName` a signing certificate, an SSH public key and a CodeCommit service credential. */
export async function seedStatusCredentials(
  iam: IAMClient,
  userName: string,
): Promise<SeededStatusCredentials> {
  const { Certificate } = await iam.send(
    new UploadSigningCertificateCommand({ UserName: userName, CertificateBody: SIGNING_CERTIFICATE_PEM }),
  );
  const { SSHPublicKey } = await iam.send(
    new UploadSSHPublicKeyCommand({ UserName: userName, SSHPublicKeyBody: SSH_PUBLIC_KEY }),
  );
  const { ServiceSpecificCredential } = await iam.send(
    new CreateServiceSpecificCredentialCommand({
      UserName: userName,
      ServiceName: 'codecommit.amazonaws.com',
    }),
  );
  const certificateId = Certificate?.CertificateId;
  const sshKeyId = SSHPublicKey?.SSHPublicKeyId;
  const serviceCredentialId = ServiceSpecificCredential?.ServiceSpecificCredentialId;
  if (!certificateId || !sshKeyId || !serviceCredentialId)
    throw new Error(`IAM did not make every status credential of ${userName}`);
  return { certificateId, sshKeyId, serviceCredentialId };
}
