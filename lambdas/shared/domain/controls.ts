import type { DecisionAction } from './actions';
import type { CredentialKind } from './credential';

/**
 * One control, what it asks, and which decisions are its evidence: only those about its subject (the
 * kinds of credential it is about), by the actions that operate it, and for a flag only the triggers
 * it is about, under a tier no laxer than the control's own limit. One challenged row discredits a
 * mapping: a vendor role's idle flag is no evidence for "access keys rotated", nor a 90-day tier's flag
 * for a 45-day control.
 */
export interface ControlRule {
  control: string;
  /** What it asks, in its source's words. */
  text: string;
  /** Where the text is from. */
  source: string;
  /** The kinds of credential it is about; absent: every kind. */
  kinds?: readonly CredentialKind[];
  /** The actions other than `flag` that evidence it. */
  actions: readonly DecisionAction[];
  /** Of `actions`, those that evidence it whatever the credential's kind. */
  anyKind?: readonly DecisionAction[];
  /**
   * When a flag evidences it: opened by one of `triggers` (absent: any), and, with `limit`, under a
   * tier whose limit (the flag's `evidence.limits`) is no laxer than the control's.
   */
  flag?: { triggers?: readonly string[]; limit?: { field: 'idleDays' | 'maxAgeDays'; days: number } };
}

const SECURITY_HUB = 'AWS Security Hub CSPM controls reference (docs.aws.amazon.com/securityhub)';
const CIS = 'CIS Amazon Web Services Foundations Benchmark v3.0.0';
const CSF = 'NIST Cybersecurity Framework 2.0 (NIST CSWP 29)';
const ISO = 'ISO/IEC 27001:2022 Annex A';
/**
 * What IAM.22, CIS 1.12 and Config's iam-user-unused-credentials-check count: passwords and access
 * keys. Signing certificates, SSH keys and service-specific credentials are IAM user credentials too,
 * but no control in this table is about them by name (and IAM records no use of them to be "unused"):
 * they evidence only the controls about every credential.
 */
const UNUSED_KINDS: readonly CredentialKind[] = ['access-key', 'password'];

/** The mapping, in one table: docs/decision-record.md gives each control's text and source. */
export const CONTROL_RULES: readonly ControlRule[] = [
  {
    control: 'AWS Security Hub IAM.3',
    text: "IAM users' access keys should be rotated every 90 days or less.",
    source: SECURITY_HUB,
    kinds: ['access-key'],
    actions: ['rotate'],
    flag: { triggers: ['max-age'], limit: { field: 'maxAgeDays', days: 90 } },
  },
  {
    control: 'AWS Security Hub IAM.22',
    text: 'IAM user credentials unused for 45 days should be removed.',
    source: SECURITY_HUB,
    kinds: UNUSED_KINDS,
    actions: ['disable', 'delete', 'drift'],
    flag: { triggers: ['idle'], limit: { field: 'idleDays', days: 45 } },
  },
  {
    control: 'CIS AWS Foundations v3.0.0 1.12',
    text: 'Ensure credentials unused for 45 days or more are disabled.',
    source: CIS,
    kinds: UNUSED_KINDS,
    actions: ['disable', 'delete', 'drift'],
    flag: { triggers: ['idle'], limit: { field: 'idleDays', days: 45 } },
  },
  {
    control: 'CIS AWS Foundations v3.0.0 1.14',
    text: 'Ensure access keys are rotated every 90 days or less.',
    source: CIS,
    kinds: ['access-key'],
    actions: ['rotate'],
    flag: { triggers: ['max-age'], limit: { field: 'maxAgeDays', days: 90 } },
  },
  {
    control: 'AWS Security Hub SecretsManager.1',
    text: 'Secrets Manager secrets should have automatic rotation enabled.',
    source: SECURITY_HUB,
    kinds: ['secret'],
    actions: ['rotate'],
  },
  {
    control: 'AWS Security Hub SecretsManager.2',
    text: 'Secrets Manager secrets configured with automatic rotation should rotate successfully.',
    source: SECURITY_HUB,
    kinds: ['secret'],
    actions: ['rotate'],
  },
  {
    // Security Hub's default unusedForDays is 90.
    control: 'AWS Security Hub SecretsManager.3',
    text: 'Remove unused Secrets Manager secrets.',
    source: SECURITY_HUB,
    kinds: ['secret'],
    actions: ['disable', 'delete'],
    flag: { triggers: ['idle'], limit: { field: 'idleDays', days: 90 } },
  },
  {
    // Security Hub's default maxDaysSinceRotation is 90.
    control: 'AWS Security Hub SecretsManager.4',
    text: 'Secrets Manager secrets should be rotated within a specified number of days.',
    source: SECURITY_HUB,
    kinds: ['secret'],
    actions: ['rotate'],
    flag: { triggers: ['max-age'], limit: { field: 'maxAgeDays', days: 90 } },
  },
  {
    control: 'NIST CSF 2.0 PR.AA-01',
    text: 'Identities and credentials for authorized users, services, and hardware are managed by the organization.',
    source: CSF,
    actions: ['notify', 'remind', 'escalate', 'rotate', 'delete', 'assign-owner'],
    flag: {},
  },
  {
    control: 'NIST CSF 2.0 PR.AA-05',
    text: 'Access permissions, entitlements, and authorizations are defined in a policy, managed, enforced, and reviewed, and incorporate the principles of least privilege and separation of duties.',
    source: CSF,
    actions: [
      'notify',
      'remind',
      'escalate',
      'reauthorize',
      'refuse',
      'observe',
      'disable',
      'restore',
      'exempt',
      'drift',
      'assign-owner',
      'right-size',
      'widen',
    ],
    flag: { triggers: ['over-privileged'] },
  },
  {
    control: 'NIST CSF 2.0 DE.CM-03',
    text: 'Personnel activity and technology usage are monitored to find potentially adverse events.',
    source: CSF,
    actions: [],
    flag: { triggers: ['usage-changed'] },
  },
  {
    control: 'ISO/IEC 27001:2022 A.5.19',
    text: "Processes and procedures shall be defined and implemented to manage the information security risks associated with the use of supplier's products or services.",
    source: ISO,
    kinds: ['role'],
    actions: ['reauthorize', 'escalate', 'disable', 'restore'],
    flag: {},
  },
  {
    control: 'ISO/IEC 27001:2022 A.8.2',
    text: 'The allocation and use of privileged access rights shall be restricted and managed.',
    source: ISO,
    kinds: ['role'],
    actions: ['reauthorize', 'disable', 'right-size'],
    // A right-size restricts the rights a user uses as much as a role's.
    anyKind: ['right-size'],
    flag: {
      triggers: ['trust-too-broad', 'aws-service-account-trusted', 'scope-changed', 'over-privileged'],
    },
  },
  {
    control: 'CIS AWS Foundations v3.0.0 1.16',
    text: 'Ensure IAM policies that allow full "*:*" administrative privileges are not attached.',
    source: CIS,
    actions: ['right-size'],
    flag: { triggers: ['over-privileged'] },
  },
];

/**
 * A decision that ended sessions (`evidence.revokedSessions`) evidences session termination too: the
 * temporary credentials a disabled or distrusted credential handed out stop working with it.
 */
export const SESSION_TERMINATION = {
  control: 'NIST SP 800-53 Rev. 5 AC-12',
  text: 'Session termination: automatically terminate a user session after organization-defined conditions or trigger events requiring session disconnect.',
  source: 'NIST SP 800-53 Rev. 5',
} as const;

/** Every control's words, for the report's per-control sections. */
export const CONTROL_DESCRIPTIONS: Readonly<Record<string, string>> = Object.fromEntries(
  [...CONTROL_RULES, SESSION_TERMINATION].map((rule) => [rule.control, rule.text]),
);

/** What `controlsOf` reads of a decision. */
export interface ControlledDecision {
  action: DecisionAction;
  kind?: CredentialKind;
  evidence: Record<string, unknown>;
}

/**
 * How a decision stands against each control: the controls it evidences, and those it would if its
 * tier were as strict as the control (a flag under a tier whose limit is laxer, or whose limits were not
 * recorded: flags before they were).
 */
export function judgeControls(decision: ControlledDecision): { evidences: string[]; laxer: string[] } {
  const { action, kind, evidence } = decision;
  const triggers = Array.isArray(evidence.triggers) ? (evidence.triggers as unknown[]).map(String) : [];
  const limits = (evidence.limits ?? {}) as Partial<Record<'idleDays' | 'maxAgeDays', number>>;
  const evidences: string[] = [];
  const laxer: string[] = [];
  for (const rule of CONTROL_RULES) {
    if (rule.kinds && !(kind && rule.kinds.includes(kind)) && !rule.anyKind?.includes(action)) continue;
    if (action !== 'flag') {
      if (rule.actions.includes(action)) evidences.push(rule.control);
      continue;
    }
    if (!rule.flag) continue;
    const { triggers: about, limit } = rule.flag;
    if (about && !about.some((t) => triggers.includes(t))) continue;
    const tierLimit = limit ? limits[limit.field] : undefined;
    if (limit && (tierLimit === undefined || tierLimit > limit.days)) laxer.push(rule.control);
    else evidences.push(rule.control);
  }
  if (evidence.revokedSessions) evidences.push(SESSION_TERMINATION.control);
  return { evidences, laxer };
}

/** The controls a decision evidences (`evidence.controls` on every decision written). */
export function controlsOf(decision: ControlledDecision): string[] {
  return judgeControls(decision).evidences;
}
