import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import {
  fittedKept,
  isRightSizePolicyArn,
  keptActions,
  keptOfRightSizePolicy,
  principalRefusal,
  RIGHT_SIZE_POLICY_PATH,
  rightSizePolicy,
  rightSizePolicyName,
  rightSizeRefusal,
  rightSizeUsageOf,
  rightSizeUsageOfSummary,
} from '../../lambdas/shared/domain/right-size';
import type { ServiceUsage } from '../../lambdas/shared/domain/service-usage';
import { FORTY_SERVICES } from '../support/forty-services';

const ACCOUNT = '123456789012';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/app-worker`;
const NOW = new Date('2026-12-06T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();

const USAGE: ServiceUsage = {
  principalArn: ROLE_ARN,
  granted: FORTY_SERVICES,
  used: [
    { service: 's3', lastAccessed: daysAgo(30), actions: ['s3:GetObject', 's3:ListBucket'] },
    { service: 'sqs', lastAccessed: daysAgo(2) },
    { service: 'kms', lastAccessed: daysAgo(40) },
  ],
  readAt: daysAgo(0),
  trackedSince: daysAgo(400),
  windowDays: 90,
};
const IDENTITY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: FORTY_SERVICES.map((s) => `${s}:*`), Resource: '*' }],
};

/** What IAM would answer the role for `action`, with its identity policy, reauth's deny and a boundary. */
async function allowed(
  action: string,
  resource: string,
  options: { narrowed?: object; boundary?: object } = {},
) {
  const result = await runSimulation(
    {
      identityPolicies: [
        { name: 'team-grants', policy: IDENTITY },
        ...(options.narrowed ? [{ name: 'reauth-right-size', policy: options.narrowed }] : []),
      ],
      ...(options.boundary && {
        permissionBoundaryPolicies: [{ name: 'team-boundary', policy: options.boundary }],
      }),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action,
        principal: ROLE_ARN,
        resource: { accountId: ACCOUNT, resource },
        contextVariables: {},
      },
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`${action}: ${JSON.stringify(result.errors)}`);
  return result.overallResult === 'Allowed';
}

const BUCKET_OBJECT = 'arn:aws:s3:::app-data/report.csv';
const QUEUE = `arn:aws:sqs:us-east-1:${ACCOUNT}:jobs`;

describe('the right-size policy, as IAM evaluates it', () => {
  const narrowed = rightSizePolicy(keptActions(USAGE, NOW));

  it('lets a role granted 40 services that used 3 do exactly those 3', async () => {
    expect(await allowed('s3:GetObject', BUCKET_OBJECT)).toBe(true);
    expect(await allowed('ec2:DescribeInstances', '*')).toBe(true);
    expect(await allowed('s3:GetObject', BUCKET_OBJECT, { narrowed })).toBe(true);
    expect(await allowed('sqs:SendMessage', QUEUE, { narrowed })).toBe(true);
    // A key's own policy decides kms:Decrypt; kms:ListKeys takes no key.
    expect(await allowed('kms:ListKeys', '*', { narrowed })).toBe(true);
    // A fourth service it was granted and never used.
    expect(await allowed('ec2:DescribeInstances', '*', { narrowed })).toBe(false);
    expect(
      await allowed('dynamodb:GetItem', `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/t`, { narrowed }),
    ).toBe(false);
    expect(await allowed('organizations:ListAccounts', '*', { narrowed })).toBe(false);
  });

  it('keeps only the actions IAM saw for a service last used before the 7-day floor, and a whole service used within it', async () => {
    expect(await allowed('s3:PutObject', BUCKET_OBJECT, { narrowed })).toBe(false);
    expect(await allowed('s3:ListBucket', 'arn:aws:s3:::app-data', { narrowed })).toBe(true);
    // sqs has no action-level data; kms was used 40 days ago without it: both whole.
    expect(await allowed('sqs:DeleteQueue', QUEUE, { narrowed })).toBe(true);
    const recent = rightSizePolicy(
      keptActions(
        { ...USAGE, used: [{ service: 's3', lastAccessed: daysAgo(3), actions: ['s3:GetObject'] }] },
        NOW,
      ),
    );
    expect(await allowed('s3:PutObject', BUCKET_OBJECT, { narrowed: recent })).toBe(true);
  });

  it('never denies sts:GetCallerIdentity or the reads that show the role what narrows it', async () => {
    const nothingKept = rightSizePolicy([]);
    const policyArn = `arn:aws:iam::${ACCOUNT}:policy${RIGHT_SIZE_POLICY_PATH}x`;
    const withReads = {
      ...IDENTITY,
      Statement: [
        ...IDENTITY.Statement,
        { Effect: 'Allow', Action: ['sts:GetCallerIdentity', 'iam:Get*', 'iam:List*'], Resource: '*' },
      ],
    };
    for (const [action, resource] of [
      ['sts:GetCallerIdentity', '*'],
      ['iam:GetRole', ROLE_ARN],
      ['iam:ListAttachedRolePolicies', ROLE_ARN],
      ['iam:GetPolicyVersion', policyArn],
    ] as const) {
      const result = await runSimulation(
        {
          identityPolicies: [
            { name: 'team', policy: withReads },
            { name: 'reauth-right-size', policy: nothingKept },
          ],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          request: {
            action,
            principal: ROLE_ARN,
            resource: { accountId: ACCOUNT, resource },
            contextVariables: {},
          },
        },
        {},
      );
      expect(result.resultType === 'error' ? result.errors : result.overallResult, action).toBe('Allowed');
    }
  });

  it('is the intersection with a boundary already there: the team boundary still bounds what is kept', async () => {
    const boundary = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:*', 'ec2:*'], Resource: '*' }],
    };
    expect(await allowed('sqs:SendMessage', QUEUE, { boundary })).toBe(false);
    expect(await allowed('ec2:DescribeInstances', '*', { boundary })).toBe(true);
    // Narrowed: s3 (kept, within the boundary) only; sqs is outside the boundary, ec2 outside what is kept.
    expect(await allowed('s3:GetObject', BUCKET_OBJECT, { narrowed, boundary })).toBe(true);
    expect(await allowed('sqs:SendMessage', QUEUE, { narrowed, boundary })).toBe(false);
    expect(await allowed('ec2:DescribeInstances', '*', { narrowed, boundary })).toBe(false);
  });
});

describe('the right-size policy document', () => {
  it('is recognized as reauth’s only when it is exactly reauth’s, and its name is stable for the same principal and actions', () => {
    const kept = keptActions(USAGE, NOW);
    expect(kept).toEqual(['kms:*', 's3:GetObject', 's3:ListBucket', 'sqs:*']);
    expect(keptOfRightSizePolicy(JSON.stringify(rightSizePolicy(kept)))).toEqual(kept);
    expect(keptOfRightSizePolicy(encodeURIComponent(JSON.stringify(rightSizePolicy(kept))))).toEqual(kept);
    const widened = rightSizePolicy(kept);
    (widened.Statement[0] as { Effect: string }).Effect = 'Allow';
    expect(keptOfRightSizePolicy(widened)).toBeUndefined();
    const name = rightSizePolicyName(ROLE_ARN, kept);
    expect(name).toBe(rightSizePolicyName(ROLE_ARN, [...kept].reverse()));
    expect(name).not.toBe(rightSizePolicyName(`${ROLE_ARN}2`, kept));
    expect(isRightSizePolicyArn(`arn:aws:iam::${ACCOUNT}:policy${RIGHT_SIZE_POLICY_PATH}${name}`)).toBe(true);
    expect(isRightSizePolicyArn(`arn:aws:iam::${ACCOUNT}:policy/reauth/sessions/${name}`)).toBe(false);
  });

  it('collapses action lists to their services when the document would pass IAM’s 6,144 characters', () => {
    const many = Array.from({ length: 400 }, (_, i) => `ec2:DescribeThing${i}`).concat('s3:GetObject');
    expect(fittedKept(many)).toEqual(['ec2:*', 's3:*']);
    expect(fittedKept(['s3:GetObject'])).toEqual(['s3:GetObject']);
  });
});

describe('when reauth refuses to narrow', () => {
  const role = { kind: 'role' as const, principal: 'app-worker', status: 'pending' as const };
  const options = { now: NOW, protectedPrincipals: ['break-glass-*'] };

  it('narrows a role with a full window of data', () => {
    expect(rightSizeRefusal(role, rightSizeUsageOf(USAGE), options)).toBeUndefined();
  });

  it.each([
    ['a secret', { ...role, kind: 'secret' as const }, USAGE, /no IAM user or role/],
    [
      'a protected principal',
      { ...role, principal: 'break-glass-admin' },
      { ...USAGE, principalArn: `arn:aws:iam::${ACCOUNT}:role/break-glass-admin` },
      /protected/,
    ],
    ['reauth’s own role', { ...role, principal: 'reauth-enforcer' }, USAGE, /protected/],
    ['an exempt credential', { ...role, status: 'exempt' as const }, USAGE, /exempt/],
    [
      'a service-linked role',
      { ...role, principal: 'AWSServiceRoleForECS' },
      {
        ...USAGE,
        principalArn: `arn:aws:iam::${ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
      },
      /service-linked/,
    ],
    [
      'data younger than the window',
      role,
      { ...USAGE, trackedSince: daysAgo(30) },
      /less than the 90-day window/,
    ],
    ['no data read yet', role, undefined, /not read what it uses/],
    ['nothing used', role, { ...USAGE, used: [] }, /Disable instead/],
  ])('refuses %s', (_, state, usage, why) => {
    expect(rightSizeRefusal(state, usage && rightSizeUsageOf(usage), options)).toMatch(why);
  });

  it('refuses from the request alone, before anything is read, all but what only the read can tell', () => {
    for (const state of [
      { ...role, kind: 'secret' as const },
      { ...role, principal: 'break-glass-admin' },
      { ...role, principal: 'reauth-enforcer' },
      { ...role, status: 'exempt' as const },
      { ...role, principal: 'AWSServiceRoleForECS' },
      { ...role, kind: 'ssh-key' as const },
    ])
      expect(principalRefusal(state, options), JSON.stringify(state)).toBeDefined();
    expect(principalRefusal(role, options)).toBeUndefined();
    expect(
      principalRefusal({ ...role, kind: 'access-key' as const, principal: 'ci-deployer' }, options),
    ).toBe(undefined);
  });

  it('refuses usage data about another principal than the credential’s', () => {
    const other = rightSizeUsageOf({ ...USAGE, principalArn: `arn:aws:iam::${ACCOUNT}:role/someone-else` });
    expect(rightSizeRefusal(role, other, options)).toMatch(/about .*someone-else, not app-worker/);
  });

  it('narrows from the request’s summary only when it names every used service, each kept whole', () => {
    const summary = {
      principalArn: ROLE_ARN,
      grantedCount: 40,
      usedCount: 3,
      used: ['s3', 'sqs', 'kms'],
      unused: ['ec2'],
      windowDays: 90,
      readAt: daysAgo(1),
      trackedSince: daysAgo(400),
    };
    const usage = rightSizeUsageOfSummary(summary);
    expect(usage?.grantedCount).toBe(40);
    expect(keptActions(usage ?? { used: [] }, NOW)).toEqual(['kms:*', 's3:*', 'sqs:*']);
    // A capped list: narrowing to the names kept would cut a service it used.
    expect(rightSizeUsageOfSummary({ ...summary, usedCount: 25 })).toBeUndefined();
    expect(rightSizeRefusal(role, rightSizeUsageOfSummary({ ...summary, usedCount: 25 }), options)).toMatch(
      /uses more services than the request lists/,
    );
  });
});
