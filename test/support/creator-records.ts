import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Real CloudTrail records (test/fixtures/real/cloudtrail, each with its source and licence) as the
 * creations of test/fixtures/real/creator-hints.json: a case that puts one record's caller on another's
 * call says so in `changes`, and both records are real.
 */

const REAL = join(import.meta.dirname, '../fixtures/real');
export type Json = Record<string, unknown>;

/** Every real CloudTrail record, by its case id. */
export const realRecords = new Map<string, Json>(
  readdirSync(join(REAL, 'cloudtrail'))
    .filter((name) => name.endsWith('.json'))
    .flatMap((file) =>
      (
        JSON.parse(readFileSync(join(REAL, 'cloudtrail', file), 'utf8')) as { id: string; record: Json }[]
      ).map((c) => [c.id, c.record] as const),
    ),
);

export interface CreatorCase {
  id: string;
  record: string;
  identityOf?: string;
  identity?: { source: string; userIdentity: Json };
  errorOf?: string;
  renameCaller?: string;
  changes?: string;
  byCreatorRole?: Record<string, string>;
  expect: { subject: string; owner: string; at?: string } | { none: string };
}

export const creatorCases = JSON.parse(
  readFileSync(join(REAL, 'creator-hints.json'), 'utf8'),
) as CreatorCase[];

/** The case of this id. */
export function creatorCase(id: string): CreatorCase {
  const found = creatorCases.find((c) => c.id === id);
  if (!found) throw new Error(`no creator case ${id}`);
  return found;
}

/** The record a case reads: its real record, with the changes it names. A fresh copy each time. */
export function creatorRecordOf(c: CreatorCase): Json {
  const found = (id: string) => {
    const record = realRecords.get(id);
    if (!record) throw new Error(`${c.id}: no real record ${id}`);
    return structuredClone(record);
  };
  const record = found(c.record);
  if (c.identityOf) record.userIdentity = found(c.identityOf).userIdentity;
  if (c.identity) record.userIdentity = structuredClone(c.identity.userIdentity);
  if (c.errorOf) {
    const failed = found(c.errorOf);
    record.errorCode = failed.errorCode;
    record.errorMessage = failed.errorMessage;
  }
  if (c.renameCaller) {
    const identity = record.userIdentity as Json;
    const before = identity.userName as string;
    identity.userName = c.renameCaller;
    identity.arn = (identity.arn as string).replace(new RegExp(`/${before}$`), `/${c.renameCaller}`);
  }
  return record;
}
