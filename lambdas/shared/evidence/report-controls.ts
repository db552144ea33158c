/**
 * What each control in `evidence.controls` asks, in the words of its source, for the report's
 * per-control sections (docs/decision-record.md says why each kind of decision evidences it). A
 * control with no entry here is still counted and listed, as "not described".
 */
export const CONTROL_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'AWS Security Hub IAM.3': "IAM users' access keys should be rotated every 90 days or less.",
  'AWS Security Hub IAM.22': 'IAM user credentials unused for 45 days should be removed.',
  'AWS Security Hub SecretsManager.1': 'Secrets Manager secrets should have automatic rotation enabled.',
  'AWS Security Hub SecretsManager.2':
    'Secrets Manager secrets configured with automatic rotation should rotate successfully.',
  'AWS Security Hub SecretsManager.3': 'Remove unused Secrets Manager secrets.',
  'AWS Security Hub SecretsManager.4':
    'Secrets Manager secrets should be rotated within a specified number of days.',
  'CIS AWS Foundations v3.0.0 1.12': 'Ensure credentials unused for 45 days or more are disabled.',
  'CIS AWS Foundations v3.0.0 1.14': 'Ensure access keys are rotated every 90 days or less.',
  'NIST CSF 2.0 PR.AA-01':
    'Identities and credentials for authorized users, services, and hardware are managed by the organization.',
  'NIST CSF 2.0 PR.AA-05':
    'Access permissions, entitlements, and authorizations are defined in a policy, managed, enforced, and reviewed, and incorporate the principles of least privilege and separation of duties.',
  'NIST SP 800-53 Rev. 5 AC-12':
    'Session termination: automatically terminate a user session after organization-defined conditions or trigger events requiring session disconnect.',
  'NIST CSF 2.0 DE.CM-03':
    'Personnel activity and technology usage are monitored to find potentially adverse events.',
};
