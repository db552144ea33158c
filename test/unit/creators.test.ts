import { describe, expect, it } from 'vitest';
import { CREATION_EVENTS, creatorHintOf } from '../../lambdas/shared/domain/creators';
import { parsePolicyConfig } from '../../lambdas/shared/domain/policy';
import { IAM_CHANGE_EVENTS, SECRET_CHANGE_EVENTS } from '../../lambdas/shared/domain/trust-event';
import { IAM_CHANGES_PATTERN, SECRET_CHANGES_PATTERN } from '../../lib/trust-events';
import {
  creatorCases as cases,
  creatorCase,
  type Json,
  creatorRecordOf as recordOf,
  realRecords as records,
} from '../support/creator-records';

/**
 * Real CloudTrail records read as creations, each case labelled by hand in
 * test/fixtures/real/creator-hints.json (see test/support/creator-records.ts).
 */

const ACCOUNT = '123456789012';

describe('creator hints from real CloudTrail records', () => {
  it('has a case changed from its record only where it says so, and each record is there', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
    for (const c of cases) {
      const changed = Boolean(c.identityOf || c.identity || c.errorOf || c.renameCaller);
      expect(Boolean(c.changes), c.id).toBe(changed);
      expect(() => recordOf(c), c.id).not.toThrow();
    }
  });

  for (const c of cases) {
    it(`${c.id}: ${'none' in c.expect ? 'names nobody' : `${c.expect.subject} → ${c.expect.owner}`}`, () => {
      const policy = parsePolicyConfig({ owners: { byCreatorRole: c.byCreatorRole ?? {} } });
      const record = recordOf(c);
      const read = creatorHintOf(record, {
        accountId: ACCOUNT,
        ...(policy.owners && { owners: policy.owners }),
      });
      if ('none' in c.expect) {
        expect(read).toEqual({ none: expect.stringContaining(c.expect.none) });
        return;
      }
      expect(read).toEqual({
        hint: {
          accountId: ACCOUNT,
          subject: c.expect.subject,
          owner: c.expect.owner,
          eventName: record.eventName,
          at: c.expect.at ?? record.eventTime,
          by: (record.userIdentity as Json).arn,
        },
      });
    });
  }

  it('reads a hint from each of the five creations', () => {
    const named = new Set(
      cases.filter((c) => 'subject' in c.expect).map((c) => records.get(c.record)?.eventName as string),
    );
    expect([...named].sort()).toEqual([...CREATION_EVENTS].sort());
  });

  it('reads a record as LookupEvents gives it (CloudTrailEvent, a JSON string) as it reads the event', () => {
    const c = creatorCase('create-access-key-by-sso-session');
    const fromHistory = JSON.parse(JSON.stringify(recordOf(c)));
    expect(creatorHintOf(fromHistory, { accountId: ACCOUNT })).toEqual(
      creatorHintOf(recordOf(c), { accountId: ACCOUNT }),
    );
  });

  it('names nobody for what is not a creation, or not a CloudTrail record', () => {
    const update = records.get('stratus-iam-backdoor-role-update-assume-role-policy');
    expect(creatorHintOf(update, { accountId: ACCOUNT })).toEqual({
      none: 'UpdateAssumeRolePolicy creates nothing reauth keeps a creator for',
    });
    expect(creatorHintOf({ hello: 'world' }, { accountId: ACCOUNT })).toHaveProperty('none');
    expect(creatorHintOf(null, { accountId: ACCOUNT })).toHaveProperty('none');
  });

  it('a CreateAccessKey without the key in its response names nothing, rather than the user', () => {
    const record = recordOf(creatorCase('create-access-key-by-sso-session'));
    record.responseElements = null;
    expect(creatorHintOf(record, { accountId: ACCOUNT })).toEqual({
      none: 'CreateAccessKey names no user, key, role or secret',
    });
  });

  it('an IAM Identity Center session not named by an email is mapped by its role, or names nobody', () => {
    const record = recordOf(creatorCase('create-role-by-sso-session'));
    const identity = record.userIdentity as { arn: string };
    identity.arn = identity.arn.replace(/carol@example\.com$/, 'carol');
    expect(creatorHintOf(record, { accountId: ACCOUNT })).toHaveProperty('none');
    const role = 'AWSReservedSSO_AdministratorAccess_fedcba9876543210';
    const owners = parsePolicyConfig({ owners: { byCreatorRole: { [role]: 'U0ADMINS' } } }).owners;
    expect(creatorHintOf(record, { accountId: ACCOUNT, ...(owners && { owners }) })).toMatchObject({
      hint: { owner: 'U0ADMINS' },
    });
  });
});

describe('the rules deliver the creations', () => {
  it('IAM_CHANGES_PATTERN and SECRET_CHANGES_PATTERN match every creation the consumer reads', () => {
    const matched = [
      ...(IAM_CHANGES_PATTERN.detail?.eventName ?? []),
      ...(SECRET_CHANGES_PATTERN.detail?.eventName ?? []),
    ];
    for (const name of CREATION_EVENTS) expect(matched).toContain(name);
    expect([...IAM_CHANGE_EVENTS, ...SECRET_CHANGE_EVENTS]).toEqual(
      expect.arrayContaining([...CREATION_EVENTS]),
    );
  });
});
