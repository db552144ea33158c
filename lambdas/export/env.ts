import * as z from 'zod';

/** The export function's environment contract; `lib/` types the construct's `environment` from it. */
export const ExportEnvSchema = z.object({
  /** The decision table: where each export is recorded. */
  TABLE_NAME: z.string().min(1),
  /** The decision table's ARN: the table exported. */
  TABLE_ARN: z.string().regex(/^arn:[\w-]+:dynamodb:[\w-]+:\d{12}:table\/[\w.-]+$/, 'a DynamoDB table ARN'),
  /** Path of the policy JSON (compliance.fullExportEveryDays). Bundled beside the handler in Lambda. */
  POLICY_FILE: z.string().min(1),
  /** The evidence bucket the exports go to. */
  EXPORT_BUCKET: z.string().min(3),
  /** Key prefix of the exports in the bucket, without a trailing slash. */
  EXPORT_PREFIX: z
    .string()
    .regex(/^[\w.-]+(\/[\w.-]+)*$/, 'a key prefix without leading or trailing slash')
    .default('exports'),
  /** The evidence bucket's KMS key: exported objects are encrypted with it. Unset: the bucket's default. */
  EXPORT_KMS_KEY_ARN: z.string().min(1).optional(),
  /**
   * The checkpoint key (`domain/checkpoint.ts`): its public key is written beside each export as
   * `checkpoint-key.pem`, for `reauth verify --public-key`. Unset: none is written.
   */
  CHECKPOINT_KEY_ID: z.string().min(1).optional(),
});
export type ExportEnv = z.infer<typeof ExportEnvSchema>;

/** What Scheduler invokes the export with: the run's scheduled time, the same on every retry. */
export const ExportEventSchema = z.object({ scheduledTime: z.iso.datetime({ offset: true }).optional() });
export type ExportEvent = z.infer<typeof ExportEventSchema>;
