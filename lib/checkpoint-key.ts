import { Duration, Lazy, RemovalPolicy } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { EnvBinding } from './reauth-function';

/**
 * The asymmetric key the scan and enforce jobs sign their population records with (#24,
 * `lambdas/shared/domain/checkpoint.ts`): evidence that stands without Object Lock, since rewriting
 * the table and the exports cannot forge a signature. ECC P-256 (no rotation: KMS rotates no
 * asymmetric key, and a rotated key would orphan the old signatures' public key). Retained, with the
 * longest deletion window: without it no old record verifies.
 */
export class CheckpointKey extends Construct {
  readonly key: Key;
  private readonly signers: IRole[] = [];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description:
        "Signs reauth's population checkpoints; reauth verify --key-id checks them with its public key",
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
    // The default key policy lets the account's IAM grant kms:Sign to anyone; this takes that back:
    // a signature is evidence only if nothing but reauth's jobs could have made it.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyReauthJobsSign',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: {
          ArnNotEquals: {
            'aws:PrincipalArn': Lazy.list({ produce: () => this.signers.map((r) => r.roleArn) }),
          },
        },
      }),
    );
  }

  /**
   * CHECKPOINT_KEY_ID (the key's ARN) plus kms:GetPublicKey on it alone: the export job writes the
   * public key beside each export, so the evidence carries what checks its signatures.
   */
  bindPublicKey(): EnvBinding {
    return {
      bind: (fn) => {
        this.key.grant(fn, 'kms:GetPublicKey');
        return this.key.keyArn;
      },
    };
  }

  /** CHECKPOINT_KEY_ID (the key's ARN) plus kms:Sign on it; the key's policy admits no other signer. */
  bindSign(): EnvBinding {
    return {
      bind: (fn) => {
        this.key.grant(fn, 'kms:Sign');
        if (fn.role) this.signers.push(fn.role);
        return this.key.keyArn;
      },
    };
  }
}
