import { describe, expect, it } from 'vitest';
import { controlsOf } from '../../lambdas/shared/domain/controls';
import {
  chainDecision,
  type Decision,
  type DecisionInput,
  GENESIS_HASH,
  verifyChain,
} from '../../lambdas/shared/domain/decision';

const input = (action: DecisionInput['action'], at: string): DecisionInput => ({
  credentialId: '123456789012:role:vendor-monitoring',
  accountId: '123456789012',
  kind: 'role',
  principal: 'vendor-monitoring',
  owner: 'U042',
  action,
  reason: `${action} at ${at}`,
  actor: 'system:scan',
  at,
  mode: 'report',
  policyId: 'sha256:0123456789abcdef',
  evidence: { idleDays: 95, trustedAccounts: ['999988887777'] },
});

function chain(...inputs: DecisionInput[]): Decision[] {
  const decisions: Decision[] = [];
  for (const next of inputs) {
    const last = decisions.at(-1);
    decisions.push(
      chainDecision(next, last ? { seq: last.seq, lastHash: last.hash } : { seq: 0, lastHash: GENESIS_HASH }),
    );
  }
  return decisions;
}

describe('the decision hash chain', () => {
  const decisions = chain(
    input('flag', '2026-11-01T00:00:00.000Z'),
    input('reauthorize', '2026-11-02T00:00:00.000Z'),
    input('flag', '2026-11-03T00:00:00.000Z'),
  );

  it('numbers decisions from 1 and links each to the one before, the first to the genesis hash', () => {
    expect(decisions.map((d) => d.seq)).toEqual([1, 2, 3]);
    expect(decisions[0]?.prevHash).toBe(GENESIS_HASH);
    expect(decisions[2]?.prevHash).toBe(decisions[1]?.hash);
    expect(verifyChain(decisions)).toEqual([]);
  });

  it('hashes the same decision the same way whatever the order of its keys', () => {
    const [first] = decisions;
    const reordered = Object.fromEntries(Object.entries(first ?? {}).reverse()) as unknown as Decision;
    expect(verifyChain([reordered])).toEqual([]);
  });

  it('names the decision whose content was altered, down to its evidence', () => {
    const altered = decisions.map((d) =>
      d.seq === 2 ? { ...d, evidence: { ...d.evidence, idleDays: 1 } } : d,
    );
    expect(verifyChain(altered)).toEqual([
      { seq: 2, at: '2026-11-02T00:00:00.000Z', problem: expect.stringContaining('altered') },
    ]);
  });

  it('shows a removed decision as a gap and a broken link', () => {
    const problems = verifyChain([decisions[0], decisions[2]] as Decision[]);
    expect(problems.map((p) => p.seq)).toEqual([3, 3]);
    expect(problems.map((p) => p.problem).join(' ')).toMatch(/missing.*prevHash/s);
  });
});

describe('the controls a decision evidences', () => {
  it('are carried in every decision, inside the hash', () => {
    const [flag, disable] = chain(
      {
        ...input('flag', '2026-11-01T00:00:00.000Z'),
        evidence: { idleDays: 95, triggers: ['idle'], limits: { idleDays: 45 } },
      },
      input('disable', '2026-11-15T00:00:00.000Z'),
    );
    // A vendor role's: its own controls (third-party access), never IAM users' unused credentials.
    expect(flag?.evidence.controls).toEqual(['NIST CSF 2.0 PR.AA-01', 'ISO/IEC 27001:2022 A.5.19']);
    expect(disable?.evidence.controls).toContain('ISO/IEC 27001:2022 A.5.19');
    expect(disable?.evidence.controls).not.toContain('CIS AWS Foundations v3.0.0 1.12');
    const altered = { ...(disable as Decision), evidence: { ...disable?.evidence, controls: [] } };
    expect(verifyChain([flag as Decision, altered])).toEqual([
      expect.objectContaining({ seq: 2, problem: expect.stringMatching(/altered/) }),
    ]);
  });

  it("show a console password's flag and disable as IAM.22 and CIS 1.12, never as key rotation or a secret's", () => {
    const flag = controlsOf({
      action: 'flag',
      kind: 'password',
      evidence: { triggers: ['idle'], limits: { idleDays: 45 } },
    });
    const disable = controlsOf({ action: 'disable', kind: 'password', evidence: {} });
    for (const controls of [flag, disable]) {
      expect(controls).toEqual(
        expect.arrayContaining(['AWS Security Hub IAM.22', 'CIS AWS Foundations v3.0.0 1.12']),
      );
      expect(controls.filter((c) => /IAM\.3$|SecretsManager|1\.14$/.test(c))).toEqual([]);
    }
    expect(
      controlsOf({
        action: 'flag',
        kind: 'access-key',
        evidence: { triggers: ['max-age'], limits: { idleDays: 90, maxAgeDays: 90 } },
      }),
    ).toContain('AWS Security Hub IAM.3');
  });
});
