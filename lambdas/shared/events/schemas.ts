import * as z from 'zod';
import { CREDENTIAL_ID_PATTERN } from '../domain/credential';

/** The `source` of reauth's own events on its bus. */
export const REAUTH_EVENT_SOURCE = 'reauth';
/** The `detail-type` of the CloudTrail events EventBridge delivers. */
export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

const reason = z.string().min(1).max(1000).optional().describe('Why, in words; recorded with the request.');
const owner = z
  .string()
  .min(1)
  .max(256)
  .describe('The owner as the owner tag names them: a Slack user id or an email.');
const selector = z
  .strictObject({
    credentialId: z
      .string()
      .regex(CREDENTIAL_ID_PATTERN)
      .optional()
      .describe('One credential: <accountId>:<kind>:<id>.'),
    tag: z
      .strictObject({ key: z.string().min(1).max(128), value: z.string().max(256) })
      .optional()
      .describe('Every credential whose principal carries this tag.'),
  })
  .refine((s) => (s.credentialId === undefined) !== (s.tag === undefined), {
    message: 'give exactly one of credentialId or tag',
  })
  .describe('Which credentials: exactly one of credentialId or tag.');

/**
 * The events HR, ITSM and other systems publish on reauth's bus (PutEvents, source "reauth"), by
 * detail-type. Versioned: `schemaVersion` is 1; a breaking change adds a version, never edits one.
 * The JSON Schema files in schemas/events/ are generated from these (`npm run schemas`).
 */
export const REAUTH_EVENTS = {
  'Owner Departed': {
    trigger: 'owner-departed',
    detail: z
      .strictObject({ schemaVersion: z.literal(1), owner, reason })
      .describe('The owner left: every credential they own goes to reauthorization.'),
  },
  'Owner Role Changed': {
    trigger: 'owner-changed',
    detail: z
      .strictObject({
        schemaVersion: z.literal(1),
        owner,
        newRole: z.string().min(1).max(256).optional(),
        reason,
      })
      .describe("The owner's role changed: every credential they own goes to reauthorization."),
  },
  'Purpose Changed': {
    trigger: 'purpose-changed',
    detail: z
      .strictObject({ schemaVersion: z.literal(1), selector, reason })
      .describe('What a credential is for changed: it goes to reauthorization.'),
  },
  'Provider Scope Changed': {
    trigger: 'scope-changed',
    detail: z
      .strictObject({
        schemaVersion: z.literal(1),
        selector,
        provider: z.string().min(1).max(256).optional(),
        reason,
      })
      .describe('A third party widened what it can reach: the affected credentials go to reauthorization.'),
  },
} as const;
export type ReauthEventType = keyof typeof REAUTH_EVENTS;

/** Any EventBridge event, as SQS delivers it from a rule's target. */
export const EventEnvelopeSchema = z.object({
  id: z.string().min(1),
  'detail-type': z.string().min(1),
  source: z.string().min(1),
  // The account the event happened in; reauth acts on its own account (forwarded IAM events included).
  account: z.string().optional(),
  time: z.string().min(1),
  detail: z.unknown(),
});
export type EventEnvelope = z.infer<typeof EventEnvelopeSchema>;

/**
 * Who made a CloudTrail-recorded call. A Lambda function's call is `type: 'AssumedRole'`, `arn` its
 * session (`arn:aws:sts::<account>:assumed-role/<role>/<function>`) and `sessionContext.sessionIssuer`
 * the role itself (`type: 'Role'`, `arn: arn:aws:iam::<account>:role/<role>`).
 */
export const CloudTrailIdentitySchema = z
  .object({
    type: z.string().optional(),
    arn: z.string().optional(),
    sessionContext: z
      .object({
        sessionIssuer: z
          .object({
            type: z.string().optional(),
            arn: z.string().optional(),
            userName: z.string().optional(),
          })
          .loose()
          .optional(),
      })
      .loose()
      .optional(),
  })
  .loose();
export type CloudTrailIdentity = z.infer<typeof CloudTrailIdentitySchema>;

/** The part of a CloudTrail record reauth reads. */
export const CloudTrailDetailSchema = z.object({
  eventSource: z.enum(['iam.amazonaws.com', 'secretsmanager.amazonaws.com']),
  eventName: z.string().min(1),
  eventID: z.string().min(1),
  /** ISO: when the call was made. */
  eventTime: z.string().optional(),
  errorCode: z.string().optional(),
  requestParameters: z.record(z.string(), z.unknown()).nullish(),
  /** What the call returned: a new policy version's id (CreatePolicyVersion). */
  responseElements: z.record(z.string(), z.unknown()).nullish(),
  userIdentity: CloudTrailIdentitySchema.optional(),
});
export type CloudTrailDetail = z.infer<typeof CloudTrailDetailSchema>;
