import { Logger } from '@aws-lambda-powertools/logger';
import { createDynamoDBClients, createKmsClient, createS3Client } from '../shared/adapters/aws-clients';
import { readCheckpointPublicKey } from '../shared/adapters/checkpoint-signer';
import { parseEnv } from '../shared/env';
import { loadPolicyFile } from '../shared/policy-file';
import { type ExportRunResult, runExport } from '../shared/use-cases/export-table';
import { ExportEnvSchema, type ExportEvent, ExportEventSchema } from './env';

// Cold start: a bad environment or policy fails here, loudly, before any event is handled.
const env = parseEnv(ExportEnvSchema);
const policy = loadPolicyFile(env.POLICY_FILE);
const clients = createDynamoDBClients();
const logger = new Logger({ serviceName: 'reauth-export' });
const { CHECKPOINT_KEY_ID: keyId } = env;
/** The checkpoint key's public half, written beside each export; none without a key. */
const publicKey = keyId
  ? { s3: createS3Client(), readPem: () => readCheckpointPublicKey(createKmsClient(), keyId) }
  : undefined;

/**
 * Daily, from EventBridge Scheduler: export the decision table to the evidence bucket for compliance.
 * The export is named by the event's scheduled time (else now), so Lambda's retries start no second one.
 */
export async function handler(event?: ExportEvent | null): Promise<ExportRunResult> {
  const { scheduledTime } = ExportEventSchema.parse(event ?? {});
  const result = await runExport(
    {
      dynamodb: clients.dynamodb,
      documents: clients.documents,
      tableName: env.TABLE_NAME,
      ...(publicKey && { publicKey }),
    },
    {
      tableArn: env.TABLE_ARN,
      bucket: env.EXPORT_BUCKET,
      prefix: env.EXPORT_PREFIX,
      now: scheduledTime ? new Date(scheduledTime) : new Date(),
      fullExportEveryDays: policy.compliance.fullExportEveryDays,
      ...(env.EXPORT_KMS_KEY_ARN ? { kmsKeyArn: env.EXPORT_KMS_KEY_ARN } : {}),
    },
  );
  // Export ARNs, prefixes and statuses only: no item of the table is logged.
  logger.info('export run finished', {
    outcome: result.outcome,
    ...(result.outcome === 'skipped' ? { reason: result.reason } : { export: result.record }),
    ...(result.outcome === 'started' && result.publicKey && { publicKey: result.publicKey }),
    refreshed: result.refreshed.map((r) => ({
      exportArn: r.exportArn,
      status: r.status,
      itemCount: r.itemCount,
    })),
  });
  return result;
}
