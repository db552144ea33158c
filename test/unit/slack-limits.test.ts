import { describe, expect, it } from 'vitest';
import { stillNeededAllModal } from '../../lambdas/shared/slack/answer-all';
import { BLOCK_KIT_LIMITS, checkMessage, checkModal } from '../../lambdas/shared/slack/limits';
import {
  approvalRequestMessage,
  type Block,
  decidedMessage,
  escalationMessage,
  MAX_ITEMS_PER_MESSAGE,
  openRequestsMessage,
  ownerRequestMessage,
  type RequestItem,
  stillNeededModal,
} from '../../lambdas/shared/slack/messages';

const ACCOUNT = '123456789012';
/** Secrets Manager allows names of 512 characters; `&` grows fivefold once escaped for Slack. */
const LONGEST_NAME = `prod/${'&<>x'.repeat(127)}`.slice(0, 512);

function items(count: number, principal = 'svc'): RequestItem[] {
  const kinds = ['access-key', 'secret', 'role'] as const;
  return Array.from({ length: count }, (_, index) => ({
    credentialId: `${ACCOUNT}:secret:arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:s${index}-AbCdEf`,
    kind: kinds[index % 3] ?? 'secret',
    principal: `${principal}-${index}`,
    accountId: ACCOUNT,
    lastUsedAt: null,
    why: `unused for 400 days ${'<why>'.repeat(200)}`,
    deadlineAt: '2026-12-07T09:00:00Z',
    requestSeq: 123_456_789_012_345,
    mode: 'enforce' as const,
  }));
}

/** The outcome blocks of a credential disabled on request, with Restore: the largest answered state. */
function disabled(item: RequestItem): Block[] {
  return decidedMessage({
    item,
    outcome: `*Disable* (on request) ${'<&>'.repeat(600)}`,
    actorUserId: 'U042OWNER',
    at: '2026-11-23T09:00:00Z',
    restorable: { credentialId: item.credentialId, requestSeq: item.requestSeq },
  }).blocks;
}

describe('the limits checker', () => {
  it('refuses a message over 50 blocks as Slack does: invalid_blocks', () => {
    const blocks = Array.from({ length: 51 }, () => ({ type: 'divider' }));

    expect(checkMessage({ text: 'x', blocks })).toMatchObject({
      code: 'invalid_blocks',
      violations: [{ path: 'blocks', rule: 'at most 50 blocks' }],
    });
    expect(checkMessage({ text: 'x', blocks: blocks.slice(1) }).violations).toEqual([]);
  });

  it('refuses too long button texts and values, confirm texts, section texts and duplicate action ids', () => {
    const button = (overrides: object) => ({
      type: 'button',
      action_id: 'a',
      text: { type: 'plain_text', text: 'ok' },
      value: 'v',
      ...overrides,
    });
    const confirm = {
      title: { type: 'plain_text', text: 'Sure?' },
      text: { type: 'mrkdwn', text: 'x'.repeat(301) },
      confirm: { type: 'plain_text', text: 'Yes' },
      deny: { type: 'plain_text', text: 'No' },
    };
    const blocks = [
      { type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } },
      { type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } },
      {
        type: 'actions',
        elements: [
          button({ text: { type: 'plain_text', text: 'x'.repeat(76) } }),
          button({ action_id: 'b', value: 'x'.repeat(2001) }),
          button({ action_id: 'c'.repeat(256), confirm }),
          button({ action_id: 'b' }),
        ],
      },
      { type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'x' })) },
      { type: 'input', label: { type: 'plain_text', text: 'x' }, element: { type: 'plain_text_input' } },
    ];

    expect(checkMessage({ text: 'x', blocks }).violations.map((v) => v.path)).toEqual([
      'blocks[0].text',
      'blocks[1].text',
      'blocks[2].elements[0].text',
      'blocks[2].elements[1].value',
      'blocks[2].elements[2].action_id',
      'blocks[2].elements[2].confirm.text',
      'blocks[2].elements',
      'blocks[3].elements',
      'blocks[4].type',
    ]);
  });

  it('names a message text past 40,000 characters msg_too_long, and blocks that are not objects invalid_blocks_format', () => {
    expect(checkMessage({ text: 'x'.repeat(BLOCK_KIT_LIMITS.messageText + 1) }).code).toBe('msg_too_long');
    expect(checkMessage({ text: 'x', blocks: 'not blocks' }).code).toBe('invalid_blocks_format');
  });

  it('refuses a modal with a long title, too many options or too many blocks', () => {
    const modal = stillNeededModal({
      credentialId: `${ACCOUNT}:access-key:AKIAIOSFODNN7EXAMPLE`,
      requestSeq: 1,
      kind: 'access-key',
      principal: 'svc',
      accountId: ACCOUNT,
      maxDays: 90,
    });
    const select = modal.blocks[2] as Extract<Block, { type: 'input' }>;
    const options = Array.from({ length: 101 }, (_, i) => ({
      text: { type: 'plain_text' as const, text: `${i}` },
      value: `${i}`,
    }));

    expect(checkModal(modal)).toEqual([]);
    expect(checkModal({ ...modal, title: { type: 'plain_text', text: 'x'.repeat(25) } })).toEqual([
      { path: 'view.title', rule: 'at most 24 characters' },
    ]);
    expect(
      checkModal({ ...modal, blocks: [{ ...select, element: { ...select.element, options } }] }),
    ).toEqual([{ path: 'blocks[0].element.options', rule: 'at most 100 options' }]);
    expect(
      checkModal({ ...modal, blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) }),
    ).toEqual([{ path: 'blocks', rule: 'at most 100 blocks' }]);
  });
});

describe('every message builder stays within Slack limits', () => {
  it('a request message, in every state its credentials can be in, with the longest names', () => {
    const shown = items(MAX_ITEMS_PER_MESSAGE, LONGEST_NAME);

    for (let answeredCount = 0; answeredCount <= shown.length; answeredCount++) {
      // Answers in any order: every other one first, then the rest.
      const order = [...shown.filter((_, i) => i % 2 === 0), ...shown.filter((_, i) => i % 2 === 1)];
      const answered = new Map(
        order.slice(0, answeredCount).map((item) => [item.credentialId, disabled(item)]),
      );
      for (const reminder of [false, true]) {
        const message = ownerRequestMessage({ owner: 'U042OWNER', items: shown, answered, reminder });
        expect(checkMessage(message).violations).toEqual([]);
      }
    }
  });

  it('the /reauth list, first, middle and last page', () => {
    for (const [page, pages] of [
      [1, 1],
      [1, 100],
      [50, 100],
      [100, 100],
    ] as const) {
      const message = openRequestsMessage({
        userId: 'U042OWNER',
        items: items(MAX_ITEMS_PER_MESSAGE, LONGEST_NAME),
        page,
        pages,
        total: 2000,
      });
      expect(checkMessage(message).violations).toEqual([]);
    }
    expect(
      checkMessage(openRequestsMessage({ userId: 'U1', items: [], page: 1, pages: 1, total: 0 })).violations,
    ).toEqual([]);
  });

  it('the escalation, the decided outcome, the approval request and the Still needed dialog', () => {
    const [first] = items(1, LONGEST_NAME);
    const item = first as RequestItem;

    expect(
      checkMessage(
        escalationMessage({ items: items(200, LONGEST_NAME), reason: 'drift', detail: '<&>'.repeat(2000) }),
      ).violations,
    ).toEqual([]);
    expect(checkMessage({ text: 'x', blocks: disabled(item) }).violations).toEqual([]);
    expect(
      checkMessage(approvalRequestMessage({ item, proposedBy: 'U1', reason: '<&>'.repeat(500), days: 90 }))
        .violations,
    ).toEqual([]);
    expect(
      checkModal(
        stillNeededModal({
          credentialId: item.credentialId,
          requestSeq: item.requestSeq,
          kind: item.kind,
          principal: LONGEST_NAME,
          accountId: ACCOUNT,
          maxDays: 3650,
          responseUrl: `https://hooks.slack.com/actions/T0/${'1'.repeat(20)}/${'a'.repeat(24)}`,
          channelId: 'D0123456789',
          messageTs: '1700000000.000100',
          listing: true,
        }),
      ),
    ).toEqual([]);
    expect(
      checkModal(
        stillNeededAllModal({
          count: MAX_ITEMS_PER_MESSAGE,
          maxDays: 3650,
          channel: 'D0123456789',
          ts: '1700000000.000100',
          responseUrl: `https://hooks.slack.com/actions/T0/${'1'.repeat(20)}/${'a'.repeat(24)}`,
        }),
      ),
    ).toEqual([]);
  });
});
