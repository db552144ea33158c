import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** A Distributed Map's ResultWriter manifest, as Step Functions writes it (the fields read here). */
interface Manifest {
  ResultFiles?: { SUCCEEDED?: { Key: string }[]; FAILED?: { Key: string }[] };
}

/** One child execution in a result file: its input and output as JSON strings. */
interface ChildResult {
  Input?: string;
  Output?: string;
  Error?: string;
  Cause?: string;
}

/**
 * Every child's outcome from a Distributed Map's results in S3: the output of each one that succeeded
 * (reauth's Catch turns an account's failure into such an output), and for each that failed past it,
 * `{ accountId, ok: false, error, cause }` from its input's account.
 */
export async function readMapResults(
  s3: S3Client,
  manifest: { Bucket: string; Key: string },
): Promise<unknown[]> {
  const read = async <T>(Key: string): Promise<T> => {
    const object = await s3.send(new GetObjectCommand({ Bucket: manifest.Bucket, Key }));
    return JSON.parse((await object.Body?.transformToString()) ?? 'null') as T;
  };
  const { ResultFiles } = await read<Manifest>(manifest.Key);
  const outcomes: unknown[] = [];
  for (const file of ResultFiles?.SUCCEEDED ?? [])
    for (const child of await read<ChildResult[]>(file.Key))
      outcomes.push(JSON.parse(child.Output ?? 'null'));
  for (const file of ResultFiles?.FAILED ?? [])
    for (const child of await read<ChildResult[]>(file.Key)) {
      const input = JSON.parse(child.Input ?? '{}') as { account?: { accountId?: string } };
      if (input.account?.accountId)
        outcomes.push({
          accountId: input.account.accountId,
          ok: false,
          error: child.Error ?? 'failed',
          cause: child.Cause,
        });
    }
  return outcomes;
}
