import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DecisionStore } from '../adapters/decision-store';
import { readIamInventory, resolveAccessKeyIds } from '../adapters/iam-inventory';
import { readSecretsInventory } from '../adapters/secrets-inventory';
import { type Credential, credentialIdOf, parseCredentialId } from '../domain/credential';
import { evaluateCredential } from '../domain/evaluate';
import { type PolicyConfig, policyIdOf } from '../domain/policy';
import { planDriftChange, planTrustChange } from '../domain/trust-change';
import { type TrustChange, type TrustTarget } from '../domain/trust-event';

export interface TrustEventDependencies {
  iam: IAMClient;
  secretsManager: SecretsManagerClient;
  store: DecisionStore;
}

/** The account's credentials, read once per batch of events however many need them. */
export type InventoryLoader = () => Promise<Credential[]>;

export function inventoryLoader(
  deps: TrustEventDependencies,
  options: { accountId: string; policy: PolicyConfig; now: Date },
): InventoryLoader {
  let loading: Promise<Credential[]> | undefined;
  return () => {
    loading ??= Promise.all([
      readIamInventory(deps.iam, {
        accountId: options.accountId,
        now: options.now,
        reportMaxAgeMinutes: options.policy.credentialReportMaxAgeMinutes,
      }),
      readSecretsInventory(deps.secretsManager, { accountId: options.accountId }),
    ]).then(([iam, secrets]) => [...iam.accessKeys, ...iam.roles, ...secrets]);
    return loading;
  };
}

export interface TrustChangeOutcome {
  /** Every credential the change touches. */
  affected: string[];
  /** Those a decision was recorded for (a repeated event records none). */
  recorded: string[];
}

/** Records what `change` means on each credential it touches: a request, or an observation. */
export async function applyTrustChange(
  deps: TrustEventDependencies,
  change: TrustChange,
  options: { accountId: string; policy: PolicyConfig; now: Date; inventory: InventoryLoader },
): Promise<TrustChangeOutcome> {
  const { policy, now } = options;
  const credentials = await credentialsFor(deps, change.target, options);
  const context = { now, policy, policyId: policyIdOf(policy), mode: policy.mode, actor: 'system:events' };
  const outcome: TrustChangeOutcome = { affected: [], recorded: [] };
  const { target } = change;
  if (target.kind === 'access-key' && change.turnsBackOn) {
    // A key reauth disabled is Inactive, so the credential report may not list it yet: its state is
    // all a drift needs.
    const credentialId = credentialIdOf({
      accountId: options.accountId,
      kind: 'access-key',
      id: target.accessKeyId,
    });
    if (!credentials.some((c) => credentialIdOf(c) === credentialId)) {
      outcome.affected.push(credentialId);
      const written = await deps.store.transition(credentialId, (current) =>
        planDriftChange(current, change, context),
      );
      if (written) outcome.recorded.push(credentialId);
    }
  }
  for (const credential of credentials) {
    const credentialId = credentialIdOf(credential);
    outcome.affected.push(credentialId);
    const written = await deps.store.transition(credentialId, (current) =>
      planTrustChange(
        credentialId,
        credential,
        evaluateCredential(credential, current, policy, now, credentialId),
        current,
        change,
        context,
      ),
    );
    if (written) outcome.recorded.push(credentialId);
  }
  return outcome;
}

/** The credentials a target names, each with its id (access keys resolved for their users only). */
async function credentialsFor(
  deps: TrustEventDependencies,
  target: TrustTarget,
  options: { accountId: string; policy: PolicyConfig; now: Date; inventory: InventoryLoader },
): Promise<(Credential & { id: string })[]> {
  const all = await options.inventory();
  const ownerOf = (c: Credential) => evaluateCredential(c, undefined, options.policy, options.now).owner;
  let matches: Credential[];
  switch (target.kind) {
    case 'user':
      matches = all.filter((c) => c.kind === 'access-key' && c.principal === target.userName);
      break;
    case 'access-key': {
      // A user's call on their own key names no user: the key's state knows it.
      const id = credentialIdOf({ accountId: options.accountId, kind: 'access-key', id: target.accessKeyId });
      const userName = target.userName ?? (await deps.store.getState(id))?.principal;
      matches = all.filter((c) => c.kind === 'access-key' && c.principal === userName);
      break;
    }
    case 'role':
      matches = all.filter((c) => c.kind === 'role' && c.principal === target.roleName);
      break;
    case 'secret':
      matches = all.filter(
        (c) =>
          c.kind === 'secret' &&
          (c.principal === target.secretId || c.id === target.secretId || c.principalArn === target.secretId),
      );
      break;
    case 'owner':
      matches = all.filter((c) => ownerOf(c) === target.owner);
      break;
    case 'tag':
      matches = all.filter((c) => c.tags[target.key] === target.value);
      break;
    case 'credential': {
      const { kind, id } = parseCredentialId(target.credentialId);
      // An access key's user is known from its state; otherwise every key must be resolved to find it.
      const known = kind === 'access-key' ? await deps.store.getState(target.credentialId) : undefined;
      matches = all.filter(
        (c) =>
          c.kind === kind &&
          (kind !== 'access-key' ? c.id === id : known === undefined || c.principal === known.principal),
      );
      break;
    }
  }
  const keys = matches.filter((c) => c.kind === 'access-key' && !c.id);
  const resolved = keys.length > 0 ? (await resolveAccessKeyIds(deps.iam, keys)).credentials : [];
  const withIds = [...matches.filter((c) => c.id), ...resolved].filter(
    (c): c is Credential & { id: string } => c.id !== undefined,
  );
  if (target.kind === 'access-key') return withIds.filter((c) => c.id === target.accessKeyId);
  return target.kind === 'credential'
    ? withIds.filter((c) => credentialIdOf(c) === target.credentialId)
    : withIds;
}
