import {
  CreatePolicyCommand,
  DeletePolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  type IAMClient,
  ListEntitiesForPolicyCommand,
  ListPoliciesCommand,
  type Policy,
} from '@aws-sdk/client-iam';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import * as z from 'zod';
import {
  REAUTH_DENY_SID,
  revokedBeforeOf,
  revokedBeforeOfArn,
  revokeSessionsPolicy,
  roleDisablePolicyArn,
  SESSION_LIFETIME_MAX_MS,
  SESSIONS_POLICY_PATH,
  sessionsPolicyArn,
  sessionsPolicyName,
} from '../domain/reauth-marks';
import {
  fittedKept,
  keptOfRightSizePolicy,
  RIGHT_SIZE_POLICY_PATH,
  RIGHT_SIZE_SID,
  rightSizePolicy,
  rightSizePolicyName,
} from '../domain/right-size';
import type { ReauthPolicies } from './enforcement';

/**
 * The only code that writes a policy document into IAM: `reauth-sessions-before-<moment>`, whose
 * document is fixed here and parameterized by a date alone. It runs as its own function with its own
 * role, which may create, read and delete policies under `/reauth/sessions/` and detach them, but attach
 * nothing; the enforcer may attach them, but create none. Neither can grant alone: the writer's policies
 * reach nobody until the enforcer attaches them, and the enforcer can attach only what is under
 * reauth's path, each a deny.
 */
export interface SessionPolicyWriter {
  /** The ARN of the policy ending sessions issued before `issuedBefore` (ISO), created when not there yet. */
  policyFor(issuedBefore: string): Promise<string>;
  /**
   * Detaches and deletes reauth's session policies whose moment is older than the longest session
   * (36 hours, plus an hour): nothing issued before them is still alive. At most `limit` per call.
   */
  sweep(now: Date, limit?: number): Promise<{ deleted: string[] }>;
  /**
   * The ARN of the right-size policy that denies `principalArn` every action but `kept` (see
   * domain/right-size.ts), created under `/reauth/right-size/` when not there yet. Its document is a
   * deny, built here from the action names alone: whoever invokes the writer can narrow, never grant.
   */
  rightSizeFor(principalArn: string, kept: readonly string[]): Promise<string>;
}

/** The writer's input was not a moment it may write. */
export class SessionPolicyError extends Error {
  override readonly name = 'SessionPolicyError';
}

const SWEEP_MARGIN_MS = 3_600_000;
const DEFAULT_SWEEP_LIMIT = 25;

export function createSessionPolicyWriter(
  iam: IAMClient,
  account: { accountId: string; partition?: string },
): SessionPolicyWriter {
  const partition = account.partition ?? 'aws';

  /** The policy's default document is exactly reauth's for its moment: only then is it ours. */
  async function isOurs(arn: string, moment: string): Promise<boolean> {
    const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
    if (!Policy?.DefaultVersionId) return false;
    const { PolicyVersion } = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: Policy.DefaultVersionId }),
    );
    return revokedBeforeOf(PolicyVersion?.Document) === moment;
  }

  async function policyFor(issuedBefore: string): Promise<string> {
    const moment = momentOf(issuedBefore);
    const arn = sessionsPolicyArn(account.accountId, moment, partition);
    try {
      await iam.send(
        new CreatePolicyCommand({
          PolicyName: sessionsPolicyName(moment),
          Path: SESSIONS_POLICY_PATH,
          PolicyDocument: JSON.stringify(revokeSessionsPolicy(moment)),
          Description: `reauth: denies requests made with temporary credentials issued before ${moment} (${REAUTH_DENY_SID})`,
        }),
      );
      return arn;
    } catch (error) {
      if (
        !(error instanceof Error) ||
        !['EntityAlreadyExists', 'EntityAlreadyExistsException'].includes(error.name)
      )
        throw error;
    }
    // Made before (a retry, or another revocation at the same moment): ours only if its document is.
    if (!(await isOurs(arn, moment)))
      throw new SessionPolicyError(
        `${arn} exists and is not reauth's revocation for ${moment}: reauth attaches nothing under its name; delete it`,
      );
    return arn;
  }

  async function sweep(now: Date, limit = DEFAULT_SWEEP_LIMIT): Promise<{ deleted: string[] }> {
    const expired: Policy[] = [];
    let marker: string | undefined;
    do {
      const page = await iam.send(
        new ListPoliciesCommand({ Scope: 'Local', PathPrefix: SESSIONS_POLICY_PATH, Marker: marker }),
      );
      for (const policy of page.Policies ?? []) {
        const moment = revokedBeforeOfArn(policy.Arn);
        if (moment && Date.parse(moment) < now.getTime() - SESSION_LIFETIME_MAX_MS - SWEEP_MARGIN_MS)
          expired.push(policy);
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker && expired.length < limit);
    const deleted: string[] = [];
    for (const policy of expired.slice(0, limit)) {
      const arn = policy.Arn as string;
      if (!(await isOurs(arn, revokedBeforeOfArn(arn) as string))) continue;
      let onGroup = false;
      let entityMarker: string | undefined;
      do {
        const entities = await iam.send(
          new ListEntitiesForPolicyCommand({ PolicyArn: arn, Marker: entityMarker }),
        );
        for (const { UserName } of entities.PolicyUsers ?? [])
          await iam.send(new DetachUserPolicyCommand({ UserName, PolicyArn: arn }));
        for (const { RoleName } of entities.PolicyRoles ?? [])
          await iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn: arn }));
        onGroup ||= (entities.PolicyGroups ?? []).length > 0;
        entityMarker = entities.IsTruncated ? entities.Marker : undefined;
      } while (entityMarker);
      // reauth never attaches to a group: a policy someone attached to one is left there, not deleted.
      if (onGroup) continue;
      await iam.send(new DeletePolicyCommand({ PolicyArn: arn }));
      deleted.push(arn);
    }
    return { deleted };
  }

  async function rightSizeFor(principalArn: string, requested: readonly string[]): Promise<string> {
    const kept = fittedKept(requested);
    const name = rightSizePolicyName(principalArn, kept);
    const arn = `arn:${partition}:iam::${account.accountId}:policy${RIGHT_SIZE_POLICY_PATH}${name}`;
    try {
      await iam.send(
        new CreatePolicyCommand({
          PolicyName: name,
          Path: RIGHT_SIZE_POLICY_PATH,
          PolicyDocument: JSON.stringify(rightSizePolicy(kept)),
          Description: `reauth: denies ${principalArn.slice(0, 500)} every action but the ${kept.length} it used (${RIGHT_SIZE_SID})`,
        }),
      );
      return arn;
    } catch (error) {
      if (
        !(error instanceof Error) ||
        !['EntityAlreadyExists', 'EntityAlreadyExistsException'].includes(error.name)
      )
        throw error;
    }
    // Made before (a retry, or the same narrowing asked again): ours only if its document is.
    const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
    const { PolicyVersion } = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: Policy?.DefaultVersionId }),
    );
    const found = keptOfRightSizePolicy(PolicyVersion?.Document);
    if (found === undefined || found.join() !== [...kept].sort().join())
      throw new SessionPolicyError(
        `${arn} exists and is not reauth's right-size policy for ${principalArn}: reauth attaches nothing under its name; delete it`,
      );
    return arn;
  }

  return { policyFor, sweep, rightSizeFor };
}

/** `issuedBefore` as reauth writes moments (ISO with milliseconds), or a refusal naming it. */
function momentOf(issuedBefore: string): string {
  const at = Date.parse(issuedBefore);
  if (typeof issuedBefore !== 'string' || Number.isNaN(at))
    throw new SessionPolicyError(
      `issuedBefore must be an ISO-8601 moment, got ${JSON.stringify(issuedBefore)}`,
    );
  return new Date(at).toISOString();
}

/** The partition of a region: `aws-cn` in China, `aws-us-gov` in GovCloud, else `aws`. */
export function partitionOf(region: string | undefined): string {
  if (region?.startsWith('cn-')) return 'aws-cn';
  if (region?.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * reauth's policies in an account, as the enforcer attaches them: the stack's `reauth-disabled`, and
 * the session policies `sessionsBefore` has made (by the writer: through its function in Lambda,
 * directly on the emulator).
 */
export function reauthPolicies(
  accountId: string,
  sessionsBefore: (issuedBefore: string) => Promise<string>,
  disablePolicyName?: string,
  rightSize?: ReauthPolicies['rightSize'],
): ReauthPolicies {
  const partition = partitionOf(process.env.AWS_REGION);
  return {
    disableArn: roleDisablePolicyArn(accountId, partition, disablePolicyName),
    sessionsBefore,
    ...(rightSize && { rightSize }),
  };
}

/** IAM's action names (`s3:GetObject`, `s3:*`): all a right-size request may carry. */
const ACTION_NAME = /^[a-z0-9-]{1,64}:(?:\*|[A-Za-z0-9]{1,128}\*?)$/;
const ARN = /^arn:[\w-]+:iam::\d{12}:(?:user|role)\/[\w+=,.@/-]{1,512}$/;

/**
 * What the writer's function takes: one moment in one account, or (`rightSize`) one principal of that
 * account and the action names it keeps.
 */
export const SessionPolicyRequestSchema = z.union([
  z.object({
    accountId: z.string().regex(/^\d{12}$/, 'a 12-digit account id'),
    issuedBefore: z.iso.datetime({ offset: true }),
  }),
  z.object({
    accountId: z.string().regex(/^\d{12}$/, 'a 12-digit account id'),
    rightSize: z.object({
      principalArn: z.string().regex(ARN),
      kept: z.array(z.string().regex(ACTION_NAME)).min(1).max(2_000),
    }),
  }),
]);
export type SessionPolicyRequest = z.infer<typeof SessionPolicyRequestSchema>;

/**
 * The writer, reached through its function (`functionName`), for one account: the caller's own role
 * may invoke it and nothing more, so the caller never holds the writer's grants.
 */
export function sessionPoliciesThrough(
  lambda: LambdaClient,
  functionName: string,
  accountId: string,
): (issuedBefore: string) => Promise<string> {
  return async (issuedBefore) => {
    const request: SessionPolicyRequest = { accountId, issuedBefore };
    const answer = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        Payload: new TextEncoder().encode(JSON.stringify(request)),
      }),
    );
    const text = answer.Payload ? new TextDecoder().decode(answer.Payload) : '';
    if (answer.FunctionError) throw new Error(`the session policy writer failed: ${text.slice(0, 500)}`);
    const { policyArn } = z.object({ policyArn: z.string() }).parse(JSON.parse(text));
    return policyArn;
  };
}

/** The writer's right-size policies, reached through its function, for one account. */
export function rightSizeThrough(
  lambda: LambdaClient,
  functionName: string,
  accountId: string,
): NonNullable<ReauthPolicies['rightSize']> {
  return async (principalArn, kept) => {
    const request: SessionPolicyRequest = { accountId, rightSize: { principalArn, kept: [...kept] } };
    const answer = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        Payload: new TextEncoder().encode(JSON.stringify(request)),
      }),
    );
    const text = answer.Payload ? new TextDecoder().decode(answer.Payload) : '';
    if (answer.FunctionError) throw new Error(`the policy writer failed: ${text.slice(0, 500)}`);
    return z.object({ policyArn: z.string() }).parse(JSON.parse(text)).policyArn;
  };
}

/**
 * reauth's policies in an account as a Lambda reaches them: session policies made by the writer's
 * function (`functionName`, set by the stack in enforce mode). Without one, a revocation is refused.
 */
export function reauthPoliciesThrough(
  lambda: LambdaClient,
  env: { SESSION_POLICIES_FUNCTION?: string; DISABLE_POLICY_NAME?: string },
  accountId: string,
  /** A member account's: its policy is always `reauth-disabled`. */
  member = false,
): ReauthPolicies {
  const functionName = env.SESSION_POLICIES_FUNCTION;
  return reauthPolicies(
    accountId,
    functionName
      ? sessionPoliciesThrough(lambda, functionName, accountId)
      : async () => {
          throw new Error(
            'this function has no session policy writer (SESSION_POLICIES_FUNCTION is set only where the policy has it end sessions in enforce mode): it ends no session',
          );
        },
    member ? undefined : env.DISABLE_POLICY_NAME,
    functionName ? rightSizeThrough(lambda, functionName, accountId) : undefined,
  );
}
