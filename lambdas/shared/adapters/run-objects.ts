import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type * as z from 'zod';
import { OrganizationListingSchema, type RunObject } from '../domain/organization';
import type { TrustZone } from '../domain/role-trust';

/**
 * A run's objects in S3, under `runs/<runId>/`: what the fan-out's states pass by reference because it
 * grows with the organization (the account list the Distributed Map's ItemReader reads, the
 * organization's account ids, the accounts that failed).
 */
export function runObjectKey(runId: string, name: 'accounts' | 'organization' | 'failures'): string {
  return `runs/${runId}/${name}.json`;
}

/** Writes `value` as JSON to `Bucket`/`Key` and returns the reference a state passes on. */
export async function writeRunObject(s3: S3Client, object: RunObject, value: unknown): Promise<RunObject> {
  await s3.send(
    new PutObjectCommand({
      ...object,
      Body: JSON.stringify(value),
      ContentType: 'application/json',
    }),
  );
  return { Bucket: object.Bucket, Key: object.Key };
}

/** Reads a run object and checks it against `schema`: a reference that names the wrong thing fails here. */
export async function readRunObject<S extends z.ZodType>(
  s3: S3Client,
  object: RunObject,
  schema: S,
): Promise<z.infer<S>> {
  const read = await s3.send(new GetObjectCommand({ Bucket: object.Bucket, Key: object.Key }));
  return schema.parse(JSON.parse((await read.Body?.transformToString()) ?? 'null'));
}

/**
 * The zone of trust from a run's `organization` object, read once per run per warm function (every
 * account a warm scan function takes in that run shares it): one GetObject of about 15 bytes an
 * account, instead of every account id in every child's input.
 */
export function organizationZoneReader(s3: S3Client): (object: RunObject) => Promise<TrustZone> {
  let kept: { key: string; zone: Promise<TrustZone> } | undefined;
  return (object) => {
    const key = `${object.Bucket}/${object.Key}`;
    if (kept?.key !== key) {
      const zone = readRunObject(s3, object, OrganizationListingSchema).then((listing) => ({
        accounts: listing.accounts,
        organizationId: listing.organizationId,
      }));
      kept = { key, zone };
      // A failed read is not kept: the next account reads again.
      zone.catch(() => {
        if (kept?.zone === zone) kept = undefined;
      });
    }
    return kept.zone;
  };
}
