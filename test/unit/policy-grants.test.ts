import { runSimulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgeAdded, judgeBoundary, judgeReplaced } from '../../lambdas/shared/domain/policy-grants';

/**
 * reauth judges a policy by reading its statements; a real IAM policy evaluator
 * (@cloud-copilot/iam-simulate) says what the same documents allow, request by request. Where reauth
 * says a document narrows, the evaluator must find no request it newly allows.
 */

const ACCOUNT = '123456789012';
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:user/ci-deployer`;

interface Probe {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

/** Requests across services, with and without MFA and from inside and outside a network. */
const PROBES: Probe[] = [
  { action: 'iam:CreateUser', resource: `arn:aws:iam::${ACCOUNT}:user/mallory` },
  { action: 'iam:AttachUserPolicy', resource: `arn:aws:iam::${ACCOUNT}:user/ci-deployer` },
  { action: 's3:GetObject', resource: 'arn:aws:s3:::builds/app.zip' },
  {
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::builds/app.zip',
    context: { 'aws:MultiFactorAuthPresent': 'true' },
  },
  {
    action: 's3:PutObject',
    resource: 'arn:aws:s3:::builds/app.zip',
    context: { 'aws:SourceIp': '10.0.0.7' },
  },
  {
    action: 's3:PutObject',
    resource: 'arn:aws:s3:::builds/app.zip',
    context: { 'aws:SourceIp': '203.0.113.9' },
  },
  { action: 'ec2:RunInstances', resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0abc` },
  {
    action: 'secretsmanager:GetSecretValue',
    resource: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/db-AbCdEf`,
  },
  { action: 'sts:AssumeRole', resource: `arn:aws:iam::${ACCOUNT}:role/deployer` },
  {
    action: 'dynamodb:PutItem',
    resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/decisions`,
  },
];

async function allows(document: object, probe: Probe): Promise<boolean> {
  const response = await runSimulation(
    {
      identityPolicies: [{ name: 'under-test', policy: document }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: probe.action,
        principal: PRINCIPAL,
        resource: { accountId: ACCOUNT, resource: probe.resource },
        contextVariables: probe.context ?? {},
      },
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
  return response.overallResult === 'Allowed';
}

/** The requests a document allows, by index in PROBES. */
async function allowedProbes(document: object): Promise<number[]> {
  const allowed: number[] = [];
  for (const [index, probe] of PROBES.entries()) if (await allows(document, probe)) allowed.push(index);
  return allowed;
}

const policy = (...Statement: object[]) => ({ Version: '2012-10-17', Statement });
const ALLOW_S3_READ = { Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::builds/*' };
const WITH_MFA = { Bool: { 'aws:MultiFactorAuthPresent': 'true' } };
const FROM_OFFICE = { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } };
/** AWS's leaked-key quarantine as AWS attaches it (AWSCompromisedKeyQuarantineV2, abridged to its shape). */
const QUARANTINE = policy({
  Effect: 'Deny',
  Action: ['iam:AttachUserPolicy', 'iam:CreateAccessKey', 'ec2:RunInstances', 's3:GetObject'],
  Resource: ['*'],
});

describe('a policy added is judged by what it allows', () => {
  it('a deny-only policy narrows, and the evaluator finds nothing it allows', async () => {
    for (const document of [QUARANTINE, policy({ Effect: 'Deny', Action: '*', Resource: '*' })]) {
      expect(judgeAdded(document)).toEqual({ widens: false, why: 'it only denies' });
      expect(await allowedProbes(document)).toEqual([]);
    }
  });

  it('an allow widens and says what it allows; NotAction reads as every action but those', async () => {
    const admin = policy({ Effect: 'Allow', Action: '*', Resource: '*' });
    expect(judgeAdded(admin)).toEqual({ widens: true, why: 'it allows * on *' });
    expect(await allowedProbes(admin)).toHaveLength(PROBES.length);
    const notIam = policy({ Effect: 'Allow', NotAction: ['iam:*'], Resource: '*' });
    expect(judgeAdded(notIam).why).toBe('it allows every action but iam:* on *');
    expect((await allowedProbes(notIam)).length).toBeGreaterThan(0);
  });

  it('reads a document as CloudTrail (JSON text) and IAM (URL-encoded) carry it, and counts an unreadable one as a widening', () => {
    const text = JSON.stringify(QUARANTINE);
    expect(judgeAdded(text).widens).toBe(false);
    expect(judgeAdded(encodeURIComponent(text)).widens).toBe(false);
    expect(judgeAdded('{not json')).toEqual({
      widens: true,
      why: 'its document could not be read, so it counts as a widening',
    });
    expect(judgeAdded(undefined).widens).toBe(true);
  });

  it('a boundary that allows nothing narrows; any other counts as a widening, since the one it replaced is not in the event', () => {
    expect(judgeBoundary(QUARANTINE).widens).toBe(false);
    expect(judgeBoundary(policy(ALLOW_S3_READ))).toEqual({
      widens: true,
      why: 'the boundary allows s3:GetObject on arn:aws:s3:::builds/*; the one it replaced is not in the event, so it counts as a widening',
    });
  });
});

describe('a new default version is judged against the one it replaced', () => {
  it('adding a condition or a deny narrows; dropping one, or a new allow, widens', async () => {
    const before = policy(ALLOW_S3_READ, { Effect: 'Deny', Action: 's3:PutObject', Resource: '*' });
    const cases: [object, boolean][] = [
      [policy({ ...ALLOW_S3_READ, Condition: WITH_MFA }, before.Statement[1] as object), false],
      [policy(ALLOW_S3_READ, before.Statement[1] as object, QUARANTINE.Statement[0] as object), false],
      // The same statements, reordered and with other Sids: nothing changed.
      [
        policy({ ...(before.Statement[1] as object), Sid: 'NoWrites' }, { ...ALLOW_S3_READ, Sid: 'Reads' }),
        false,
      ],
      [policy(ALLOW_S3_READ), true],
      [
        policy(ALLOW_S3_READ, before.Statement[1] as object, {
          Effect: 'Allow',
          Action: 'iam:*',
          Resource: '*',
        }),
        true,
      ],
    ];
    for (const [next, widens] of cases) {
      expect(judgeReplaced(before, next).widens, JSON.stringify(next)).toBe(widens);
    }
    expect(judgeReplaced(before, policy(ALLOW_S3_READ)).why).toBe(
      'it drops a deny (s3:PutObject on *) beyond the version it replaced',
    );
  });

  it('wherever reauth says a version narrows, the evaluator allows no request the old one did not', async () => {
    const actions = ['s3:GetObject', 's3:PutObject', 's3:*', 'iam:*', 'ec2:RunInstances', '*'];
    const resources = ['*', 'arn:aws:s3:::builds/*'];
    const conditions = [undefined, WITH_MFA, FROM_OFFICE];
    const statement = fc.record({
      Effect: fc.constantFrom('Allow', 'Deny'),
      Action: fc.subarray(actions, { minLength: 1, maxLength: 2 }),
      Resource: fc.constantFrom(...resources),
      Condition: fc.constantFrom(...conditions),
    });
    const document = fc
      .array(statement, { minLength: 1, maxLength: 3 })
      .map((statements) =>
        policy(...statements.map(({ Condition, ...rest }) => (Condition ? { ...rest, Condition } : rest))),
      );
    // The next version: the old one's statements, some kept, some with a condition added, plus new ones.
    const pair = document.chain((before) =>
      fc
        .tuple(
          fc.array(fc.constantFrom('keep', 'drop', 'condition'), {
            minLength: before.Statement.length,
            maxLength: before.Statement.length,
          }),
          fc.array(statement, { maxLength: 1 }),
        )
        .map(([edits, added]) => {
          const kept = before.Statement.flatMap((s, i) => {
            const edit = edits[i];
            if (edit === 'drop') return [];
            if (edit === 'condition' && !('Condition' in s)) return [{ ...s, Condition: WITH_MFA }];
            return [s];
          });
          const next = policy(
            ...kept,
            ...added.map(({ Condition, ...rest }) => (Condition ? { ...rest, Condition } : rest)),
          );
          return [before, next] as const;
        }),
    );
    let narrowing = 0;
    await fc.assert(
      fc.asyncProperty(pair, async ([before, next]) => {
        if (next.Statement.length === 0 || judgeReplaced(before, next).widens) return;
        narrowing++;
        const was = new Set(await allowedProbes(before));
        for (const index of await allowedProbes(next))
          expect(was.has(index), JSON.stringify({ before, next, probe: PROBES[index] })).toBe(true);
      }),
      { numRuns: 200, seed: 19 },
    );
    // The property was exercised, not vacuously true.
    expect(narrowing).toBeGreaterThan(20);
  });
});
