import type { DecisionAction } from './actions';
import type { CredentialKind } from './credential';

const IAM_3 = 'AWS Security Hub IAM.3'; // IAM users' access keys rotated every 90 days or less
const IAM_22 = 'AWS Security Hub IAM.22'; // IAM user credentials unused for 45 days removed
const SM_1 = 'AWS Security Hub SecretsManager.1'; // secrets have automatic rotation enabled
const SM_2 = 'AWS Security Hub SecretsManager.2'; // secrets configured with rotation rotate successfully
const SM_3 = 'AWS Security Hub SecretsManager.3'; // unused secrets removed
const SM_4 = 'AWS Security Hub SecretsManager.4'; // secrets rotated within a specified number of days
const CIS_UNUSED = 'CIS AWS Foundations v3.0.0 1.12'; // credentials unused for 45 days or more disabled
const CIS_ROTATED = 'CIS AWS Foundations v3.0.0 1.14'; // access keys rotated every 90 days or less
const CSF_IDENTITIES = 'NIST CSF 2.0 PR.AA-01'; // identities and credentials of authorized users, services and hardware are managed
const SP800_53_AC_12 = 'NIST SP 800-53 Rev. 5 AC-12'; // session termination
const CSF_PERMISSIONS = 'NIST CSF 2.0 PR.AA-05'; // access permissions, entitlements and authorizations are defined, managed, enforced and reviewed
const CSF_USAGE_MONITORED = 'NIST CSF 2.0 DE.CM-03'; // personnel activity and technology usage are monitored to find potentially adverse events

/**
 * The controls each kind of decision is evidence for, carried in every decision's `evidence.controls`
 * so an export answers "which record shows control X operating" without code. docs/decision-record.md
 * explains each mapping.
 */
export const CONTROLS_BY_ACTION: Record<DecisionAction, string[]> = {
  flag: [IAM_3, IAM_22, SM_3, SM_4, CIS_UNUSED, CIS_ROTATED, CSF_IDENTITIES],
  notify: [CSF_IDENTITIES, CSF_PERMISSIONS],
  remind: [CSF_IDENTITIES, CSF_PERMISSIONS],
  escalate: [CSF_IDENTITIES, CSF_PERMISSIONS],
  reauthorize: [CSF_PERMISSIONS],
  refuse: [CSF_PERMISSIONS],
  observe: [CSF_PERMISSIONS],
  rotate: [IAM_3, SM_1, SM_2, SM_4, CIS_ROTATED, CSF_IDENTITIES],
  disable: [IAM_22, SM_3, CIS_UNUSED, CSF_PERMISSIONS],
  restore: [CSF_PERMISSIONS],
  exempt: [CSF_PERMISSIONS],
  delete: [IAM_22, SM_3, CIS_UNUSED, CSF_IDENTITIES],
  drift: [IAM_22, CIS_UNUSED, CSF_PERMISSIONS],
};

/**
 * A decision that ended sessions (`evidence.revokedSessions`) evidences session termination too: the
 * temporary credentials a disabled or distrusted credential handed out stop working with it.
 */
export const CONTROLS_OF_REVOKED_SESSIONS = [SP800_53_AC_12, CSF_PERMISSIONS];

/**
 * Controls a decision evidences by the triggers in its evidence, on top of its action's: a request
 * opened because a credential was used in a new way shows its usage being monitored.
 */
export const CONTROLS_BY_TRIGGER: Readonly<Record<string, readonly string[]>> = {
  'usage-changed': [CSF_USAGE_MONITORED],
};

/**
 * Controls about one kind of credential only, which a console password's decision never evidences:
 * access keys' rotation and secrets'. A password's are IAM.22 and CIS 1.12 (credentials unused for
 * 45 days), beside the NIST ones every credential's decisions carry.
 */
const NOT_A_PASSWORDS = new Set([IAM_3, CIS_ROTATED, SM_1, SM_2, SM_3, SM_4]);

/**
 * The controls a decision evidences: its action's, its triggers', and session termination when it
 * ended sessions; a console password's without the controls of access keys' and secrets' own.
 */
export function controlsOf(decision: {
  action: DecisionAction;
  kind?: CredentialKind;
  evidence: Record<string, unknown>;
}): string[] {
  const { evidence } = decision;
  const triggers = Array.isArray(evidence.triggers) ? (evidence.triggers as unknown[]) : [];
  const controls = [
    ...new Set([
      ...CONTROLS_BY_ACTION[decision.action],
      ...triggers.flatMap((t) => (typeof t === 'string' ? (CONTROLS_BY_TRIGGER[t] ?? []) : [])),
      ...(evidence.revokedSessions ? CONTROLS_OF_REVOKED_SESSIONS : []),
    ]),
  ];
  return decision.kind === 'password' ? controls.filter((c) => !NOT_A_PASSWORDS.has(c)) : controls;
}
