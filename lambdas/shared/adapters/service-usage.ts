import {
  GenerateServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsCommand,
  type GetServiceLastAccessedDetailsCommandOutput,
  type IAMClient,
  type ServiceLastAccessed,
} from '@aws-sdk/client-iam';
import { SERVICE_USAGE_MAX_WAIT_MS, type ServiceUsage, type UsedService } from '../domain/service-usage';

const DAY_MS = 86_400_000;
/** IAM keeps service last-accessed data this long (its tracking period): older uses are not seen. */
export const IAM_TRACKING_PERIOD_DAYS = 400;
/** The first read of a job waits this long: IAM's jobs take a moment, a small principal's well under a second. */
const FIRST_POLL_MS = 250;
/** Then doubling up to this. */
const MAX_POLL_MS = 4_000;
/** The most GetServiceLastAccessedDetails returns a page: every service AWS has fits in one. */
const PAGE_SIZE = 1000;

/** IAM's job failed or never finished: the request goes out without the usage line, and the log says why. */
export class ServiceUsageUnavailableError extends Error {
  override name = 'ServiceUsageUnavailableError';
}

export interface ServiceUsageReaderOptions {
  now: Date;
  /** Injected by tests; @default a real timer */
  sleep?: (ms: number) => Promise<void>;
  /** A job not done after this long is given up on. @default SERVICE_USAGE_MAX_WAIT_MS */
  maxWaitMs?: number;
}

/** What IAM's job said of one principal, before a window is applied. */
interface JobResult {
  granted: string[];
  services: ServiceLastAccessed[];
  readAt: string;
}

export interface ServiceUsageReader {
  /**
   * The principal's service usage over `windowDays`: one job per principal for the reader's life (a
   * run), shared by the principal's credentials and windows. `createdAt`: the principal's creation,
   * when known (data is no older than it). Throws ServiceUsageUnavailableError when IAM's job fails.
   */
  usageOf(principalArn: string, windowDays: number, createdAt?: Date): Promise<ServiceUsage>;
  /** IAM calls made so far: two per principal (generate, first read) plus the reads that polled. */
  calls(): number;
}

/**
 * Reads IAM's service last-accessed data (GenerateServiceLastAccessedDetails at ACTION_LEVEL, then
 * GetServiceLastAccessedDetails until the job is done), for the principals a caller asks about only.
 */
export function serviceUsageReader(iam: IAMClient, options: ServiceUsageReaderOptions): ServiceUsageReader {
  const jobs = new Map<string, Promise<JobResult>>();
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const maxWaitMs = options.maxWaitMs ?? SERVICE_USAGE_MAX_WAIT_MS;
  let calls = 0;

  const read = (JobId: string, Marker?: string): Promise<GetServiceLastAccessedDetailsCommandOutput> => {
    calls++;
    return iam.send(
      new GetServiceLastAccessedDetailsCommand({ JobId, MaxItems: PAGE_SIZE, ...(Marker && { Marker }) }),
    );
  };

  const runJob = async (principalArn: string): Promise<JobResult> => {
    calls++;
    const { JobId } = await iam.send(
      new GenerateServiceLastAccessedDetailsCommand({ Arn: principalArn, Granularity: 'ACTION_LEVEL' }),
    );
    if (!JobId) throw new ServiceUsageUnavailableError(`IAM started no job for ${principalArn}`);
    let delay = FIRST_POLL_MS;
    let waited = 0;
    for (;;) {
      await sleep(delay);
      waited += delay;
      const page = await read(JobId);
      if (page.JobStatus === 'COMPLETED') return collect(JobId, page);
      if (page.JobStatus === 'FAILED')
        throw new ServiceUsageUnavailableError(
          `IAM's service last-accessed job for ${principalArn} failed: ${page.Error?.Code ?? 'no code'} ${page.Error?.Message ?? ''}`.trim(),
        );
      if (waited + delay > maxWaitMs)
        throw new ServiceUsageUnavailableError(
          `IAM's service last-accessed job for ${principalArn} was not done after ${Math.round(waited / 1000)} s`,
        );
      delay = Math.min(delay * 2, MAX_POLL_MS);
    }
  };

  const collect = async (
    JobId: string,
    first: GetServiceLastAccessedDetailsCommandOutput,
  ): Promise<JobResult> => {
    const services = [...(first.ServicesLastAccessed ?? [])];
    let page = first;
    while (page.IsTruncated && page.Marker) {
      page = await read(JobId, page.Marker);
      services.push(...(page.ServicesLastAccessed ?? []));
    }
    return {
      granted: [...new Set(services.flatMap((s) => (s.ServiceNamespace ? [s.ServiceNamespace] : [])))].sort(),
      services,
      readAt: (first.JobCompletionDate ?? options.now).toISOString(),
    };
  };

  return {
    async usageOf(principalArn, windowDays, createdAt) {
      let job = jobs.get(principalArn);
      if (!job) {
        job = runJob(principalArn);
        jobs.set(principalArn, job);
      }
      return usageInWindow(principalArn, await job, windowDays, options.now, createdAt);
    },
    calls: () => calls,
  };
}

function usageInWindow(
  principalArn: string,
  job: JobResult,
  windowDays: number,
  now: Date,
  createdAt: Date | undefined,
): ServiceUsage {
  const since = now.getTime() - windowDays * DAY_MS;
  const used: UsedService[] = job.services
    .flatMap((s) => {
      const at = s.LastAuthenticated?.getTime();
      if (!s.ServiceNamespace || at === undefined || at < since) return [];
      const actions = (s.TrackedActionsLastAccessed ?? [])
        .filter((a) => a.ActionName && (a.LastAccessedTime?.getTime() ?? 0) >= since)
        .map((a) => `${s.ServiceNamespace}:${a.ActionName}`)
        .sort();
      return [
        {
          service: s.ServiceNamespace,
          lastAccessed: new Date(at).toISOString(),
          ...(actions.length > 0 && { actions }),
        },
      ];
    })
    // Most recently used first: the line names what the principal lives on.
    .sort((a, b) => b.lastAccessed.localeCompare(a.lastAccessed) || a.service.localeCompare(b.service));
  const tracked = Math.max(now.getTime() - IAM_TRACKING_PERIOD_DAYS * DAY_MS, createdAt?.getTime() ?? 0);
  return {
    principalArn,
    granted: job.granted,
    used,
    readAt: job.readAt,
    trackedSince: new Date(tracked).toISOString(),
    windowDays,
  };
}
