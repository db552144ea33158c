import { ListRootsCommand, type OrganizationsClient } from '@aws-sdk/client-organizations';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LISTING_CACHE_KEY } from '../domain/organization';
import { listOrganizationAccounts, type OrganizationAccount, withAccountOwners } from './organization';

// Apart from ./organization, which the Slack functions import: they hold no S3 client.

/**
 * How long a kept listing is used: the list step relists after this even when no Organizations event
 * said the organization changed (an event lost, or a change no event reports).
 */
export const LISTING_MAX_AGE_MS = 6 * 3_600_000;

interface KeptListing {
  listedAt: string;
  organizationId: string;
  accounts: OrganizationAccount[];
  /** Whether the accounts carry their owners (a listing kept before owners were read does not). */
  ownersRead?: boolean;
}

/**
 * The organization's accounts as `listOrganizationAccounts` reads them, kept in S3 between runs: a run
 * within `maxAgeMs` of the last listing of the same organization reads the kept one (one ListRoots and
 * one GetObject, where a listing of a large organization pages through every OU at Organizations'
 * unpublished, hard rate). An Organizations event that changes the accounts or OUs deletes the kept
 * listing (`forgetOrganizationListing`), so the next run lists afresh.
 */
export async function keptOrganizationAccounts(
  client: OrganizationsClient,
  s3: S3Client,
  options: {
    bucket: string;
    now: Date;
    maxAgeMs?: number;
    /** Read each account's and OU's owner tag (the `account` owner source) with these keys; absent: none. */
    ownerTagKeys?: readonly string[];
  },
): Promise<{ organizationId: string; accounts: OrganizationAccount[]; kept: boolean }> {
  const root = (await client.send(new ListRootsCommand({}))).Roots?.[0]?.Arn;
  const organizationId = root?.match(/:root\/(o-[a-z0-9]+)\//)?.[1];
  const Key = LISTING_CACHE_KEY;
  let kept: KeptListing | undefined;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: options.bucket, Key }));
    kept = JSON.parse((await object.Body?.transformToString()) ?? 'null') as KeptListing;
  } catch (error) {
    if ((error as Error).name !== 'NoSuchKey') throw error;
  }
  const age = kept ? options.now.getTime() - Date.parse(kept.listedAt) : Number.POSITIVE_INFINITY;
  if (
    kept &&
    kept.organizationId === organizationId &&
    (kept.ownersRead ?? false) === (options.ownerTagKeys !== undefined) &&
    age >= 0 &&
    age < (options.maxAgeMs ?? LISTING_MAX_AGE_MS)
  )
    return { organizationId: kept.organizationId, accounts: kept.accounts, kept: true };
  const bare = await listOrganizationAccounts(client);
  const listed = options.ownerTagKeys
    ? { ...bare, accounts: await withAccountOwners(client, bare.accounts, options.ownerTagKeys) }
    : bare;
  const fresh: KeptListing = {
    listedAt: options.now.toISOString(),
    ...listed,
    ownersRead: options.ownerTagKeys !== undefined,
  };
  await s3.send(
    new PutObjectCommand({
      Bucket: options.bucket,
      Key,
      Body: JSON.stringify(fresh),
      ContentType: 'application/json',
    }),
  );
  return { ...listed, kept: false };
}

/** Forgets the kept listing: the next run lists the organization afresh. */
export async function forgetOrganizationListing(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: LISTING_CACHE_KEY }));
}
