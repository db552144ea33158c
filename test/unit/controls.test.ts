import { describe, expect, it } from 'vitest';
import { CONTROL_RULES, controlsOf, judgeControls } from '../../lambdas/shared/domain/controls';

const IAM_3 = 'AWS Security Hub IAM.3';
const IAM_22 = 'AWS Security Hub IAM.22';
const CIS_1_12 = 'CIS AWS Foundations v3.0.0 1.12';
const SM_3 = 'AWS Security Hub SecretsManager.3';
const A_5_19 = 'ISO/IEC 27001:2022 A.5.19';

describe('controls mapped by credential kind, trigger and threshold', () => {
  it("never counts a vendor role's idle flag as access keys rotated, or unused IAM user credentials", () => {
    const role = controlsOf({
      action: 'flag',
      kind: 'role',
      evidence: { triggers: ['idle'], limits: { idleDays: 30 } },
    });
    expect(role).not.toContain(IAM_3);
    expect(role).not.toContain(IAM_22);
    expect(role).toContain(A_5_19);
  });

  it("counts an idle key's flag for IAM.22 and CIS 1.12 only under a tier at least as strict as their 45 days", () => {
    const strict = judgeControls({
      action: 'flag',
      kind: 'access-key',
      evidence: { triggers: ['idle'], limits: { idleDays: 45 } },
    });
    expect(strict.evidences).toEqual(expect.arrayContaining([IAM_22, CIS_1_12]));
    const lax = judgeControls({
      action: 'flag',
      kind: 'access-key',
      evidence: { triggers: ['idle'], limits: { idleDays: 90 } },
    });
    expect(lax.evidences).not.toContain(IAM_22);
    expect(lax.laxer).toEqual([IAM_22, CIS_1_12]);
    // Limits not recorded (flags before they were): not claimed either.
    expect(
      judgeControls({ action: 'flag', kind: 'access-key', evidence: { triggers: ['idle'] } }).laxer,
    ).toContain(IAM_22);
    // An idle flag is no rotation evidence, a max-age flag no unused-credential evidence.
    expect(strict.evidences).not.toContain(IAM_3);
    const old = controlsOf({
      action: 'flag',
      kind: 'access-key',
      evidence: { triggers: ['max-age'], limits: { idleDays: 30, maxAgeDays: 90 } },
    });
    expect(old).toContain(IAM_3);
    expect(old).not.toContain(IAM_22);
  });

  it("maps a secret's disable to SecretsManager.3, never to IAM users' controls", () => {
    const secret = controlsOf({ action: 'disable', kind: 'secret', evidence: {} });
    expect(secret).toContain(SM_3);
    expect(secret).not.toContain(IAM_22);
    expect(controlsOf({ action: 'disable', kind: 'access-key', evidence: {} })).not.toContain(SM_3);
  });

  it.each(['signing-certificate', 'ssh-key', 'service-credential'] as const)(
    "counts a %s's flag and disable only for the controls about every credential (NIST CSF), none of IAM users' keys and passwords",
    (kind) => {
      const flag = controlsOf({
        action: 'flag',
        kind,
        evidence: { triggers: ['max-age'], limits: { maxAgeDays: 30 } },
      });
      const disable = controlsOf({ action: 'disable', kind, evidence: {} });
      expect(flag).toEqual(['NIST CSF 2.0 PR.AA-01']);
      expect(disable).toEqual(['NIST CSF 2.0 PR.AA-05']);
    },
  );

  it('names every control once, with its text and source', () => {
    const names = CONTROL_RULES.map((rule) => rule.control);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of CONTROL_RULES) {
      expect(rule.text.length, rule.control).toBeGreaterThan(20);
      expect(rule.source.length, rule.control).toBeGreaterThan(5);
    }
  });
});
