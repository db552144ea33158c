/**
 * What a principal (an IAM user or role) was granted against what it used, read from IAM's service
 * last-accessed data for the principals a request asks about, and only those: the cost is bounded by
 * the requests, not the inventory. Right-sizing narrows a principal to `used` (issue #25).
 */
export interface ServiceUsage {
  /** The user or role the data is about; a user's keys, password and other credentials share it. */
  principalArn: string;
  /** Service namespaces (`s3`, `sqs`) its policies grant, as IAM's last-accessed job lists them. */
  granted: string[];
  /** Services it used within the window, each with its last use (ISO), and actions where IAM tracks them. */
  used: UsedService[];
  /** ISO: when IAM's job finished; how fresh the data is. */
  readAt: string;
  /** ISO: IAM tracks a service's use only from this moment (its tracking period), or the principal's creation if later. */
  trackedSince: string;
  /** Days the data covers: the tier's `usageWindowDays` (default 90). */
  windowDays: number;
}

export interface UsedService {
  service: string;
  lastAccessed: string;
  /** `s3:GetObject`-style actions, where IAM offers action-level data for the service. */
  actions?: string[];
}

/** The window over which a credential's used services are read and kept, unless the tier says otherwise. */
export const DEFAULT_USAGE_WINDOW_DAYS = 90;

/**
 * The longest reauth waits for IAM's service last-accessed job (a scan's read, an owner's click): IAM's
 * jobs take seconds, a principal with many policies longer. The Slack worker's timeout allows it.
 */
export const SERVICE_USAGE_MAX_WAIT_MS = 60_000;

/** A principal is never narrowed below what it did in the last this many days. */
export const RIGHT_SIZE_FLOOR_DAYS = 7;
