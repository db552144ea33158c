import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { CHECKPOINT_SIGNING_ALGORITHM, type CheckpointSigner } from '../domain/checkpoint';

/**
 * Signs checkpoints with the stack's asymmetric KMS key (`keyId`: its id, ARN or alias). The digest is
 * sent as one (`MessageType: DIGEST`): KMS sees 32 bytes, never the record.
 */
export function createCheckpointSigner(kms: KMSClient, keyId: string): CheckpointSigner {
  return async (digestHex) => {
    const { KeyId, Signature, SigningAlgorithm } = await kms.send(
      new SignCommand({
        KeyId: keyId,
        Message: Buffer.from(digestHex, 'hex'),
        MessageType: 'DIGEST',
        SigningAlgorithm: CHECKPOINT_SIGNING_ALGORITHM,
      }),
    );
    if (!Signature) throw new Error(`KMS answered Sign with no signature (key ${keyId})`);
    return {
      keyId: KeyId ?? keyId,
      algorithm: SigningAlgorithm ?? CHECKPOINT_SIGNING_ALGORITHM,
      value: Buffer.from(Signature).toString('base64'),
    };
  };
}

/** The key's public half as PEM (SPKI), what `reauth verify --public-key` reads offline. */
export async function readCheckpointPublicKey(kms: KMSClient, keyId: string): Promise<string> {
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (!PublicKey) throw new Error(`KMS answered GetPublicKey with no key (key ${keyId})`);
  const base64 = Buffer.from(PublicKey).toString('base64');
  return `-----BEGIN PUBLIC KEY-----\n${base64.match(/.{1,64}/g)?.join('\n')}\n-----END PUBLIC KEY-----\n`;
}
