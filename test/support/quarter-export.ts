import { chainDecision, type DecisionAction, GENESIS_HASH } from '../../lambdas/shared/domain/decision';
import { createExportWriter } from '../../lambdas/shared/evidence/export-writer';
import { credentialPk, decisionSk } from '../../lambdas/shared/table-layout';

/**
 * A three-month export as a team of a few hundred credentials makes it: flags spread over every day
 * from 2026-08-01 to 2026-10-31, and each credential answered in one of the ways reauth records
 * (reauthorized, disabled, disabled then deleted, exempted, protected, or left overdue), so the
 * credentials-by-state chart has 92 bars in all six states. Deterministic: the same export each run.
 */
export const QUARTER = {
  credentials: 400,
  days: 92,
  start: Date.UTC(2026, 7, 1),
  exportTime: '2026-11-01T00:00:00.000Z',
} as const;

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const ACCOUNTS = ['111111111111', '222222222222', '333333333333', '444444444444'];

type Step = [DecisionAction, number, Record<string, unknown>];

function stepsOf(index: number, flaggedAt: number): Step[] {
  const owner = `U${String(index % 23).padStart(4, '0')}`;
  const deadline = new Date(flaggedAt + 14 * DAY_MS).toISOString();
  const steps: Step[] = [
    ['flag', flaggedAt, { deadlineAt: deadline, idleDays: 90 + (index % 60), triggers: ['idle'] }],
    ['notify', flaggedAt + HOUR_MS, {}],
  ];
  const answer = flaggedAt + (1 + (index % 20)) * DAY_MS;
  switch (index % 10) {
    case 0:
    case 1:
      steps.push(['disable', answer, { keyId: `AKIA${index}` }]);
      if (index % 20 === 0) steps.push(['delete', answer + 7 * DAY_MS, {}]);
      break;
    case 2:
      steps.push([
        'exempt',
        answer,
        { approver: `slack:${owner}`, until: new Date(answer + 60 * DAY_MS).toISOString() },
      ]);
      break;
    case 3:
      steps.push(['exempt', flaggedAt + 2 * HOUR_MS, { protectedBy: 'arn:aws:iam::*:role/break-glass-*' }]);
      break;
    case 4:
      break; // left pending: overdue once its deadline passes
    default:
      steps.push([
        'reauthorize',
        answer,
        { approver: `slack:${owner}`, until: new Date(answer + 90 * DAY_MS).toISOString(), days: 90 },
      ]);
  }
  return steps;
}

/** Writes the export under `root` and returns its directory's parent (what `--export` takes). */
export async function writeQuarterExport(root: string): Promise<string> {
  const writer = createExportWriter(root, {
    exportId: '01793000000000-quarter0',
    exportTime: QUARTER.exportTime,
  });
  const items: Record<string, unknown>[] = [];
  const end = Date.parse(QUARTER.exportTime);
  for (let index = 0; index < QUARTER.credentials; index += 1) {
    const account = ACCOUNTS[index % ACCOUNTS.length] ?? '111111111111';
    const credentialId = `${account}:access-key:AKIAQTR${String(index).padStart(13, '0')}`;
    const owner = `U${String(index % 23).padStart(4, '0')}`;
    const flaggedAt = QUARTER.start + (index % QUARTER.days) * DAY_MS + 9 * HOUR_MS;
    let previous = { seq: 0, lastHash: GENESIS_HASH };
    for (const [action, at, evidence] of stepsOf(index, flaggedAt)) {
      if (at >= end) break;
      const decision = chainDecision(
        {
          credentialId,
          accountId: account,
          kind: 'access-key',
          principal: `svc-${index}`,
          owner,
          action,
          reason: `${action}: unused for ${90 + (index % 60)} days`,
          actor: action === 'reauthorize' || action === 'exempt' ? `slack:${owner}` : 'system:scan',
          at: new Date(at).toISOString(),
          mode: 'enforce',
          policyId: 'sha256:0123456789abcdef',
          evidence,
        },
        previous,
      );
      previous = { seq: decision.seq, lastHash: decision.hash };
      items.push({ pk: credentialPk(credentialId), sk: decisionSk(decision.at, decision.seq), ...decision });
    }
  }
  await writer.addFile(items);
  await writer.close();
  return root;
}
