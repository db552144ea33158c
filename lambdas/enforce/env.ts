import { ScanEnvSchema } from '../scan/env';

/** The enforce job's environment: the scan's (it scans first, for a fresh inventory). */
export const EnforceEnvSchema = ScanEnvSchema;
