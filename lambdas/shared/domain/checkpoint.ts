import { type KeyObject, verify } from 'node:crypto';

/**
 * A signed checkpoint (#24): a scan signs the hash of the population record it appends with an
 * asymmetric KMS key only the scan and enforce roles may use, so whoever can rewrite the table and the
 * exports (and recompute every hash) still cannot make records that verify. KMS signs the record's hash
 * as a digest (`MessageType: DIGEST`): an ordinary ECDSA P-256 / SHA-256 signature over the record's
 * canonical JSON, which node:crypto or `openssl dgst -sha256 -verify` checks with the public key alone.
 */
export const CHECKPOINT_SIGNING_ALGORITHM = 'ECDSA_SHA_256';

/** Stored beside the record (its `signature` attribute), outside what the record's hash covers. */
export interface CheckpointSignature {
  /** The key's ARN, as KMS answers it. */
  keyId: string;
  algorithm: string;
  /** The DER-encoded signature, base64. */
  value: string;
}

/** Signs a 32-byte digest (hex). The port the scan signs through; `adapters/checkpoint-signer.ts` is KMS's. */
export type CheckpointSigner = (digestHex: string) => Promise<CheckpointSignature>;

/**
 * Whether `signature` is `publicKey`'s over `preimage`, the bytes whose SHA-256 is the record's hash.
 * Verifying over the preimage, not the stored hash, also proves the hash is the content's.
 */
export function checkpointValid(
  preimage: string,
  signature: CheckpointSignature,
  publicKey: KeyObject,
): boolean {
  if (signature.algorithm !== CHECKPOINT_SIGNING_ALGORITHM) return false;
  try {
    return verify('sha256', Buffer.from(preimage), publicKey, Buffer.from(signature.value, 'base64'));
  } catch {
    // A value that is no DER signature at all is a signature that does not verify.
    return false;
  }
}
