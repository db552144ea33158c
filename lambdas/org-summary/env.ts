import { ScanEnvSchema } from '../scan/env';

/**
 * The org-summary function's environment: the scan's (the decision table, the policy, Slack), for its
 * one notification pass over every account's states.
 */
export const OrgSummaryEnvSchema = ScanEnvSchema;
