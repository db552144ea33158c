import { type AccountSpec, type UserSpec, VENDOR_ACCOUNT } from './seed';

const TEAMS = [
  { team: 'payments', owner: 'U01PAYMENTS' },
  { team: 'search', owner: 'U02SEARCH' },
  { team: 'data', owner: 'dana@example.com' },
  { team: 'platform', owner: 'U04PLATFORM' },
];
const JOBS = ['etl', 'backup', 'reporting', 'deployer', 'metrics', 'exporter', 'sync'];

/**
 * A demo account: a few dozen service users whose keys were created, used and forgotten over the past
 * year, secrets read and never read, vendor roles, and the awkward cases every account has.
 */
export function demoAccount(): AccountSpec {
  const users: UserSpec[] = [];
  // Deterministic variety: ages and last uses spread over a year, a quarter of the keys idle.
  for (let i = 0; i < 28; i++) {
    const { team, owner } = TEAMS[i % TEAMS.length] as (typeof TEAMS)[number];
    const createdDaysAgo = 20 + ((i * 37) % 400);
    const usedDaysAgo = i % 4 === 0 ? Math.min(createdDaysAgo - 1, 95 + ((i * 13) % 120)) : (i * 7) % 30;
    users.push({
      name: `svc-${team}-${JOBS[i % JOBS.length]}-${i}`,
      tags: { 'reauth:owner': owner, team },
      keys: [{ createdDaysAgo, ...(i % 9 !== 5 && { usedDaysAgo }) }],
    });
  }
  users.push(
    {
      // One idle key and one busy key on the same user: each is judged on its own dates.
      name: 'ci-deployer',
      tags: { 'reauth:owner': 'U04PLATFORM', 'reauth:tier': 'critical' },
      keys: [
        { createdDaysAgo: 80, usedDaysAgo: 60, usedIn: { service: 's3', region: 'eu-west-1' } },
        { createdDaysAgo: 20, usedDaysAgo: 1 },
      ],
    },
    {
      // Its tier keeps data in the EU, and it was just used from us-east-1: usage-changed, asked at once.
      name: 'platform-eu-backup',
      tags: { 'reauth:owner': 'U04PLATFORM', 'reauth:tier': 'eu-only' },
      keys: [{ createdDaysAgo: 45, usedDaysAgo: 0, usedIn: { service: 's3', region: 'us-east-1' } }],
    },
    // Nobody owns it any more: escalated to the security channel.
    { name: 'legacy-reporting', keys: [{ createdDaysAgo: 500, usedDaysAgo: 200 }] },
    // Protected by the policy: never touched, recorded once.
    { name: 'break-glass-admin', tags: { 'reauth:owner': 'U05SECURITY' }, keys: [{ createdDaysAgo: 700 }] },
    // Exempt by an approved record in the policy, until a date.
    {
      name: 'migration-bot',
      tags: { 'reauth:owner': 'U02SEARCH' },
      keys: [{ createdDaysAgo: 150, usedDaysAgo: 120 }],
    },
  );

  return {
    users,
    secrets: [
      {
        name: 'prod/payments/stripe',
        createdDaysAgo: 300,
        readDaysAgo: 2,
        tags: { 'reauth:owner': 'U01PAYMENTS' },
      },
      {
        name: 'prod/search/opensearch',
        createdDaysAgo: 200,
        readDaysAgo: 130,
        tags: { 'reauth:owner': 'U02SEARCH' },
      },
      { name: 'prod/data/warehouse', createdDaysAgo: 180, tags: { 'reauth:owner': 'dana@example.com' } },
      {
        name: 'staging/platform/github-token',
        createdDaysAgo: 30,
        readDaysAgo: 3,
        tags: { owner: 'U04PLATFORM' },
      },
      { name: 'old/ftp-password', createdDaysAgo: 600, readDaysAgo: 400 },
    ],
    roles: [
      {
        name: 'vendor-monitoring',
        createdDaysAgo: 300,
        trustedAccounts: [VENDOR_ACCOUNT],
        externalId: 'monitoring-7f3a',
        usedDaysAgo: 1,
        tags: { 'reauth:owner': 'U04PLATFORM' },
      },
      {
        name: 'vendor-cost-explorer',
        createdDaysAgo: 250,
        trustedAccounts: [VENDOR_ACCOUNT],
        externalId: 'cost-19c2',
        tags: { 'reauth:owner': 'U01PAYMENTS' },
      },
      // Trusted only by this account: not a third-party connector, out of scope.
      { name: 'internal-admin', createdDaysAgo: 400 },
    ],
  };
}
