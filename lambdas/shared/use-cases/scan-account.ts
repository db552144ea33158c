import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DecisionStore } from '../adapters/decision-store';
import { readIamInventory, resolveAccessKeyIds, type SessionRevocations } from '../adapters/iam-inventory';
import { readSecretsInventory } from '../adapters/secrets-inventory';
import { type ServiceUsageReader, serviceUsageReader } from '../adapters/service-usage';
import type { StackOwner, StackOwnerReader } from '../adapters/stack-owners';
import { mapWithConcurrency } from '../concurrency';
import type { CheckpointSigner } from '../domain/checkpoint';
import { type Credential, credentialIdOf, listsSshKeysOf, parseCredentialId } from '../domain/credential';
import type { CredentialState, Trigger } from '../domain/decision';
import { daysBetween, type Evaluation, evaluateCredential, type KnownRecord } from '../domain/evaluate';
import { type Identification, identify } from '../domain/identification';
import { planScanTransition } from '../domain/lifecycle';
import {
  type CreatorHint,
  creatorClueOf,
  needsSource,
  type OwnerClues,
  type OwnerOrigin,
  STACK_ID_TAG,
  STACK_NAME_TAG,
} from '../domain/owners';
import { type PolicyConfig, policyIdOf, type Tier } from '../domain/policy';
import { commitToHeads, merkleRoot, populationLeaf } from '../domain/population';
import { recordedRevocationOf } from '../domain/reauthorization';
import type { OpenTrust } from '../domain/trust-breadth';
import {
  type KeySlotUsage,
  keySlotIdOf,
  planKeySlotUsage,
  sameUsage,
  type UsageChange,
} from '../domain/usage';
import {
  isLearned,
  SERVICE_USAGE_KINDS,
  SERVICE_USAGE_RECHECK_DAYS,
  summarizeUsage,
  summaryLine,
  type UsageSummary,
  unusedLine,
  usageWindowDaysOf,
} from '../domain/usage-summary';

export interface ScanDependencies {
  iam: IAMClient;
  secretsManager: SecretsManagerClient;
  store: DecisionStore;
  /** The owner tags of the stacks that created principals (the `stack` owner source). */
  stacks: StackOwnerReader;
  /** Signs the population record's hash (a checkpoint); absent, the record is written unsigned. */
  signer?: CheckpointSigner;
  /** Reads IAM's service last-accessed data, one job per principal for the run. @default one on `iam` */
  serviceUsage?: ServiceUsageReader;
}

export interface ScanOptions {
  accountId: string;
  policy: PolicyConfig;
  now: Date;
  /** Recorded as `system:<job>`. @default 'scan' */
  job?: string;
  /** Told what the scan is doing, for a CLI's progress line. */
  onProgress?: (message: string) => void;
  /**
   * Organization mode: every account of the organization, the zone of trust (a role trusted only by
   * them is not a third-party connector). Absent: single-account mode, only `accountId` is internal.
   */
  organizationAccounts?: readonly string[];
  /** `o-…`: a role trusted by `*` under an `aws:PrincipalOrgID` condition naming it is internal too. */
  organizationId?: string;
  /** Organization mode: the owner the account's or its OUs' owner tags name (the `account` source). */
  accountOwner?: { owner: string; via: string };
}

/** One credential that needs, or is spared, an owner's word. */
export interface ScanRow {
  credentialId: string;
  kind: Credential['kind'];
  principal: string;
  owner: string;
  /** Where the owner came from (see `resolveOwner`). */
  ownerSource: OwnerOrigin;
  outcome: Exclude<Evaluation['outcome'], 'ok'>;
  triggers: Trigger[];
  lastUsedAt: string | null;
  idleDays: number;
  /** What its owner needs to recognise it: created, where last used, whom a role trusts. */
  identification: Identification;
  /** `recorded`: a decision was written by this run; `unchanged`: the record already said so. */
  record: 'recorded' | 'unchanged';
  /** Why it needs reauthorization, or why it is spared. */
  reason: string;
  /** `usage-changed`: the uses outside what was learned or allowed, and what was known before. */
  usageChange?: UsageChange;
  /** `trust-too-broad`: each part of a federated trust left open, and why. */
  openTrust?: OpenTrust[];
  /** "uses 3 of 41 services granted in the last 90 days: s3, sqs, kms": its user's or role's usage. */
  usage?: string;
  /** `over-privileged`: "unused: 38 services (acm, apigateway, … and 18 more)". */
  unused?: string;
}

/** What the inventory held, by kind: access keys are the report's active slots, the rest one each. */
export interface InventoryCounts {
  accessKeys: number;
  passwords: number;
  signingCertificates: number;
  sshKeys: number;
  serviceCredentials: number;
  secrets: number;
  roles: number;
}

/** How many credentials the inventory held: what an action budget's fraction is of. */
export function inventorySize(counts: InventoryCounts): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

export interface ScanReport {
  accountId: string;
  mode: PolicyConfig['mode'];
  policyId: string;
  startedAt: string;
  finishedAt: string;
  inventory: InventoryCounts;
  /** When IAM generated the credential report this scan read: the age of its access-key data. */
  inventoryAt: string;
  rows: ScanRow[];
  decisionsWritten: number;
  /**
   * Credentials whose state learned where they are used (the first sighting, or a new service or region
   * during the learning period): their state alone was written, no decision. Access keys not known by id
   * yet count too: their key slot's usage was written.
   */
  usageLearned: number;
  /** Credentials that were pending and whose finding went away (used again, rotated, re-tagged). */
  cleared: string[];
  /** Access keys from the credential report no longer found by ListAccessKeys (rotated meanwhile). */
  unresolved: string[];
  /**
   * Recorded as disabled, and the inventory shows them usable (an active key, a role without reauth's
   * deny) or cannot tell (a secret), or whose recorded session revocation the listing no longer shows:
   * the enforce job re-checks these for drift, and only these.
   */
  driftSuspects: string[];
  /** The population record this scan appended to the account's chain (see `domain/population.ts`). */
  population: {
    seq: number;
    root: string;
    hash: string;
    /** The key that signed the record (its ARN); absent, the record was written unsigned. */
    signedBy?: string;
  };
  /**
   * IAM's service last-accessed data read this run: for the users and roles a request opened for, and
   * those an over-privileged check was due for; `unavailable`: the principals whose job failed (their
   * requests went out without the usage line), with why.
   */
  serviceUsage: { principals: number; calls: number; unavailable: string[] };
}

/**
 * Recorded with its sessions revoked (by its disable, or when its open request's trust change came),
 * and the listing shows no such revocation on its user or role (gone, or not reauth's any more, or
 * from an earlier moment).
 */
function lostRevocation(state: CredentialState, revocations: SessionRevocations, now: Date): boolean {
  const revoked = recordedRevocationOf(state, now);
  if (!revoked || state.kind === 'secret') return false;
  const found =
    state.kind === 'role' ? revocations.roles.get(state.principal) : revocations.users.get(state.principal);
  return found === undefined || Date.parse(found) < Date.parse(revoked.issuedBefore);
}

/** Parallel conditional writes: enough to hide latency, few enough not to throttle an on-demand table. */
const WRITE_CONCURRENCY = 8;

/**
 * The report-mode scan of one account: inventory (a hundred calls, whatever the size), evaluate,
 * record what changed. Never changes IAM or Secrets Manager.
 */
export async function scanAccount(deps: ScanDependencies, options: ScanOptions): Promise<ScanReport> {
  return (await scanAccountWithStates(deps, options)).report;
}

/**
 * The scan, and the account's states after it: the ones it read, those it changed read again (a
 * consistent batch read of a few). The scan handler tells owners and counts states from them instead
 * of querying the account's index again (it did, twice more per run).
 */
export async function scanAccountWithStates(
  deps: ScanDependencies,
  options: ScanOptions,
): Promise<{ report: ScanReport; states: Map<string, CredentialState> }> {
  const { accountId, policy, now } = options;
  const progress = options.onProgress ?? (() => {});
  const startedAt = new Date().toISOString();
  const context = {
    now,
    mode: policy.mode,
    policyId: policyIdOf(policy),
    actor: `system:${options.job ?? 'scan'}`,
  };
  // Read and judged in a function of its own: an async function keeps every local until it returns,
  // so the inventory and its evaluations (most of a first scan's heap) would be held through the writes.
  const plan = await assessAccount(deps, options, progress);
  const { states, keySlots, cluesOf, freshUsage, toRecord } = plan;

  progress(`recording ${toRecord.length} findings`);
  let decisionsWritten = 0;
  let usageLearned = 0;
  const cleared: string[] = [];
  const changed: string[] = [];
  const rows = await mapWithConcurrency(toRecord, WRITE_CONCURRENCY, async (credential) => {
    const credentialId = credentialIdOf(credential);
    // A key new to the record brings what its key slot learned: its state takes that usage over.
    const keySlot = keySlotOf(keySlots, credential);
    const clues = cluesOf(credential);
    const fresh = freshUsage.usage.get(credential.principalArn);
    let evaluation = evaluateCredential(
      credential,
      withFresh(states.get(credentialId) ?? keySlot, credential, freshUsage.usage),
      policy,
      now,
      credentialId,
      clues,
    );
    let stateOnly = false;
    const written = await deps.store.transition(
      credentialId,
      (current) => {
        // Re-evaluated on the state actually read: another writer may have moved it meanwhile.
        evaluation = evaluateCredential(
          credential,
          withFresh(current ?? keySlot, credential, freshUsage.usage),
          policy,
          now,
          credentialId,
          clues,
        );
        const change = planScanTransition(credentialId, credential, evaluation, current, context, fresh);
        stateOnly = change !== undefined && !change.decision;
        return change;
      },
      { known: states.get(credentialId) },
    );
    if (written) decisionsWritten++;
    else if (stateOnly) usageLearned++;
    if (written || stateOnly) changed.push(credentialId);
    if (written?.action === 'reauthorize') cleared.push(credentialId);
    const usage = fresh ?? states.get(credentialId)?.serviceUsage;
    const row = toRow(credentialId, credential, evaluation, policy, now, written ? 'recorded' : 'unchanged');
    return row && usage ? { ...row, usage: summaryLine(usage) } : row;
  });
  // In batches of 25: the first scan of an account learns of every key not known by id at once.
  await deps.store.rememberKeySlots(plan.keySlotWrites);
  usageLearned += plan.keySlotsLearned;

  const after = new Map(states);
  // Read again rather than rebuilt here: the store's write is the one source of what a state holds.
  if (changed.length > 0) for (const [id, state] of await deps.store.getStates(changed)) after.set(id, state);

  // What was evaluated, recorded once for the account and run: the population an auditor samples.
  const population = await deps.store.recordPopulation(
    {
      accountId,
      at: now.toISOString(),
      actor: context.actor,
      policyId: context.policyId,
      mode: policy.mode,
      inventoryAt: plan.inventoryAt,
      ...plan.population,
      // The heads of the account's decision chains as this scan left them: a signed record covers them.
      ...commitToHeads(
        [...after].map(([credentialId, state]) => ({
          credentialId,
          seq: state.seq,
          lastHash: state.lastHash,
        })),
      ),
    },
    deps.signer,
  );

  const report: ScanReport = {
    accountId,
    mode: policy.mode,
    policyId: context.policyId,
    startedAt,
    finishedAt: new Date().toISOString(),
    inventory: plan.inventory,
    inventoryAt: plan.inventoryAt,
    rows: rows.filter((row): row is ScanRow => row !== undefined),
    decisionsWritten,
    usageLearned,
    cleared,
    unresolved: plan.unresolved,
    driftSuspects: plan.driftSuspects,
    population: {
      seq: population.seq,
      root: population.root,
      hash: population.hash,
      ...(population.signature && { signedBy: population.signature.keyId }),
    },
    serviceUsage: {
      principals: freshUsage.usage.size + freshUsage.unavailable.length,
      calls: plan.serviceUsageCalls,
      unavailable: freshUsage.unavailable,
    },
  };
  return { report, states: after };
}

/** What a key not known by id learned in its key slot, before this run. */
function keySlotOf(
  keySlots: ReadonlyMap<string, KeySlotUsage>,
  credential: Credential,
): KeySlotUsage | undefined {
  return credential.kind === 'access-key' ? keySlots.get(keySlotIdOf(slotIdentity(credential))) : undefined;
}

/** A credential's record with what this run read of its principal's usage. */
function withFresh<T extends KnownRecord | undefined>(
  known: T,
  credential: Credential,
  usage: ReadonlyMap<string, UsageSummary>,
): T | CredentialState {
  const fresh = usage.get(credential.principalArn);
  return fresh && known && 'seq' in known ? { ...known, serviceUsage: fresh } : known;
}

/**
 * The scan's reads and judgements, and only what its writes and its report need of them: the
 * credentials to record (findings, and what they bring), the key slots to write, and the population
 * record's counts and root over every credential evaluated.
 */
async function assessAccount(
  deps: ScanDependencies,
  options: ScanOptions,
  progress: (message: string) => void,
) {
  const { accountId, policy, now } = options;
  const zone =
    options.organizationAccounts || options.organizationId
      ? { accounts: options.organizationAccounts ?? [], organizationId: options.organizationId }
      : undefined;

  progress('reading the inventory (credential report, authorization details, secrets, known states)');
  // The big reads one at a time, so their peaks do not add up (see readIamInventory).
  const iamInventory = await readIamInventory(deps.iam, {
    accountId,
    now,
    reportMaxAgeMinutes: policy.credentialReportMaxAgeMinutes,
    zone,
    statusCredentials: {
      // The hourly enforce job lists no SSH keys: a call per user every hour, for keys judged by age.
      sshKeysOf: (user) =>
        options.job !== 'enforce' && listsSshKeysOf(user, now, policy.listSshPublicKeys ?? 'weekly'),
    },
  });
  const secrets = await readSecretsInventory(deps.secretsManager, { accountId });
  const { states, keySlots, creators } = await deps.store.loadAccount(accountId);

  // A report slot's key is known by its user and creation time; a key seen before has its id in its state.
  const keyStates = new Map<string, CredentialState>();
  for (const state of states.values()) {
    if (state.kind === 'access-key' && state.keyCreatedAt)
      keyStates.set(keySlotKey(state.principal, state.keyCreatedAt), state);
  }
  const withKnownIds = [
    ...iamInventory.accessKeys.map((key) => {
      const known = keyStates.get(keySlotKey(key.principal, key.createdAt.toISOString()));
      // Assigned, not spread: see readIamInventory (every key of an account is known from its second scan).
      return known ? Object.assign({}, key, { id: parseCredentialId(known.credentialId).id }) : key;
    }),
    ...iamInventory.passwords,
    ...iamInventory.statusCredentials,
    ...iamInventory.roles,
    ...secrets,
  ];

  const driftSuspects = [
    ...new Set([
      ...withKnownIds.flatMap((credential) => {
        const credentialId = knownIdOf(credential);
        if (!credentialId) return [];
        const disabled = states.get(credentialId)?.status === 'disabled';
        return disabled && !credential.disabledByReauth ? [credentialId] : [];
      }),
      // A disabled key is not in the report's active slots: its state says whose sessions it revoked.
      ...[...states.values()]
        .filter((state) => lostRevocation(state, iamInventory.sessionRevocations, now))
        .map((state) => state.credentialId),
    ]),
  ];

  const cluesOf = await ownerClues(withKnownIds, {
    policy,
    creators,
    stacks: deps.stacks,
    accountOwner: options.accountOwner,
    progress,
  });

  progress(`evaluating ${withKnownIds.length} credentials`);
  const evaluated = withKnownIds.map((credential) => {
    const credentialId = knownIdOf(credential);
    const state = credentialId ? states.get(credentialId) : undefined;
    const known = state ?? (credential.id ? undefined : keySlotOf(keySlots, credential));
    return {
      credential,
      evaluation: evaluateCredential(credential, known, policy, now, credentialId, cluesOf(credential)),
    };
  });
  const stateOf = (credential: Credential) => {
    const credentialId = knownIdOf(credential);
    return credentialId ? states.get(credentialId) : undefined;
  };

  // The service usage of the principals asked about this run, and those due an over-privileged check:
  // their credentials are judged again with it.
  const usageReader = deps.serviceUsage ?? serviceUsageReader(deps.iam, { now });
  const callsBefore = usageReader.calls();
  const freshUsage = await readServiceUsage(usageReader, evaluated, { policy, now, stateOf, progress });
  for (const entry of evaluated) {
    const state = stateOf(entry.credential);
    if (!state || !freshUsage.usage.has(entry.credential.principalArn)) continue;
    entry.evaluation = evaluateCredential(
      entry.credential,
      withFresh(state, entry.credential, freshUsage.usage),
      policy,
      now,
      state.credentialId,
      cluesOf(entry.credential),
    );
  }
  const learnsUsage = ({ credential, evaluation }: (typeof evaluated)[number]) =>
    evaluation.outcome === 'ok' && !sameUsage(evaluation.usage, stateOf(credential)?.usage);
  // Findings, pending credentials whose finding went away, and known credentials whose usage was learned.
  const needsRecord = evaluated.filter(
    (e) =>
      e.evaluation.outcome !== 'ok' ||
      stateOf(e.credential)?.status === 'pending' ||
      (e.credential.id !== undefined && learnsUsage(e)) ||
      (stateOf(e.credential) !== undefined && freshUsage.usage.has(e.credential.principalArn)),
  );
  // A user's keys are listed together: the other key of a user listed for a finding gets its id, and so
  // its state and usage, at no extra call. Other keys not known by id learn in their key slot.
  const listedUsers = new Set(
    needsRecord
      .filter((e) => e.credential.kind === 'access-key' && !e.credential.id)
      .map((e) => e.credential.principal),
  );
  const recorded = new Set(needsRecord);
  const siblings = evaluated.filter(
    (e) =>
      e.credential.kind === 'access-key' &&
      !e.credential.id &&
      listedUsers.has(e.credential.principal) &&
      !recorded.has(e) &&
      learnsUsage(e),
  );

  // Keys not known by id, with no finding: what they learned goes to their key slot, at no call. A
  // finding later (a new use past learning) lists the user's keys, and the key's state takes it over.
  const listed = new Set(siblings);
  const keySlotWrites = evaluated.flatMap((e) => {
    const { credential, evaluation } = e;
    if (credential.kind !== 'access-key' || credential.id || evaluation.outcome !== 'ok' || listed.has(e))
      return [];
    const known = keySlotOf(keySlots, credential);
    const slot = planKeySlotUsage(known, slotIdentity(credential), evaluation.usage, now);
    return slot ? [{ slot, learned: !sameUsage(slot.usage, known?.usage) }] : [];
  });

  // Per-credential calls only for findings: map report slots to key ids for users with one.
  const unresolvedKeys = [...needsRecord, ...siblings]
    .map((e) => e.credential)
    .filter((c) => c.kind === 'access-key' && !c.id);
  const resolved = await resolveAccessKeyIds(deps.iam, unresolvedKeys);
  const idsBySlot = new Map(resolved.credentials.map((c) => [slotKey(c), c.id]));

  const toRecord = [...needsRecord, ...siblings].flatMap(({ credential }) => {
    const id = credential.id ?? idsBySlot.get(slotKey(credential));
    return id ? [Object.assign({}, credential, { id })] : [];
  });

  return {
    states,
    keySlots,
    cluesOf,
    freshUsage,
    toRecord,
    keySlotWrites: keySlotWrites.map(({ slot }) => slot),
    keySlotsLearned: keySlotWrites.filter(({ learned }) => learned).length,
    driftSuspects,
    unresolved: resolved.unresolved.map((c) => `${c.principal} key ${c.keySlot}`),
    serviceUsageCalls: usageReader.calls() - callsBefore,
    inventory: {
      accessKeys: iamInventory.accessKeys.length,
      passwords: iamInventory.passwords.length,
      ...countStatusCredentials(iamInventory.statusCredentials),
      secrets: secrets.length,
      roles: iamInventory.roles.length,
    } satisfies InventoryCounts,
    inventoryAt: iamInventory.reportGeneratedAt.toISOString(),
    population: {
      counts: countBy(evaluated.map((e) => e.credential.kind)),
      evaluated: evaluated.length,
      findings: evaluated.filter((e) => e.evaluation.outcome === 'finding').length,
      root: merkleRoot(
        evaluated.map(({ credential, evaluation }) => {
          const id = credential.id ?? idsBySlot.get(slotKey(credential));
          return populationLeaf(
            knownIdOf(credential, id) ?? keySlotIdOf(slotIdentity(credential)),
            evaluation.outcome,
            evaluation.outcome === 'finding' ? evaluation.triggers : [],
          );
        }),
      ),
    },
  };
}

function countStatusCredentials(
  credentials: readonly Credential[],
): Pick<InventoryCounts, 'signingCertificates' | 'sshKeys' | 'serviceCredentials'> {
  const of = (kind: Credential['kind']) => credentials.filter((c) => c.kind === kind).length;
  return {
    signingCertificates: of('signing-certificate'),
    sshKeys: of('ssh-key'),
    serviceCredentials: of('service-credential'),
  };
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** Stacks read at once: DescribeStacks is throttled per account and region. */
const STACK_READ_CONCURRENCY = 4;

/**
 * Each credential's owner clues beyond itself (see `resolveOwner`): the account's owner, its creator
 * (from the hints loaded with the states), and the owner tag of the stack that created its principal,
 * read once per stack and only for credentials no earlier source names an owner for.
 */
async function ownerClues(
  credentials: readonly Credential[],
  options: {
    policy: PolicyConfig;
    creators: ReadonlyMap<string, CreatorHint>;
    stacks: StackOwnerReader;
    accountOwner: OwnerClues['account'];
    progress: (message: string) => void;
  },
): Promise<(credential: Credential) => OwnerClues> {
  const { policy, creators, stacks, accountOwner } = options;
  const base = (credential: Credential): OwnerClues => {
    const creator = creatorClueOf(credential, creators);
    return { ...(accountOwner && { account: accountOwner }), ...(creator && { creator }) };
  };
  const stackOf = (credential: Credential) =>
    credential.tags[STACK_ID_TAG] ?? credential.tags[STACK_NAME_TAG];
  const wanted = [
    ...new Set(
      credentials.flatMap((credential) => {
        const stack = stackOf(credential);
        return stack && needsSource('stack', credential, base(credential), policy) ? [stack] : [];
      }),
    ),
  ];
  const owners = new Map<string, StackOwner>();
  await mapWithConcurrency(wanted, STACK_READ_CONCURRENCY, async (stack) => {
    const owner = await stacks.ownerOf(stack, policy.ownerTagKeys);
    if (owner) owners.set(stack, owner);
  });
  const unread = stacks.failures();
  if (unread > 0)
    options.progress(
      `${unread} of ${wanted.length} stacks could not be read (cloudformation:DescribeStacks): their owner tags name no one this run`,
    );
  return (credential) => {
    const stack = owners.get(stackOf(credential) ?? '');
    return { ...base(credential), ...(stack && { stack: { name: stack.name, owner: stack.owner } }) };
  };
}

function toRow(
  credentialId: string,
  credential: Credential & { id: string },
  evaluation: Evaluation,
  policy: PolicyConfig,
  now: Date,
  record: ScanRow['record'],
): ScanRow | undefined {
  if (evaluation.outcome === 'ok') return undefined;
  return {
    credentialId,
    kind: credential.kind,
    principal: credential.principal,
    owner: evaluation.owner,
    ownerSource: evaluation.ownerSource,
    outcome: evaluation.outcome,
    triggers: evaluation.outcome === 'finding' ? evaluation.triggers : [],
    lastUsedAt: credential.lastUsedAt?.toISOString() ?? null,
    idleDays: daysBetween(credential.lastUsedAt ?? credential.createdAt, now),
    identification: identify(credential, policy.vendors),
    record,
    reason:
      evaluation.outcome === 'finding'
        ? evaluation.triggers.join(', ')
        : evaluation.outcome === 'protected'
          ? `protected (${evaluation.pattern})`
          : `exempt until ${evaluation.until}`,
    ...(evaluation.outcome === 'finding' &&
      evaluation.evidence.usageChange && { usageChange: evaluation.evidence.usageChange }),
    ...(evaluation.outcome === 'finding' &&
      evaluation.evidence.openTrust && { openTrust: evaluation.evidence.openTrust }),
    ...(evaluation.outcome === 'finding' &&
      evaluation.evidence.serviceUsage && { unused: unusedLine(evaluation.evidence.serviceUsage) }),
  };
}

/**
 * Its credential id, if it has an id (or is given one). Built field by field, not from
 * `{ ...credential, id }`: on V8 each such spread gets a hidden class of its own (see readIamInventory),
 * kept until a full collection, and these run several times per credential.
 */
function knownIdOf(credential: Credential, id = credential.id): string | undefined {
  return id ? credentialIdOf({ accountId: credential.accountId, kind: credential.kind, id }) : undefined;
}

/** An access key as the credential report names it: its account, its user and its creation. */
function slotIdentity(
  credential: Credential,
): Pick<KeySlotUsage, 'accountId' | 'principal' | 'keyCreatedAt'> {
  return {
    accountId: credential.accountId,
    principal: credential.principal,
    keyCreatedAt: credential.createdAt.toISOString(),
  };
}

function keySlotKey(principal: string, createdAtIso: string): string {
  return `${principal}\n${createdAtIso}`;
}

function slotKey(credential: Credential): string {
  return `${credential.principal}\n${credential.keySlot}\n${credential.createdAt.toISOString()}`;
}

/** Principals read at once: IAM throttles per account, and each job polls. */
const USAGE_READ_CONCURRENCY = 4;
/**
 * Principals whose usage one run reads, at most: IAM's jobs take seconds each, and the first scan of a
 * large account opens thousands of requests at once, which would outlast the function. Past it, a
 * request goes out without the line, as when IAM's job fails (and its owner cannot narrow it to what
 * it uses) until a later run reads it: 100 a run, 25 rounds of 4. Requests opening come first, then
 * open requests still without the line, then over-privileged checks.
 */
export const SERVICE_USAGE_PER_RUN = 100;
const DAY_MS = 86_400_000;

/** The tier a credential is judged under (its tier tag's, else the default), as `evaluateCredential` picks it. */
function tierOf(credential: Credential, policy: PolicyConfig): Tier | undefined {
  const requested = credential.tags[policy.tierTagKey];
  return policy.tiers[requested && requested in policy.tiers ? requested : policy.defaultTier];
}

/**
 * The service usage this run needs, and only that (its cost is bounded by the requests, not the
 * inventory): of the users and roles a request opens for (a finding on a credential with no open
 * request) or whose open request has no usage line yet, and, on tiers that set `maxUnusedServiceShare`, of the principals of active credentials
 * past their usage learning period whose last read is SERVICE_USAGE_RECHECK_DAYS old or more. One IAM
 * job per principal, whatever the number of its credentials, and at most SERVICE_USAGE_PER_RUN
 * principals a run, requests opening now before the checks.
 * A job that fails is logged and its principal left out: its request goes out without the usage line.
 */
async function readServiceUsage(
  reader: ServiceUsageReader,
  evaluated: readonly { credential: Credential; evaluation: Evaluation }[],
  options: {
    policy: PolicyConfig;
    now: Date;
    stateOf: (credential: Credential) => CredentialState | undefined;
    progress: (message: string) => void;
  },
): Promise<{ usage: Map<string, UsageSummary>; unavailable: string[] }> {
  const { policy, now, stateOf } = options;
  const wanted = new Map<string, { windowDays: number; createdAt?: Date; rank: number }>();
  for (const { credential, evaluation } of evaluated) {
    if (!SERVICE_USAGE_KINDS.includes(credential.kind)) continue;
    const state = stateOf(credential);
    const tier = tierOf(credential, policy);
    const opensRequest =
      evaluation.outcome === 'finding' &&
      state?.status !== 'pending' &&
      state?.status !== 'disabled' &&
      state?.status !== 'deleted';
    const checkDue =
      tier?.maxUnusedServiceShare !== undefined &&
      state?.status === 'active' &&
      (evaluation.outcome === 'ok' || evaluation.outcome === 'finding') &&
      isLearned(state.usage, tier, now) &&
      (!state.serviceUsage ||
        now.getTime() - Date.parse(state.serviceUsage.readAt) >= SERVICE_USAGE_RECHECK_DAYS * DAY_MS);
    // An open request whose line is missing (past an earlier run's cap, a failed job, or opened by a
    // trust event) is read at a later run: its reminders then show the line.
    const lacksLine = state?.status === 'pending' && !state.serviceUsage;
    const rank = opensRequest ? 0 : lacksLine ? 1 : checkDue ? 2 : undefined;
    const before = wanted.get(credential.principalArn);
    if (!tier || rank === undefined || (before && before.rank <= rank)) continue;
    wanted.set(credential.principalArn, {
      rank,
      windowDays: usageWindowDaysOf(tier),
      // A role's creation bounds its data; a user's is not in the inventory (its key's or password's is not it).
      ...(credential.kind === 'role' && { createdAt: credential.createdAt }),
    });
  }
  const chosen = [...wanted].sort(([, a], [, b]) => a.rank - b.rank).slice(0, SERVICE_USAGE_PER_RUN);
  if (wanted.size > 0)
    options.progress(
      `reading the service usage of ${chosen.length} users and roles${wanted.size > chosen.length ? ` (${wanted.size - chosen.length} more left out: their requests go without it)` : ''}`,
    );
  const usage = new Map<string, UsageSummary>();
  const unavailable: string[] = [];
  await mapWithConcurrency(chosen, USAGE_READ_CONCURRENCY, async ([arn, { windowDays, createdAt }]) => {
    try {
      usage.set(arn, summarizeUsage(await reader.usageOf(arn, windowDays, createdAt)));
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      unavailable.push(`${arn}: ${(error as Error).message}`);
      options.progress(
        `the service usage of ${arn} is unavailable (${(error as Error).message}): its request goes out without the usage line`,
      );
    }
  });
  return { usage, unavailable };
}

/**
 * IAM's job failed or never finished, or IAM refused the read (no permission, or the principal went
 * away meanwhile): not a reason to fail the scan. By name, as the SDK's errors are known.
 */
function isUnavailable(error: unknown): boolean {
  return (
    error instanceof Error &&
    [
      'ServiceUsageUnavailableError',
      'AccessDenied',
      'AccessDeniedException',
      'NoSuchEntity',
      'NoSuchEntityException',
    ].includes(error.name)
  );
}
