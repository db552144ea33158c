import type { AccountSpec } from '../../scripts/local/seed';

/**
 * The account the population tests scan: an idle key (a finding), a busy key and a read secret (both
 * ok), so a scan's population record commits to one finding among three credentials.
 */
export const POPULATION_ACCOUNT: AccountSpec = {
  users: [
    { name: 'idle', tags: { owner: 'U0A' }, keys: [{ createdDaysAgo: 200, usedDaysAgo: 120 }] },
    { name: 'busy', tags: { owner: 'U0A' }, keys: [{ createdDaysAgo: 20, usedDaysAgo: 1 }] },
  ],
  secrets: [{ name: 'app/token', createdDaysAgo: 10, readDaysAgo: 1, tags: { owner: 'U0B' } }],
  roles: [],
};
