import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createActionQueue } from '../shared/adapters/action-queue';
import {
  createDynamoDBClients,
  createOrganizationsClient,
  createSecretsManagerClient,
  createSqsClient,
} from '../shared/adapters/aws-clients';
import { createDecisionStore } from '../shared/adapters/decision-store';
import { accountLocator } from '../shared/adapters/organization';
import { slackFromEnvironment } from '../shared/adapters/slack-settings';
import { policyIdOf } from '../shared/domain/policy';
import { parseEnv } from '../shared/env';
import { publishRunMetrics } from '../shared/metrics';
import { loadPolicyFile, requireOrganization } from '../shared/policy-file';
import { decodeBody, parseSlackRequest, SlackRequestError } from '../shared/slack/request';
import { MAX_SLACK_BODY_BYTES, verifySlackRequest } from '../shared/slack/signature';
import { accountPolicy } from '../shared/use-cases/account-policy';
import { handleInteraction } from '../shared/use-cases/slack-interactions';
import { SlackEndpointEnvSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any request is handled.
const env = parseEnv(SlackEndpointEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const policyId = policyIdOf(policy);
const organization = env.ORG_MODE ? requireOrganization(policy) : undefined;
// In an organization each answer is checked under its credential's account's policy (mode, tiers).
const policyOf =
  organization && accountPolicy(policy, accountLocator(createOrganizationsClient(), organization));
const store = createDecisionStore(createDynamoDBClients().documents, env.TABLE_NAME);
const queue = createActionQueue(createSqsClient(), env.ACTION_QUEUE_URL);
const slack = slackFromEnvironment(createSecretsManagerClient(), env);
const logger = new Logger({ serviceName: 'reauth-slack' });
/** Slack waits 3 seconds for the answer; its Slack calls (a modal, a reply) stop waiting before. */
const SLACK_ANSWER_MS = 2500;

/**
 * Slack's interactivity endpoint (a Lambda Function URL). The signature is checked on the raw body
 * before anything is parsed; a request that fails it gets a bare 401.
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    // Slack wants the answer within 3 seconds: no Slack call waits past that.
    let connected = await slack.connect({ deadline: Date.now() + SLACK_ANSWER_MS });
    if (!connected) throw new Error('Slack is not configured');
    const rawBody = decodeBody(event, MAX_SLACK_BODY_BYTES);
    const signedWith = (signingSecret: string) =>
      verifySlackRequest({
        rawBody,
        timestamp: header(event, 'x-slack-request-timestamp'),
        signature: header(event, 'x-slack-signature'),
        signingSecret,
        now: new Date(),
      });
    let verified = signedWith(connected.settings.signingSecret);
    if (!verified) {
      // The signing secret may have been rotated since it was read: once, against a fresh read (at
      // most one a minute, whoever asks, so forged requests cannot flood Secrets Manager).
      const fresh = await slack.reread();
      if (fresh && fresh.settings.signingSecret !== connected.settings.signingSecret) {
        verified = signedWith(fresh.settings.signingSecret);
        connected = (await slack.connect({ deadline: Date.now() + SLACK_ANSWER_MS })) ?? connected;
      }
    }
    if (!verified) {
      publishRunMetrics('reauth-slack', { UnsignedRequests: 1 });
      logger.warn('refused an unsigned or stale request');
      return { statusCode: 401 };
    }
    const request = parseSlackRequest(rawBody, header(event, 'content-type'));
    const reply = await handleInteraction(
      {
        store,
        slack: connected.client,
        queue,
        policy,
        policyId,
        now: () => new Date(),
        ...(policyOf && { policyOf }),
      },
      request,
    );
    publishRunMetrics('reauth-slack', {
      Clicks: request.type === 'block_actions' || request.type === 'assign_owner' ? 1 : 0,
      // A dialog cleared: the answer was recorded (a reauthorization, or a proposal awaiting approval).
      Reauthorized: request.type === 'view_submission' && reply.body?.response_action === 'clear' ? 1 : 0,
      Refused: reply.refused ? 1 : 0,
      Replayed: reply.replayed ? 1 : 0,
    });
    logger.info('answered', {
      type: request.type,
      ...(request.type === 'block_actions' && { action: request.action.actionId, user: request.userId }),
      ...(request.type === 'view_submission' && { callbackId: request.callbackId, user: request.userId }),
      ...(request.type === 'slash_command' && { command: request.command, user: request.userId }),
      ...(request.type === 'list_page' && { page: request.page, user: request.userId }),
      ...(request.type === 'assign_owner' && { action: 'assign-owner', user: request.userId }),
      statusCode: reply.statusCode,
      ...(reply.refused && { refused: true }),
      ...(reply.replayed && { replayed: true }),
    });
    return reply.body
      ? {
          statusCode: reply.statusCode,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(reply.body),
        }
      : { statusCode: reply.statusCode };
  } catch (error) {
    return statusFor(error);
  }
}

/** The one place errors become statuses: a caller never sees a stack trace, a secret or an internal detail. */
function statusFor(error: unknown): APIGatewayProxyStructuredResultV2 {
  if (error instanceof SlackRequestError) {
    logger.warn('malformed request', { error: error.message });
    return error.message.includes('too large') ? { statusCode: 413 } : { statusCode: 400 };
  }
  logger.error('request failed', { error: error instanceof Error ? error.name : 'unknown' });
  return { statusCode: 500 };
}

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  // Function URLs lower-case header names; other front doors may not.
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1];
}
