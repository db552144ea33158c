import { describe, expect, it } from 'vitest';
import type { ServiceUsage } from '../../lambdas/shared/domain/service-usage';
import {
  isOverPrivileged,
  summarizeUsage,
  summaryLine,
  unusedLine,
} from '../../lambdas/shared/domain/usage-summary';

const DAY = 86_400_000;
const NOW = new Date('2026-12-06T06:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

function usage(granted: number, used: string[]): ServiceUsage {
  const names = [
    ...used,
    ...Array.from({ length: granted - used.length }, (_, i) => `svc${String(i).padStart(3, '0')}`),
  ];
  return {
    principalArn: 'arn:aws:iam::123456789012:role/etl',
    granted: names.sort(),
    used: used.map((service) => ({ service, lastAccessed: daysAgo(3) })),
    readAt: daysAgo(1),
    trackedSince: daysAgo(400),
    windowDays: 90,
  };
}

const learned = { services: [], regions: ['eu-west-1'], since: daysAgo(40) };

describe('what a state keeps of a principal’s service usage', () => {
  it('says what is used of what is granted, and caps the names it keeps', () => {
    const three = usage(41, ['s3', 'sqs', 'kms']);
    expect(summaryLine(summarizeUsage(usage(0, [])))).toBe('granted no services');
    expect(summaryLine(summarizeUsage(three))).toBe(
      'uses 3 of 41 services granted in the last 90 days: s3, sqs, kms',
    );

    const many = usage(
      400,
      Array.from({ length: 25 }, (_, i) => `used${i}`),
    );
    const summary = summarizeUsage(many);
    expect(summary.used).toHaveLength(20);
    expect(summary.unused).toHaveLength(20);
    expect(summaryLine(summary)).toMatch(
      /^uses 25 of 400 services granted in the last 90 days: used0, .*, used19, and 5 more$/,
    );
    expect(unusedLine(summary)).toMatch(/^unused: 375 services \(svc000, .* and 355 more\)$/);
    expect(summaryLine(summarizeUsage(usage(5, [])))).toBe(
      'uses 0 of 5 services granted in the last 90 days',
    );
  });
});

describe('over-privileged', () => {
  const tier = { maxUnusedServiceShare: 0.8 };
  const broad = summarizeUsage(usage(40, ['s3', 'sqs', 'kms']));

  it('is asked when more than the tier’s share of what is granted went unused', () => {
    expect(isOverPrivileged(broad, tier, learned, NOW)).toBe(true);
    // 5 of 10 unused: within 80%.
    expect(isOverPrivileged(summarizeUsage(usage(10, ['a', 'b', 'c', 'd', 'e'])), tier, learned, NOW)).toBe(
      false,
    );
  });

  it('is off by default, and judged only on fresh data covering the window, past learning', () => {
    expect(isOverPrivileged(broad, {}, learned, NOW)).toBe(false);
    expect(isOverPrivileged(undefined, tier, learned, NOW)).toBe(false);
    expect(isOverPrivileged({ ...broad, readAt: daysAgo(8) }, tier, learned, NOW)).toBe(false);
    // A role made 30 days ago: IAM's data does not cover the 90-day window yet.
    expect(isOverPrivileged({ ...broad, trackedSince: daysAgo(30) }, tier, learned, NOW)).toBe(false);
    expect(isOverPrivileged(broad, tier, { ...learned, since: daysAgo(10) }, NOW)).toBe(false);
    expect(isOverPrivileged(broad, tier, undefined, NOW)).toBe(false);
  });
});
