import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/shared/domain/credential';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { evaluateCredential } from '../../lambdas/shared/domain/evaluate';
import { describeOwnerOrigin, needsSource, resolveOwner } from '../../lambdas/shared/domain/owners';
import { PolicyConfigError, parsePolicyConfig } from '../../lambdas/shared/domain/policy';

const NOW = new Date('2026-11-22T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);

const policy = parsePolicyConfig({
  owners: {
    byGroup: { deployers: 'U0DEPLOY', payments: 'U0PAY' },
    byPath: { '/teams/': 'U0TEAMS', '/teams/payments/': 'U0PAY' },
  },
});

function key(overrides: Partial<Credential> = {}): Credential {
  return {
    accountId: '123456789012',
    kind: 'access-key',
    id: 'AKIAEXAMPLE000000001',
    principal: 'ci-deployer',
    principalArn: 'arn:aws:iam::123456789012:user/teams/payments/ci-deployer',
    createdAt: daysAgo(400),
    lastRotatedAt: daysAgo(400),
    lastUsedAt: daysAgo(200),
    tags: {},
    ...overrides,
  };
}

describe('the owner resolution chain', () => {
  it('takes the first source that names an owner, in the default order', () => {
    const clues = {
      stack: { name: 'ci', owner: 'U0STACK' },
      account: { owner: 'U0ACCOUNT', via: '123456789012' },
      creator: { owner: 'alice@example.com', via: 'CreateUser on 2026-03-02' },
    };
    const chain = [
      [{ tags: { owner: 'U0TAG' }, groups: ['payments'], path: '/teams/' }, 'tag', 'U0TAG', 'owner'],
      [{ groups: ['ops', 'deployers'], path: '/teams/' }, 'group', 'U0DEPLOY', 'deployers'],
      [{ groups: ['ops'], path: '/teams/payments/x/' }, 'path', 'U0PAY', '/teams/payments/'],
      [{ path: '/' }, 'stack', 'U0STACK', 'ci'],
    ] as const;
    for (const [credential, source, owner, via] of chain) {
      expect(resolveOwner({ tags: {}, ...credential }, clues, policy)).toEqual({
        owner,
        origin: { source, via },
      });
    }
    expect(resolveOwner({ tags: {} }, { account: clues.account, creator: clues.creator }, policy)).toEqual({
      owner: 'U0ACCOUNT',
      origin: { source: 'account', via: '123456789012' },
    });
    expect(resolveOwner({ tags: {} }, { creator: clues.creator }, policy).origin.source).toBe('creator');
    expect(resolveOwner({ tags: {} }, {}, policy)).toEqual({
      owner: '#security',
      origin: { source: 'fallback' },
    });
  });

  it('follows the order the policy gives, and leaves out the sources it does not name', () => {
    const creatorFirst = parsePolicyConfig({ owners: { sources: ['creator', 'tag'] } });
    const credential = { tags: { owner: 'U0TAG' }, groups: ['deployers'] };
    const creator = { owner: 'alice@example.com', via: 'CreateAccessKey on 2026-03-02' };
    expect(resolveOwner(credential, { creator }, creatorFirst).origin.source).toBe('creator');
    expect(resolveOwner({ tags: {}, groups: ['deployers'] }, {}, creatorFirst).origin.source).toBe(
      'fallback',
    );
  });

  it("uses owners.account in single-account mode, where no account's tags are read", () => {
    const single = parsePolicyConfig({ owners: { account: 'U0PLATFORM' } });
    expect(resolveOwner({ tags: {} }, {}, single)).toEqual({
      owner: 'U0PLATFORM',
      origin: { source: 'account', via: 'owners.account' },
    });
    // An organization's account tag, when there is one, is the account's owner.
    expect(
      resolveOwner({ tags: {} }, { account: { owner: 'U0ORG', via: 'ou-ab12-cdef3456' } }, single).owner,
    ).toBe('U0ORG');
  });

  it('needs a costly clue (a stack lookup) only where no earlier source names the owner', () => {
    expect(needsSource('stack', { tags: { owner: 'U0TAG' } }, {}, policy)).toBe(false);
    expect(needsSource('stack', { tags: {}, groups: ['deployers'] }, {}, policy)).toBe(false);
    expect(needsSource('stack', { tags: {}, path: '/' }, {}, policy)).toBe(true);
    const noStacks = parsePolicyConfig({ owners: { sources: ['tag', 'account'] } });
    expect(needsSource('stack', { tags: {} }, {}, noStacks)).toBe(false);
  });

  it('refuses a source named twice, an unknown source and a path that is not one', () => {
    expect(() => parsePolicyConfig({ owners: { sources: ['tag', 'tag'] } })).toThrow(/names a source twice/);
    expect(() => parsePolicyConfig({ owners: { sources: ['manager'] } })).toThrow(PolicyConfigError);
    expect(() => parsePolicyConfig({ owners: { byPath: { teams: 'U1' } } })).toThrow(
      /owners\.byPath\.teams: not an IAM path/,
    );
  });

  it('keeps the id of a policy without an owners section', () => {
    expect(parsePolicyConfig({})).not.toHaveProperty('owners');
  });
});

describe('evaluation with owner sources', () => {
  it('is orphaned only when every source fails, and records where the owner came from', () => {
    const grouped = evaluateCredential(key({ groups: ['deployers'] }), undefined, policy, NOW);
    expect(grouped).toMatchObject({
      outcome: 'finding',
      owner: 'U0DEPLOY',
      triggers: ['idle', 'max-age'],
      evidence: { ownerSource: { source: 'group', via: 'deployers' } },
    });
    const orphan = evaluateCredential(key(), undefined, policy, NOW);
    expect(orphan).toMatchObject({ owner: '#security', evidence: { ownerSource: { source: 'fallback' } } });
    expect(orphan.outcome === 'finding' && orphan.triggers).toContain('orphaned');
  });

  it('takes the clues the scan read (stack, account, creator)', () => {
    const found = evaluateCredential(key(), undefined, policy, NOW, undefined, {
      creator: { owner: 'alice@example.com', via: 'CreateAccessKey on 2026-03-02' },
    });
    expect(found).toMatchObject({ owner: 'alice@example.com', ownerSource: { source: 'creator' } });
    expect(found.outcome === 'finding' && found.triggers).not.toContain('orphaned');
  });

  it('puts an assignment first, and without the scan reads the clue source the last scan recorded', () => {
    const recorded: CredentialState = {
      credentialId: '123456789012:access-key:AKIAEXAMPLE000000001',
      accountId: '123456789012',
      kind: 'access-key',
      principal: 'ci-deployer',
      owner: 'U0ACCOUNT',
      ownerSource: { source: 'account', via: '123456789012' },
      status: 'pending',
      triggers: ['idle'],
      updatedAt: daysAgo(1).toISOString(),
      seq: 1,
      lastHash: 'a'.repeat(64),
    };
    // The events consumer reads no account tags: the state says what the scan found.
    expect(evaluateCredential(key(), recorded, policy, NOW)).toMatchObject({
      owner: 'U0ACCOUNT',
      ownerSource: { source: 'account', via: '123456789012' },
    });
    const assigned = {
      ...recorded,
      assignedOwner: { owner: 'U0BOB', by: 'slack:U0SEC', at: daysAgo(1).toISOString() },
    };
    expect(evaluateCredential(key({ tags: { owner: 'U0TAG' } }), assigned, policy, NOW)).toMatchObject({
      owner: 'U0BOB',
      ownerSource: { source: 'assigned', via: 'slack:U0SEC' },
    });
  });

  it('says in words where the owner came from', () => {
    expect(describeOwnerOrigin({ source: 'creator', via: 'CreateAccessKey on 2026-03-02' })).toBe(
      'you created it (CreateAccessKey on 2026-03-02)',
    );
    expect(describeOwnerOrigin({ source: 'assigned', via: 'slack:U0SEC' })).toBe(
      'assigned to you by slack:U0SEC',
    );
    expect(describeOwnerOrigin({ source: 'account', via: 'ou-ab12-cdef3456' })).toContain('the OU');
  });
});
