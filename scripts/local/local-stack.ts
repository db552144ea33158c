/**
 * What `cdk deploy` creates around the Lambdas, made locally: the decision table, the Slack secret
 * (`reauth/slack`, with a signing secret and a bot token for the local fake Slack), the action queue,
 * a policy file and the session policy writer's function (served by this process: the emulator runs
 * no Node function); and the environment the handlers read. Used by the demo, the tests and the bench.
 * The emulator holds the stack's `reauth-disabled` policy in every account itself.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../../lambdas/shared/adapters/aws-clients';
import { connectEmulator } from '../emulator/emulator';
import { SESSION_POLICIES_FUNCTION, serveSessionPolicies } from '../emulator/session-policies';
import { ensureDecisionTable } from './decision-table';
import { type FakeSlack, startFakeSlack } from './fake-slack';

export interface LocalStack {
  /** TABLE_NAME, POLICY_FILE, SLACK_SECRET_ARN, SLACK_API_URL, ACTION_QUEUE_URL, SESSION_POLICIES_FUNCTION. */
  env: Record<string, string>;
  slack: FakeSlack;
  signingSecret: string;
  queueUrl: string;
  /** Writes `policy` to a new file and returns its path (for a handler cold-started with another policy). */
  writePolicy(policy: object): string;
}

export async function startLocalStack(
  clients: Pick<AwsClients, 'dynamodb' | 'secretsManager' | 'sqs'>,
  options: {
    table: string;
    /** The policy, or the path of a policy file. */
    policy: object | string;
    /** email → Slack user id, for users.lookupByEmail. */
    slackUsers?: Record<string, string>;
  },
): Promise<LocalStack> {
  const signingSecret = 'local-signing-secret-not-a-real-one';
  const dir = mkdtempSync(join(tmpdir(), 'reauth-local-'));
  let files = 0;
  const writePolicy = (policy: object) => {
    const file = join(dir, `policy-${++files}.json`);
    writeFileSync(file, JSON.stringify(policy));
    return file;
  };
  const slack = await startFakeSlack({ users: options.slackUsers ?? {} });
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error('the local stack runs on the emulator: AWS_ENDPOINT_URL is not set');
  await serveSessionPolicies(connectEmulator(endpoint));
  await ensureDecisionTable(clients.dynamodb, options.table);
  const secret = await clients.secretsManager.send(
    new CreateSecretCommand({
      Name: 'reauth/slack',
      SecretString: JSON.stringify({ signingSecret, botToken: 'xoxb-local-fake' }),
    }),
  );
  const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: 'reauth-actions' }));
  if (!secret.ARN || !QueueUrl) throw new Error('the emulator returned no secret ARN or queue URL');
  return {
    env: {
      TABLE_NAME: options.table,
      POLICY_FILE: typeof options.policy === 'string' ? options.policy : writePolicy(options.policy),
      SLACK_SECRET_ARN: secret.ARN,
      SLACK_API_URL: slack.apiBaseUrl,
      ACTION_QUEUE_URL: QueueUrl,
      SESSION_POLICIES_FUNCTION,
    },
    slack,
    signingSecret,
    queueUrl: QueueUrl,
    writePolicy,
  };
}
