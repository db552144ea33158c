import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { createIamClient, createStsClient } from '../shared/adapters/aws-clients';
import { assumeMemberRole } from '../shared/adapters/member-account';
import {
  createSessionPolicyWriter,
  partitionOf,
  SessionPolicyRequestSchema,
} from '../shared/adapters/session-policies';
import { parseEnv } from '../shared/env';
import { SessionPoliciesEnvSchema } from './env';

// Cold start: a bad environment fails here, loudly, before any request is handled.
const env = parseEnv(SessionPoliciesEnvSchema);
const sts = createStsClient();
const ownIam = createIamClient();
let ownAccount: string | undefined;

/**
 * Invoked by the enforce job, the Slack worker and the events consumer (never by a schedule or an
 * event): makes the policy that ends one account's sessions issued before one moment, or the
 * right-size deny of one principal (all but the actions named), and returns its ARN; the caller
 * attaches it. Each revocation also sweeps that account's expired session policies. The input is a
 * moment or action names and an account, nothing else: the document is this function's own.
 */
export async function handler(event: unknown): Promise<{ policyArn: string }> {
  const request = SessionPolicyRequestSchema.parse(event);
  const { accountId } = request;
  const runId = 'issuedBefore' in request ? request.issuedBefore : new Date().toISOString();
  ownAccount ??= (await sts.send(new GetCallerIdentityCommand({}))).Account;
  const iam =
    accountId === ownAccount
      ? ownIam
      : env.MEMBER_ROLE_NAME
        ? (
            await assumeMemberRole(sts, {
              accountId,
              roleName: env.MEMBER_ROLE_NAME,
              job: 'sessions',
              runId: runId.replace(/[-:]|\.\d+/g, ''),
            })
          ).iam
        : undefined;
  if (!iam) throw new Error(`account ${accountId} is not this account, and no member role is configured`);
  const writer = createSessionPolicyWriter(iam, {
    accountId,
    partition: partitionOf(process.env.AWS_REGION),
  });
  // A right-size policy (issue #25): a deny of all but the actions named, built by the writer.
  if ('rightSize' in request)
    return { policyArn: await writer.rightSizeFor(request.rightSize.principalArn, request.rightSize.kept) };
  const policyArn = await writer.policyFor(request.issuedBefore);
  await writer.sweep(new Date());
  return { policyArn };
}
