import { createHash, createPublicKey, verify } from 'node:crypto';
import { CreateKeyCommand, GetPublicKeyCommand, SignCommand, VerifyCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { createKmsClient } from '../../lambdas/shared/adapters/aws-clients';
import { useEmulator } from '../support/emulator';

useEmulator();

describe("the emulator's KMS", () => {
  it('signs a digest as KMS does: an ECDSA P-256 signature node verifies over the message digested', async () => {
    const kms = createKmsClient();
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
    );
    const keyId = KeyMetadata?.KeyId as string;
    const message = Buffer.from('a population record, canonical');
    const digest = createHash('sha256').update(message).digest();
    const { Signature } = await kms.send(
      new SignCommand({
        KeyId: keyId,
        Message: digest,
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    const key = createPublicKey({ key: Buffer.from(PublicKey as Uint8Array), format: 'der', type: 'spki' });
    const signature = Buffer.from(Signature as Uint8Array);
    expect(verify('sha256', message, key, signature)).toBe(true);
    expect(verify('sha256', Buffer.from('another record'), key, signature)).toBe(false);
    // And KMS's own Verify reads the digest the same way.
    const verified = await kms.send(
      new VerifyCommand({
        KeyId: keyId,
        Message: digest,
        MessageType: 'DIGEST',
        Signature: signature,
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    expect(verified.SignatureValid).toBe(true);
  });
});
