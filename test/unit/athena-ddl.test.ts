import { readFileSync } from 'node:fs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { chainDecision, GENESIS_HASH } from '../../lambdas/shared/domain/decision';
import { credentialPk, decisionSk, TABLE_KEYS } from '../../lambdas/shared/table-layout';

/** The `Item struct<…>` fields of docs/athena.sql, with their DynamoDB type: `{ seq: 'N', … }`. */
function athenaColumns(): Record<string, string> {
  const ddl = readFileSync(new URL('../../docs/athena.sql', import.meta.url), 'utf8');
  const item = /Item struct<([\s\S]*?)\n\s*>\n\)/.exec(ddl)?.[1] ?? '';
  return Object.fromEntries([...item.matchAll(/(\w+): struct<(\w+): string>/g)].map((m) => [m[1], m[2]]));
}

describe('the Athena table over the exports', () => {
  it('has one column per attribute of an exported decision, with its DynamoDB type', () => {
    const decision = chainDecision(
      {
        credentialId: '123456789012:role:vendor',
        accountId: '123456789012',
        kind: 'role',
        principal: 'vendor',
        owner: 'U1',
        action: 'flag',
        reason: 'unused for 95 days',
        actor: 'system:scan',
        at: '2026-11-23T00:00:00.000Z',
        mode: 'report',
        policyId: 'sha256:abc',
        evidence: { idleDays: 95 },
      },
      { seq: 0, lastHash: GENESIS_HASH },
    );
    // What the store writes, in DynamoDB JSON as the export carries it.
    const item = marshall({
      [TABLE_KEYS.partitionKey]: credentialPk(decision.credentialId),
      [TABLE_KEYS.sortKey]: decisionSk(decision.at, decision.seq),
      ...decision,
    });
    const exported = Object.fromEntries(
      Object.entries(item).map(([name, value]) => [name, Object.keys(value)[0]]),
    );

    expect(athenaColumns()).toEqual(exported);
  });

  it('reads the evidence keys it names with the type the store writes them in, the answering user included', () => {
    const ddl = readFileSync(new URL('../../docs/athena.sql', import.meta.url), 'utf8');
    const paths = [...ddl.matchAll(/json_extract_scalar\(Item\.evidence\.M, '\$\.(\w+)\.(\w+)'\)/g)].map(
      (m) => [m[1], m[2]],
    );
    const decision = chainDecision(
      {
        credentialId: '123456789012:role:vendor',
        accountId: '123456789012',
        kind: 'role',
        principal: 'vendor',
        owner: 'U1',
        action: 'reauthorize',
        reason: 'still used',
        actor: 'slack:U1',
        at: '2026-11-23T00:00:00.000Z',
        mode: 'enforce',
        policyId: 'sha256:abc',
        evidence: {
          approver: 'slack:U1',
          until: '2027-02-21T00:00:00.000Z',
          actorName: 'Ana Example',
          actorEmail: 'ana@example.com',
          // A flag's: where the credential was last used.
          lastUsedService: 'iam',
          lastUsedRegion: 'us-east-1',
        },
      },
      { seq: 0, lastHash: GENESIS_HASH },
    );
    const evidence = marshall(decision.evidence);

    expect(paths.map(([key]) => key)).toEqual(expect.arrayContaining(['actorName', 'actorEmail']));
    for (const [key, type] of paths) {
      expect(Object.keys(evidence[key as string] ?? {}), key).toEqual([type]);
    }
  });
});
