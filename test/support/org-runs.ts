import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import type { OrgAccountsResult } from '../../lambdas/org-accounts/handler';
import { readRunObject } from '../../lambdas/shared/adapters/run-objects';
import {
  OrganizationListingSchema,
  type TargetAccount,
  TargetAccountSchema,
} from '../../lambdas/shared/domain/organization';

/** The bucket the list step writes a run's objects to (the fan-out results bucket), created on the emulator. */
export async function runsBucket(
  s3: S3Client,
  name = 'reauth-runs-under-test',
): Promise<{ RUNS_BUCKET: string }> {
  await s3.send(new CreateBucketCommand({ Bucket: name })).catch((error: Error) => {
    if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
  });
  return { RUNS_BUCKET: name };
}

/** What a run's list step wrote, read back: the selected accounts and the organization's account ids. */
export async function readListing(
  s3: S3Client,
  listing: OrgAccountsResult,
): Promise<{ accounts: TargetAccount[]; organizationAccounts: string[] }> {
  const [accounts, organization] = await Promise.all([
    readRunObject(s3, listing.accounts, z.array(TargetAccountSchema)),
    readRunObject(s3, listing.organization, OrganizationListingSchema),
  ]);
  return { accounts, organizationAccounts: organization.accounts };
}
