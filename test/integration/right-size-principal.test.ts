import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  ListAttachedUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionJob } from '../../lambdas/shared/adapters/action-queue';
import { createDecisionStore } from '../../lambdas/shared/adapters/decision-store';
import type { Enforcer } from '../../lambdas/shared/adapters/enforcement';
import type { CredentialState } from '../../lambdas/shared/domain/decision';
import { parsePolicyConfig, policyIdOf } from '../../lambdas/shared/domain/policy';
import { isRightSizePolicyArn } from '../../lambdas/shared/domain/right-size';
import { repairAbandonedClaim } from '../../lambdas/shared/use-cases/claimed-change';
import { recordRightSizeDrift } from '../../lambdas/shared/use-cases/right-size';
import { ClaimBusyError, runActionJob } from '../../lambdas/shared/use-cases/slack-actions';
import { ensureDecisionTable } from '../../scripts/local/decision-table';
import { type FakeSlack, startFakeSlack } from '../../scripts/local/fake-slack';
import { emulatorDaysAgo, useEmulator } from '../support/emulator';
import { EMULATOR_ACCOUNT as ACCOUNT, testEnforcer } from '../support/enforcer';
import { FORTY_SERVICES, seedThreeUses } from '../support/forty-services';
import { pacedVirtually } from '../support/slack';

/**
 * A user's right-size is the user's (issue #25): IAM holds one deny of reauth's per user, whichever of
 * its keys or its password the owner answered. So the other credentials' records follow the one
 * answered; two answers on one user never interleave (the principal's lease); a right-size or widen a
 * crash left half-done is put back to what the record says; and a follow a crash cut short is caught
 * by the drift pass as a follow, not as drift.
 */

const { clients, emulator } = useEmulator();
const TABLE = 'right-size-principal-under-test';
const DAY = 86_400_000;
const store = createDecisionStore(clients.documents, TABLE);
const policy = parsePolicyConfig({ mode: 'enforce' });
const enforcer = testEnforcer(clients);
let fake: FakeSlack;
let teamGrantsArn: string;

/** A user granted 40 services, with two access keys and its password, each with an open request. */
async function userAsked(name: string): Promise<{ keys: [string, string]; password: string; arn: string }> {
  // Made 200 days ago, so IAM's data covers the 90-day window; a click reads it afresh.
  const { User } = await emulatorDaysAgo(emulator, 200, () =>
    clients.iam.send(new CreateUserCommand({ UserName: name })),
  );
  await clients.iam.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: teamGrantsArn }));
  await seedThreeUses(emulator, User?.Arn as string);
  const keyIds: string[] = [];
  for (let i = 0; i < 2; i++) {
    const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: name }));
    keyIds.push(`${ACCOUNT}:access-key:${AccessKey?.AccessKeyId}`);
  }
  const password = `${ACCOUNT}:password:${name}`;
  const now = new Date();
  for (const credentialId of [...keyIds, password]) {
    const about = {
      credentialId,
      accountId: ACCOUNT,
      kind: credentialId === password ? 'password' : 'access-key',
      principal: name,
      owner: 'UALICE',
    } as const;
    await store.transition(credentialId, () => ({
      state: {
        ...about,
        status: 'pending',
        triggers: ['max-age'],
        requestSeq: 1,
        deadlineAt: new Date(now.getTime() + 14 * DAY).toISOString(),
      },
      decision: {
        ...about,
        action: 'flag',
        reason: 'old',
        actor: 'system:scan',
        at: now.toISOString(),
        mode: 'enforce',
        policyId: 'test',
        evidence: {},
      },
    }));
  }
  return { keys: keyIds as [string, string], password, arn: User?.Arn as string };
}

function answer(
  action: 'right-size' | 'widen',
  credentialId: string,
  requestSeq: number,
  options: { enforcer?: Enforcer; now?: Date; leaseMs?: number; holder?: string } = {},
) {
  const job: ActionJob = {
    action,
    credentialId,
    requestSeq,
    slackUserId: 'UALICE',
    responseUrl: fake.responseUrl(`${action}-${credentialId}`),
  };
  return runActionJob(
    {
      store,
      slack: pacedVirtually(fake.apiBaseUrl),
      enforcer: options.enforcer ?? enforcer,
      policy,
      policyId: policyIdOf(policy),
      now: () => options.now ?? new Date(),
      ...(options.leaseMs !== undefined && { leaseMs: options.leaseMs }),
    },
    job,
    ...(options.holder ? [options.holder] : []),
  );
}

const rightSized = async (user: string) =>
  (
    (await clients.iam.send(new ListAttachedUserPoliciesCommand({ UserName: user }))).AttachedPolicies ?? []
  ).flatMap((p) => (isRightSizePolicyArn(p.PolicyArn) ? [p.PolicyArn as string] : []));
const state = async (id: string) => (await store.getState(id)) as CredentialState;
const recordsOf = async (ids: readonly string[]) =>
  Promise.all(ids.map(async (id) => (await state(id)).rightSize?.policyArn ?? null));

beforeAll(async () => {
  fake = await startFakeSlack({});
  await ensureDecisionTable(clients.dynamodb, TABLE);
  const { Policy } = await clients.iam.send(
    new CreatePolicyCommand({
      PolicyName: 'principal-team-grants',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: FORTY_SERVICES.map((s) => `${s}:*`), Resource: '*' }],
      }),
    }),
  );
  teamGrantsArn = Policy?.Arn as string;
});

afterAll(() => fake?.close());

describe('a user’s right-size, whichever of its credentials was answered', () => {
  it('keeps one deny on the user, and every credential’s record says which', async () => {
    const { keys, password, arn } = await userAsked('two-key-deployer');
    const all = [...keys, password];

    await answer('right-size', keys[0], 1);
    const first = (await state(keys[0])).rightSize?.policyArn as string;
    expect(await rightSized('two-key-deployer')).toEqual([first]);
    // The other key and the password follow, their requests still open to their own answers.
    expect(await recordsOf(all)).toEqual([first, first, first]);
    expect(await state(keys[1])).toMatchObject({ status: 'pending', requestSeq: 1 });
    const followed = (await store.history(keys[1])).at(-1);
    expect(followed).toMatchObject({ action: 'observe', evidence: { via: keys[0] } });

    // The user uses dynamodb since: narrowing through the second key reads that, and replaces the first deny.
    await emulator.seedServiceUsage({ arn, service: 'dynamodb' });
    await answer('right-size', keys[1], 1);
    const second = (await state(keys[1])).rightSize?.policyArn as string;
    expect(second).not.toBe(first);
    expect(await rightSized('two-key-deployer')).toEqual([second]);
    expect(await recordsOf(all)).toEqual([second, second, second]);
    expect((await state(keys[1])).rightSize?.kept).toContain('dynamodb:*');

    // Nothing is drift: the deny each record names is the one attached.
    const states = await Promise.all(all.map(state));
    expect(await recordRightSizeDrift({ store, enforcer }, states, driftOptions())).toEqual([]);

    // Widen through the first key (its Widen answers the follow's seq): the user is widened, all follow.
    await answer('widen', keys[0], (await state(keys[0])).rightSize?.seq as number);
    expect(await rightSized('two-key-deployer')).toEqual([]);
    expect(await recordsOf(all)).toEqual([null, null, null]);
    expect((await store.history(password)).at(-1)).toMatchObject({
      action: 'widen',
      evidence: { via: keys[0] },
    });
  });

  it('lets two answers on one user run one at a time: the records and IAM agree after both', async () => {
    const { keys, password } = await userAsked('raced-deployer');
    // Each click's read finds one more service used than the other's, as two reads a moment apart may:
    // the two narrowings differ, and whichever is last must be the one IAM and every record hold.
    const readsMore = (service: string): Enforcer => ({
      ...enforcer,
      async serviceUsage(target, options) {
        const read = await enforcer.serviceUsage(target, options);
        if ('unavailable' in read) return read;
        return { ...read, used: [...read.used, { service, lastAccessed: new Date().toISOString() }] };
      },
    });
    const attempt = async (id: string, more: string): Promise<void> => {
      for (;;) {
        try {
          await answer('right-size', id, 1, { enforcer: readsMore(more) });
          return;
        } catch (error) {
          if (!(error instanceof ClaimBusyError)) throw error;
        }
      }
    };
    await Promise.all([attempt(keys[0], 'dynamodb'), attempt(keys[1], 'lambda')]);
    const attached = await rightSized('raced-deployer');
    expect(attached).toHaveLength(1);
    expect(await recordsOf([...keys, password])).toEqual([attached[0], attached[0], attached[0]]);
  });

  it('puts back what the record says when a right-size stopped between IAM and the record', async () => {
    const { keys } = await userAsked('crashed-deployer');
    const started = new Date();
    // The worker stops after attaching its deny, before recording it (as a Lambda timing out would).
    const stopping = stopsAfter('rightSize');
    await expect(
      answer('right-size', keys[0], 1, { enforcer: stopping, now: started, leaseMs: 30_000 }),
    ).rejects.toThrow(/stopped/);
    expect(await rightSized('crashed-deployer')).toHaveLength(1);
    expect((await state(keys[0])).claim?.action).toBe('right-size');

    // The enforce job's sweep, once the claim has expired: IAM made to say what the record says (none).
    const later = new Date(started.getTime() + 60_000);
    expect(await repairAbandonedClaim({ store, enforcer }, keys[0], { holder: 'sweep', now: later })).toBe(
      true,
    );
    expect(await rightSized('crashed-deployer')).toEqual([]);
    expect(await state(keys[0])).toMatchObject({ status: 'pending', requestSeq: 1 });
    expect((await state(keys[0])).claim).toBeUndefined();

    // The owner's answer, delivered again, then narrows as asked.
    await answer('right-size', keys[0], 1);
    expect(await rightSized('crashed-deployer')).toEqual([(await state(keys[0])).rightSize?.policyArn]);
  });

  it('puts the deny back when a widen stopped after detaching it, so the record still holds', async () => {
    const { keys } = await userAsked('widen-crashed');
    await answer('right-size', keys[0], 1);
    const narrowed = await state(keys[0]);
    const started = new Date();
    const stopping = stopsAfter('rightSizeAs');
    await expect(
      answer('widen', keys[0], narrowed.rightSize?.seq as number, {
        enforcer: stopping,
        now: started,
        leaseMs: 30_000,
      }),
    ).rejects.toThrow(/stopped/);
    expect(await rightSized('widen-crashed')).toEqual([]);

    const later = new Date(started.getTime() + 60_000);
    expect(await repairAbandonedClaim({ store, enforcer }, keys[0], { holder: 'sweep', now: later })).toBe(
      true,
    );
    expect(await rightSized('widen-crashed')).toEqual([narrowed.rightSize?.policyArn]);
    expect((await state(keys[0])).rightSize?.policyArn).toBe(narrowed.rightSize?.policyArn);
  });

  it('takes a follow a crash cut short for a follow, not for drift', async () => {
    const { keys, password } = await userAsked('follow-cut-short');
    await answer('right-size', keys[0], 1);
    const first = await state(keys[0]);
    await answer('right-size', keys[1], 1);
    const second = (await state(keys[1])).rightSize?.policyArn as string;
    // As if the worker had stopped before the first key's record followed: it still names the first deny.
    await store.transition(keys[0], (current) =>
      current
        ? {
            state: { ...current, rightSize: first.rightSize },
            decision: {
              credentialId: keys[0],
              accountId: ACCOUNT,
              kind: 'access-key',
              principal: 'follow-cut-short',
              owner: 'UALICE',
              action: 'observe',
              reason: 'test: the record before the follow',
              actor: 'test',
              at: new Date().toISOString(),
              mode: 'enforce',
              policyId: 'test',
              evidence: {},
            },
          }
        : undefined,
    );
    const states = await Promise.all([...keys, password].map(state));
    expect(await recordRightSizeDrift({ store, enforcer }, states, driftOptions())).toEqual([]);
    expect(await recordsOf([...keys, password])).toEqual([second, second, second]);
    expect((await state(keys[0])).status).toBe('active');
  });
});

/** The test's enforcer, except that the worker stops right after this change is made in IAM. */
function stopsAfter(change: 'rightSize' | 'rightSizeAs'): Enforcer {
  const made = enforcer[change] as (...args: unknown[]) => Promise<unknown>;
  return {
    ...enforcer,
    [change]: async (...args: unknown[]) => {
      await made(...args);
      throw new Error('the worker stopped');
    },
  };
}

function driftOptions() {
  return {
    policy,
    context: {
      now: new Date(),
      policyId: policyIdOf(policy),
      mode: 'enforce' as const,
      actor: 'system:enforce',
    },
  };
}
