import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CredentialStatus,
  chainDecision,
  type DecisionAction,
  GENESIS_HASH,
  statusAfter,
} from '../../lambdas/shared/domain/decision';
import { ChainChecker } from '../../lambdas/shared/evidence/chain-check';
import { csvField, csvLine } from '../../lambdas/shared/evidence/decisions-csv';
import {
  credentialsByStateOverTime,
  writeEvidenceReport,
} from '../../lambdas/shared/evidence/evidence-report';
import { createExportWriter } from '../../lambdas/shared/evidence/export-writer';
import { escapeHtml } from '../../lambdas/shared/evidence/report-html';
import { RowSpill } from '../../lambdas/shared/evidence/row-spill';
import { credentialPk, decisionSk } from '../../lambdas/shared/table-layout';

describe('CSV escaping', () => {
  it('quotes fields with commas, quotes, line breaks or edge spaces and leaves the rest alone', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "yes"')).toBe('"say ""yes"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' padded')).toBe('" padded"');
    expect(csvField(null)).toBe('');
    expect(csvField(7)).toBe('7');
    expect(csvLine(['a', 'b,c', true])).toBe('a,"b,c",true\r\n');
  });
});

describe('HTML escaping', () => {
  it('escapes the five characters that can break out of text or an attribute', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;',
    );
  });
});

describe('the evidence report', () => {
  it('writes one CSV row per decision and a self-contained page with each chart and the approvals', async () => {
    const root = await mkdtemp(join(tmpdir(), 'reauth-report-'));
    const credentialId = '123456789012:access-key:AKIAREPORT';
    const hostile = '<img src=x onerror=alert(1)>, "quoted"';
    const steps = [
      {
        action: 'flag',
        at: '2026-11-01T09:00:00.000Z',
        reason: 'unused for 120 days',
        evidence: {
          triggers: ['idle', 'max-age'],
          limits: { idleDays: 90, maxAgeDays: 90 },
          ownerSource: { source: 'creator', via: 'CreateAccessKey on 2026-03-02' },
        },
      },
      { action: 'notify', at: '2026-11-01T09:05:00.000Z', reason: 'told U042', evidence: {} },
      {
        action: 'reauthorize',
        at: '2026-11-04T10:00:00.000Z',
        reason: hostile,
        evidence: { approver: 'slack:U<b>', until: '2027-02-02T10:00:00.000Z' },
      },
    ] as const;
    let previous = { seq: 0, lastHash: GENESIS_HASH };
    const items = steps.map((step) => {
      const decision = chainDecision(
        {
          credentialId,
          accountId: '123456789012',
          kind: 'access-key',
          principal: 'svc-report',
          owner: 'U042',
          actor: 'system:scan',
          mode: 'report',
          policyId: 'sha256:0123456789abcdef',
          ...step,
          evidence: { ...step.evidence },
        },
        previous,
      );
      previous = { seq: decision.seq, lastHash: decision.hash };
      return { pk: credentialPk(credentialId), sk: decisionSk(decision.at, decision.seq), ...decision };
    });
    const overdue = {
      pk: credentialPk('123456789012:secret:late'),
      sk: 'STATE',
      credentialId: '123456789012:secret:late',
      owner: 'owner<&>',
      status: 'pending',
      deadlineAt: '2026-11-10T00:00:00.000Z',
      seq: 0,
      lastHash: GENESIS_HASH,
      updatedAt: '2026-11-03T00:00:00.000Z',
    };
    const writer = createExportWriter(root);
    await writer.addFile([...items, overdue]);
    await writer.close();
    const out = join(root, 'out');

    const result = await writeEvidenceReport({ kind: 'dir', path: root }, out, {
      asOf: new Date('2026-11-20T00:00:00.000Z'),
    });

    expect(result).toMatchObject({ rows: 3, verdict: { issues: [] } });
    const page = await readFile(join(out, 'report.html'), 'utf8');
    // Requests are counted by where their owner came from.
    expect(page).toMatch(/Requests by owner source<\/h3>.*<td[^>]*>creator<\/td><td[^>]*>1<\/td>/s);
    const csv = (await readFile(join(out, 'decisions.csv'), 'utf8')).split('\r\n');
    expect(csv[0]).toBe(
      'credentialId,accountId,kind,principal,owner,seq,at,action,actor,actorName,actorEmail,reason,mode,policyId,approver,until,triggers,controls,schemaVersion,prevHash,hash,chainOk',
    );
    expect(csv[1]).toContain(',1,2026-11-01T09:00:00.000Z,flag,system:scan,,,unused for 120 days,report,');
    expect(csv[1]).toMatch(
      /,idle;max-age,AWS Security Hub IAM\.3;.*;NIST CSF 2\.0 PR\.AA-01,\d+,0{64},[0-9a-f]{64},true$/,
    );
    expect(csv[3]).toContain(`,"<img src=x onerror=alert(1)>, ""quoted""",report,`);
    expect(csv[3]).toContain(',slack:U<b>,2027-02-02T10:00:00.000Z,');
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('Hash chains intact: all 2 chains, 3 decisions.');
    for (const chart of ['credentials-by-state', 'time-to-reauthorize', 'overdue-by-owner']) {
      expect(html).toMatch(new RegExp(`<svg data-chart="${chart}"[^>]*>.*?<rect`, 's'));
    }
    expect(html).toContain('<title>3: 1 request</title>');
    // Pending from the flag on the 1st, active from the reauthorization on the 4th, every day to the 20th.
    expect(html).toContain('<title>2026-11-03 pending: 1</title>');
    expect(html).toContain('<title>2026-11-04 active: 1</title>');
    expect(html).toContain('<title>2026-11-20 active: 1</title>');
    expect(html).not.toContain('2026-11-04 pending');
    expect(html).toContain('owner&lt;&amp;&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;, &quot;quoted&quot;');
    expect(html).toContain('slack:U&lt;b&gt;');
    expect(html).not.toContain('<img');
    expect(html).not.toMatch(/<script|<link|@import|src="http/);
  });
});

describe('the rows a report keeps on disk until its page is written', () => {
  it('reads each row back whole, in the order asked, whatever its length or characters', () => {
    // Prepare: a row longer than the write buffer, rows with multi-byte characters, many small ones.
    const spill = new RowSpill();
    const rows = [
      '<tr><td>plain</td></tr>',
      `<tr><td>${'x'.repeat(200_000)}</td></tr>`,
      '<tr><td>Zoë Ångström — 東京 🔑</td></tr>',
      ...Array.from({ length: 5000 }, (_, i) => `<tr><td>${i}</td></tr>`),
    ];
    const numbers = rows.map((row) => spill.keep(row));
    const order = [...numbers].reverse();
    order.splice(10, 0, 1, 2, 0);

    // Act
    const read = [...spill.read(order)];
    spill.close();

    // Assess
    expect(read).toEqual(order.map((n) => rows[n]));
  });
});

describe('credentials by state over time', () => {
  /** A checker holding one chain per credential: [action, ISO day, evidence?] each. */
  function checkerOf(chains: Record<string, [DecisionAction, string, Record<string, unknown>?][]>) {
    const checker = new ChainChecker();
    for (const [credentialId, steps] of Object.entries(chains)) {
      let previous = { seq: 0, lastHash: GENESIS_HASH };
      for (const [action, day, evidence] of steps) {
        const decision = chainDecision(
          {
            credentialId,
            accountId: '123456789012',
            kind: 'access-key',
            principal: 'p',
            owner: 'U1',
            action,
            reason: action,
            actor: 'system:scan',
            at: `${day}T12:00:00.000Z`,
            mode: 'enforce',
            policyId: 'sha256:x',
            evidence: evidence ?? {},
          },
          previous,
        );
        previous = { seq: decision.seq, lastHash: decision.hash };
        checker.addDecision(
          { pk: credentialPk(credentialId), sk: decisionSk(decision.at, decision.seq), ...decision },
          'f',
          decision.seq,
        );
      }
    }
    return checker;
  }
  const row = (counts: Partial<Record<CredentialStatus, number>>) => ({
    active: 0,
    pending: 0,
    disabled: 0,
    deleted: 0,
    exempt: 0,
    protected: 0,
    ...counts,
  });

  it('counts each credential once a day in the status its latest decision left it in, every day, gaps included', () => {
    const checker = checkerOf({
      a: [
        ['flag', '2026-11-01'],
        ['notify', '2026-11-01'],
        ['refuse', '2026-11-02'],
        ['disable', '2026-11-04'],
        ['restore', '2026-11-05'],
        ['reauthorize', '2026-11-05'],
      ],
      b: [
        ['observe', '2026-11-02'],
        ['exempt', '2026-11-03', { protectedBy: 'break-glass-*' }],
      ],
      c: [['exempt', '2026-11-03', { approver: 'U9', until: '2027-01-01' }]],
    });
    checker.finish();

    const days = credentialsByStateOverTime(checker, new Date('2026-11-06T08:00:00Z'));

    expect(days.map((d) => d.day)).toEqual([
      '2026-11-01',
      '2026-11-02',
      '2026-11-03',
      '2026-11-04',
      '2026-11-05',
      '2026-11-06',
    ]);
    expect(days.map((d) => d.counts)).toEqual([
      row({ pending: 1 }),
      row({ pending: 1, active: 1 }),
      row({ pending: 1, protected: 1, exempt: 1 }),
      row({ disabled: 1, protected: 1, exempt: 1 }),
      row({ active: 1, protected: 1, exempt: 1 }),
      row({ active: 1, protected: 1, exempt: 1 }),
    ]);
  });

  it('keeps the last maxDays days, and is empty for an export without decisions', () => {
    const checker = checkerOf({ a: [['flag', '2026-01-01']] });
    checker.finish();

    const days = credentialsByStateOverTime(checker, new Date('2026-11-06T00:00:00Z'), 30);

    expect(days).toHaveLength(30);
    expect(days.at(-1)).toEqual({ day: '2026-11-06', counts: row({ pending: 1 }) });
    expect(credentialsByStateOverTime(new ChainChecker(), new Date())).toEqual([]);
  });

  it('reads every action: the ones that change no status leave it unchanged', () => {
    expect(statusAfter({ action: 'refuse', evidence: {} })).toBeUndefined();
    expect(statusAfter({ action: 'observe', evidence: {} })).toBeUndefined();
    expect(statusAfter({ action: 'rotate', evidence: {} })).toBe('active');
    expect(statusAfter({ action: 'delete', evidence: {} })).toBe('deleted');
    expect(statusAfter({ action: 'escalate', evidence: {} })).toBe('pending');
  });
});
