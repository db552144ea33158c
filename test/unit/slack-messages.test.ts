import { describe, expect, it } from 'vitest';
import { CREDENTIAL_KINDS } from '../../lambdas/shared/domain/credential';
import { checkMessage } from '../../lambdas/shared/slack/limits';
import {
  type ActionsBlock,
  assignedMessage,
  type Block,
  type ButtonElement,
  decidedMessage,
  escalationMessage,
  type InputBlock,
  MAX_BLOCKS_PER_MESSAGE,
  MAX_ITEMS_PER_MESSAGE,
  ownerRequestMessage,
  parseStillNeededSubmission,
  type RequestItem,
  type SectionBlock,
  stillNeededModal,
} from '../../lambdas/shared/slack/messages';
import {
  decodeActionValue,
  parseSlackRequest,
  type SlackRequest,
  SlackRequestError,
} from '../../lambdas/shared/slack/request';

const ACCOUNT = '123456789012';

function item(overrides: Partial<RequestItem> = {}): RequestItem {
  return {
    credentialId: `${ACCOUNT}:access-key:AKIAIOSFODNN7EXAMPLE`,
    kind: 'access-key',
    principal: 'svc-etl',
    accountId: ACCOUNT,
    lastUsedAt: '2026-06-01T12:00:00Z',
    why: 'idle for 175 days',
    deadlineAt: '2026-12-07T09:00:00Z',
    requestSeq: 1,
    mode: 'enforce',
    ...overrides,
  };
}

function numbered(count: number): RequestItem[] {
  return Array.from({ length: count }, (_, index) =>
    item({
      credentialId: `${ACCOUNT}:access-key:AKIA${String(index).padStart(16, '0')}`,
      principal: `svc-${index}`,
    }),
  );
}

/** The per-credential button blocks (not the one for all of the message), their buttons only. */
const actionsOf = (blocks: Block[]) =>
  blocks
    .filter(
      (block): block is ActionsBlock =>
        block.type === 'actions' && block.elements[0]?.action_id !== 'reauth:still-needed-all',
    )
    .map((block) => ({ ...block, elements: block.elements.filter(isButton) }));
const isButton = (element: ActionsBlock['elements'][number]): element is ButtonElement =>
  element.type === 'button';
const sectionsOf = (blocks: Block[]) =>
  blocks.filter((block): block is SectionBlock => block.type === 'section');
const allText = (blocks: Block[]) => JSON.stringify(blocks);

describe('ownerRequestMessage', () => {
  it('lists every credential with buttons that carry its id and request seq', () => {
    const items = [
      item(),
      item({
        credentialId: `${ACCOUNT}:secret:arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:prod/db-AbCdEf`,
        kind: 'secret',
        principal: 'prod/db',
        lastUsedAt: null,
        requestSeq: 4,
      }),
      item({
        credentialId: `${ACCOUNT}:role:vendor-readonly`,
        kind: 'role',
        principal: 'vendor-readonly',
        requestSeq: 2,
      }),
    ];

    const message = ownerRequestMessage({ owner: 'U042OWNER', items });

    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: expect.objectContaining({ text: expect.any(String) }),
    });
    const actions = actionsOf(message.blocks);
    expect(actions).toHaveLength(3);
    actions.forEach((block, index) => {
      const expected = items[index] as RequestItem;
      for (const button of block.elements) {
        expect(decodeActionValue(button.value)).toEqual({
          credentialId: expected.credentialId,
          requestSeq: expected.requestSeq,
        });
      }
    });
    // A secret has no user or role to narrow: no *Still needed, only what it uses*.
    expect(actions.map((block) => block.elements.map((button) => button.action_id))).toEqual([
      ['reauth:still-needed', 'reauth:right-size', 'reauth:rotate', 'reauth:disable'],
      ['reauth:still-needed', 'reauth:rotate', 'reauth:disable'],
      ['reauth:still-needed', 'reauth:right-size', 'reauth:disable'],
    ]);
    const [stillNeeded, , , disable] = actions[0]?.elements ?? [];
    expect(stillNeeded?.style).toBe('primary');
    expect(disable).toMatchObject({
      style: 'danger',
      text: { text: 'Disable now' },
      confirm: expect.any(Object),
    });
    expect(message.blocks.length).toBeLessThanOrEqual(MAX_BLOCKS_PER_MESSAGE);
  });

  it('says why the owner is the one asked: where reauth found them, names escaped, an assigner mentioned', () => {
    const message = ownerRequestMessage({
      owner: 'U042OWNER',
      items: [
        item({ ownerSource: { source: 'group', via: 'deploy<ers>' } }),
        item({
          principal: 'svc-b',
          ownerSource: { source: 'creator', via: 'CreateAccessKey on 2026-03-02' },
        }),
        item({ principal: 'svc-c', ownerSource: { source: 'assigned', via: 'slack:U0SEC' } }),
        item({ principal: 'svc-d' }),
      ],
    });
    const text = sectionsOf(message.blocks)
      .map((section) => section.text?.text ?? '')
      .join('\n');
    expect(text).toContain('Why you: its user is in the IAM group `deploy&lt;ers&gt;`, which you own');
    expect(text).toContain('Why you: you created it (CreateAccessKey on 2026-03-02)');
    expect(text).toContain('Why you: assigned to you by <@U0SEC>');
    // A request recorded before owners had sources says nothing of it.
    expect(text.match(/Why you:/g)).toHaveLength(3);
  });

  it("says what a credential's user or role uses, in one line, where its usage was read", () => {
    const message = ownerRequestMessage({
      owner: 'U042OWNER',
      items: [
        item({ usage: 'uses 3 of 41 services granted in the last 90 days: s3, sqs, kms' }),
        item({ principal: 'svc-b' }),
      ],
    });
    const text = sectionsOf(message.blocks)
      .map((section) => section.text?.text ?? '')
      .join('\n');
    expect(text).toContain('Access: uses 3 of 41 services granted in the last 90 days: s3, sqs, kms');
    expect(text.match(/Access:/g)).toHaveLength(1);
  });

  it('describes each credential: kind, principal, account, last use or never, why and deadline date', () => {
    const message = ownerRequestMessage({
      owner: 'U042OWNER',
      items: [item(), item({ lastUsedAt: null, kind: 'role' })],
    });

    const [, first, second] = sectionsOf(message.blocks).map((section) => section.text.text);
    expect(first).toContain('Access key');
    expect(first).toContain('svc-etl');
    expect(first).toContain(ACCOUNT);
    expect(first).toContain('Last used: 2026-06-01');
    expect(first).toContain('idle for 175 days');
    expect(first).toContain('2026-12-07');
    expect(second).toContain('Last used: never');
    expect(message.text).toContain('svc-etl');
    expect(message.text).not.toContain('*');
  });

  it('mentions the owner and marks a reminder', () => {
    const message = ownerRequestMessage({ owner: 'U042OWNER', items: [item()], reminder: true });

    expect(allText(message.blocks)).toContain('<@U042OWNER>');
    expect(message.text).toMatch(/^Reminder/);
  });

  it('escapes names and reasons so they cannot mention, link or format as Slack markup', () => {
    const message = ownerRequestMessage({
      owner: 'ops <!channel>',
      items: [item({ principal: '<!here> & <https://evil.example|click>', why: 'idle > 90 days <@U999>' })],
    });

    const text = allText(message.blocks) + message.text;
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://evil');
    expect(text).not.toContain('<@U999>');
    expect(text).toContain('&lt;!here&gt; &amp; &lt;https://evil.example|click&gt;');
    expect(text).toContain('idle &gt; 90 days &lt;@U999&gt;');
  });

  it('shows at most MAX_ITEMS_PER_MESSAGE credentials, each with its buttons (callers split the rest)', () => {
    const message = ownerRequestMessage({ owner: 'U042OWNER', items: numbered(MAX_ITEMS_PER_MESSAGE) });

    expect(actionsOf(message.blocks)).toHaveLength(MAX_ITEMS_PER_MESSAGE);
    expect(message.blocks.length).toBeLessThanOrEqual(MAX_BLOCKS_PER_MESSAGE);
    expect(() =>
      ownerRequestMessage({ owner: 'U042OWNER', items: numbered(MAX_ITEMS_PER_MESSAGE + 1) }),
    ).toThrow(RangeError);
  });

  it('shows an answered credential in its place, without its buttons', () => {
    const items = numbered(3);
    const outcome = decidedMessage({
      item: items[1] as RequestItem,
      outcome: '*Disable* (on request)',
      actorUserId: 'U042OWNER',
      at: '2026-11-23T09:00:00Z',
      restorable: { credentialId: items[1]?.credentialId ?? '', requestSeq: 2 },
    }).blocks;

    const message = ownerRequestMessage({
      owner: 'U042OWNER',
      items,
      answered: new Map([[items[1]?.credentialId ?? '', outcome]]),
    });

    const actions = actionsOf(message.blocks);
    expect(actions.map((block) => block.elements[0]?.action_id)).toEqual([
      'reauth:still-needed',
      'reauth:restore',
      'reauth:still-needed',
    ]);
    expect(message.text).toContain('2 credentials need');
    expect(JSON.stringify(message.blocks)).toContain('Still needed: all 2 open here');
  });

  it('keeps a very long principal within section limits', () => {
    const message = ownerRequestMessage({
      owner: 'U042OWNER',
      items: [item({ principal: 'x'.repeat(5000) })],
    });

    for (const section of sectionsOf(message.blocks)) {
      expect(section.text.text.length).toBeLessThanOrEqual(3000);
    }
  });
});

describe('Assign owner, on an orphaned credential', () => {
  const pickerOf = (blocks: Block[]) =>
    blocks.flatMap((block) =>
      block.type === 'actions'
        ? block.elements.filter((e) => e.type === 'users_select').map((picker) => ({ block, picker }))
        : [],
    );

  it('offers a user picker beside the buttons, its block carrying the credential and its request', () => {
    const orphan = item({ assignable: true, requestSeq: 7 });
    const message = ownerRequestMessage({
      owner: '#security',
      items: [orphan, item({ credentialId: `${ACCOUNT}:role:vendor` })],
    });

    const pickers = pickerOf(message.blocks);
    expect(pickers).toHaveLength(1);
    expect(pickers[0]?.picker).toEqual({
      type: 'users_select',
      action_id: 'reauth:assign-owner',
      placeholder: { type: 'plain_text', text: 'Assign owner', emoji: true },
    });
    expect(decodeActionValue(pickers[0]?.block.block_id ?? '')).toEqual({
      credentialId: orphan.credentialId,
      requestSeq: 7,
    });
    expect(checkMessage(message).violations).toEqual([]);
  });

  it('offers no picker where the credential id does not fit in a block id', () => {
    const name = `prod/${'n'.repeat(200)}`;
    const longSecret = item({
      kind: 'secret',
      principal: name,
      credentialId: `${ACCOUNT}:secret:arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${name}-AbCdEf`,
      assignable: true,
    });
    const message = ownerRequestMessage({ owner: '#security', items: [longSecret] });

    expect(pickerOf(message.blocks)).toEqual([]);
    expect(checkMessage(message).violations).toEqual([]);
  });

  it('says who was assigned, by whom, once assigned', () => {
    const message = assignedMessage({
      item: item(),
      owner: 'U0DANA',
      byUserId: 'U0SEC',
      at: '2026-12-06T11:00:00Z',
    });

    expect(message.text).toContain('Assigned to <@U0DANA> by <@U0SEC>');
    expect(allText(message.blocks)).toContain('Assigned to <@U0DANA> by <@U0SEC> · 2026-12-06');
  });
});

describe('what an owner is told about the deadline and the choices', () => {
  const secret = item({
    credentialId: `${ACCOUNT}:secret:arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:prod/db-AbCdEf`,
    kind: 'secret',
    principal: 'prod/db',
    requestSeq: 4,
  });
  const buttonIds = (message: { blocks: Block[] }) =>
    actionsOf(message.blocks).map((block) => block.elements.map((button) => button.action_id));
  const intro = (message: { blocks: Block[] }) => sectionsOf(message.blocks)[0]?.text.text ?? '';

  it('in enforce mode, says the deadline disables the credential, with its date', () => {
    const message = ownerRequestMessage({ owner: 'U042OWNER', items: [item()] });

    expect(intro(message)).toContain('Unanswered ones are disabled at their deadline.');
    expect(intro(message)).not.toContain('escalated');
    expect(sectionsOf(message.blocks)[1]?.text.text).toContain(
      'Answer by 2026-12-07: unanswered, reauth *disables* it that day',
    );
  });

  it('in report mode, says the deadline escalates to security, and offers only Still needed (only what it uses, for a user or role)', () => {
    const message = ownerRequestMessage({
      owner: 'U042OWNER',
      items: [item({ mode: 'report' }), { ...secret, mode: 'report' }],
      reminder: true,
    });

    expect(intro(message)).toContain('escalated to security at their deadline');
    expect(intro(message)).toContain('disable or delete it in AWS yourself');
    expect(intro(message)).not.toMatch(/Rotate|Disable now/);
    expect(sectionsOf(message.blocks)[1]?.text.text).toContain(
      'Answer by 2026-12-07: unanswered, it is *escalated to security* that day',
    );
    expect(buttonIds(message)).toEqual([
      ['reauth:still-needed', 'reauth:right-size'],
      ['reauth:still-needed'],
    ]);
  });

  it("tells each credential its own account's mode when a message mixes them", () => {
    const message = ownerRequestMessage({
      owner: 'U042OWNER',
      items: [item(), { ...secret, accountId: '210987654321', mode: 'report' }],
    });

    expect(intro(message)).toContain('Each says what happens at its deadline.');
    const [, enforced, reported] = sectionsOf(message.blocks).map((section) => section.text.text);
    expect(enforced).toContain('reauth *disables* it');
    expect(reported).toContain('*escalated to security*');
    expect(buttonIds(message)).toEqual([
      ['reauth:still-needed', 'reauth:right-size', 'reauth:rotate', 'reauth:disable'],
      ['reauth:still-needed'],
    ]);
  });

  it('offers Rotate for a key only when its user is marked rotatable (or it is not known)', () => {
    const message = ownerRequestMessage({
      owner: 'U042OWNER',
      items: [
        item({ rotatable: false }),
        item({ credentialId: `${ACCOUNT}:access-key:AKIA2222222222222222`, rotatable: true }),
      ],
    });

    expect(buttonIds(message)).toEqual([
      ['reauth:still-needed', 'reauth:right-size', 'reauth:disable'],
      ['reauth:still-needed', 'reauth:right-size', 'reauth:rotate', 'reauth:disable'],
    ]);
  });

  it('names the key, not only its user, in the Disable now confirm and the notification text', () => {
    const other = item({ credentialId: `${ACCOUNT}:access-key:AKIA2222222222222222` });
    const message = ownerRequestMessage({ owner: 'U042OWNER', items: [item(), other] });

    const confirms = actionsOf(message.blocks).map(
      (block) => block.elements.find((button) => button.action_id === 'reauth:disable')?.confirm?.text.text,
    );
    expect(confirms).toEqual([
      `The access key AKIAIOSFODNN7EXAMPLE of user svc-etl in account ${ACCOUNT} stops working now. It can be restored afterwards.`,
      `The access key AKIA2222222222222222 of user svc-etl in account ${ACCOUNT} stops working now. It can be restored afterwards.`,
    ]);
    expect(message.text).toContain('access key AKIAIOSFODNN7EXAMPLE of user svc-etl');
    expect(message.text).toContain('access key AKIA2222222222222222 of user svc-etl');
  });

  it('shows a secret by its name and region, without repeating its ARN', () => {
    const message = ownerRequestMessage({ owner: 'U042OWNER', items: [secret] });

    const section = sectionsOf(message.blocks)[1]?.text.text ?? '';
    expect(section).toContain('*Secret* `prod/db`');
    expect(section).toContain(`Account: ${ACCOUNT} · Region: eu-west-1`);
    // Only the buttons' values carry it, which the owner does not see.
    expect(
      sectionsOf(message.blocks)
        .map((b) => b.text.text)
        .join('\n') + message.text,
    ).not.toContain('arn:aws:secretsmanager');
    const confirm = actionsOf(message.blocks)[0]?.elements.find(
      (b) => b.action_id === 'reauth:disable',
    )?.confirm;
    expect(confirm?.text.text).toContain(`secret prod/db (eu-west-1) in account ${ACCOUNT}`);
  });

  it('names the exact key in the Still needed dialog', () => {
    const view = stillNeededModal({
      credentialId: `${ACCOUNT}:access-key:AKIA2222222222222222`,
      requestSeq: 3,
      kind: 'access-key',
      principal: 'ci-deployer',
      accountId: ACCOUNT,
      maxDays: 90,
    });

    expect(sectionsOf(view.blocks)[0]?.text.text).toBe(
      `Keep the access key AKIA2222222222222222 of user ci-deployer in account ${ACCOUNT} working. What still uses it?`,
    );
  });

  it('names a role and its account in the Still needed dialog', () => {
    const view = stillNeededModal({
      credentialId: `${ACCOUNT}:role:vendor-readonly`,
      requestSeq: 3,
      kind: 'role',
      principal: 'vendor-readonly',
      accountId: ACCOUNT,
      maxDays: 90,
    });

    expect(sectionsOf(view.blocks)[0]?.text.text).toContain(`role vendor-readonly in account ${ACCOUNT}`);
  });
});

describe('escalationMessage', () => {
  it('tells the security channel why, escaped, with no buttons and within 50 blocks', () => {
    const message = escalationMessage({
      items: numbered(80),
      reason: 'deadline-passed',
      detail: 'owners <@U1> did not answer',
    });

    expect(actionsOf(message.blocks)).toHaveLength(0);
    expect(message.blocks.length).toBeLessThanOrEqual(MAX_BLOCKS_PER_MESSAGE);
    expect(allText(message.blocks)).toContain('owners &lt;@U1&gt; did not answer');
    expect(allText(message.blocks)).toContain('svc-0');
    expect(allText(message.blocks)).toMatch(/and \d+ more/);
    expect(message.text).toContain('80 credentials');
  });

  it('names each reason differently', () => {
    const titles = (['orphaned', 'deadline-passed', 'budget-exceeded'] as const).map(
      (reason) => escalationMessage({ items: [item()], reason }).text,
    );

    expect(new Set(titles).size).toBe(3);
  });
});

describe('decidedMessage', () => {
  it('says who decided what, with a Restore button when the change can be undone', () => {
    const credentialId = `${ACCOUNT}:access-key:AKIAIOSFODNN7EXAMPLE`;

    const message = decidedMessage({
      item: { credentialId, kind: 'access-key', principal: 'svc-etl', accountId: ACCOUNT },
      outcome: 'Disable now',
      actorUserId: 'U042OWNER',
      at: '2026-11-23T09:00:00Z',
      restorable: { credentialId, requestSeq: 5 },
    });

    expect(message.text).toContain('<@U042OWNER> said Disable now');
    // Which of the user's keys: a user may have a busy one and an idle one.
    expect(message.text).toContain('*Access key* `AKIAIOSFODNN7EXAMPLE` of user `svc-etl`');
    const [restore] = actionsOf(message.blocks).flatMap((block) => block.elements);
    expect(restore?.action_id).toBe('reauth:restore');
    expect(decodeActionValue(restore?.value ?? '')).toEqual({ credentialId, requestSeq: 5 });
  });

  it('has no buttons when nothing is to be restored, and escapes the outcome', () => {
    const message = decidedMessage({
      item: { credentialId: `${ACCOUNT}:role:vendor`, kind: 'role', principal: 'vendor', accountId: ACCOUNT },
      outcome: 'Still needed until 2027-01-01: <!channel> uses it',
      actorUserId: 'U042OWNER',
      at: '2026-11-23T09:00:00Z',
    });

    expect(actionsOf(message.blocks)).toHaveLength(0);
    expect(allText(message.blocks)).toContain('Still needed until 2027-01-01: &lt;!channel&gt; uses it');
  });
});

describe('stillNeededModal', () => {
  const base = {
    credentialId: `${ACCOUNT}:access-key:AKIAIOSFODNN7EXAMPLE`,
    requestSeq: 2,
    kind: 'access-key' as const,
    principal: 'svc-etl',
    accountId: ACCOUNT,
    responseUrl: 'https://hooks.slack.com/actions/T0/1/abc',
    channelId: 'D042',
    messageTs: '1700000000.000100',
  };
  const durationOptions = (view: ReturnType<typeof stillNeededModal>) => {
    const days = view.blocks.find(
      (block): block is InputBlock => block.type === 'input' && block.block_id === 'days',
    );
    return days?.element.type === 'static_select' ? days.element.options.map((option) => option.value) : [];
  };

  it('offers durations up to the policy maximum, the maximum included', () => {
    expect(durationOptions(stillNeededModal({ ...base, maxDays: 90 }))).toEqual(['7', '30', '60', '90']);
    expect(durationOptions(stillNeededModal({ ...base, maxDays: 45 }))).toEqual(['7', '30', '45']);
    expect(durationOptions(stillNeededModal({ ...base, maxDays: 365 }))).toEqual([
      '7',
      '30',
      '60',
      '90',
      '180',
      '365',
    ]);
    expect(durationOptions(stillNeededModal({ ...base, maxDays: 3 }))).toEqual(['3']);
  });

  it('is a modal that remembers which request it answers', () => {
    const view = stillNeededModal({ ...base, maxDays: 90 });

    expect(view).toMatchObject({ type: 'modal', callback_id: 'reauth:still-needed' });
    expect(JSON.parse(view.private_metadata)).toEqual({
      credentialId: base.credentialId,
      requestSeq: 2,
      responseUrl: base.responseUrl,
      channelId: 'D042',
      messageTs: '1700000000.000100',
    });
    const reason = view.blocks.find(
      (block): block is InputBlock => block.type === 'input' && block.block_id === 'reason',
    );
    expect(reason?.element).toMatchObject({
      type: 'plain_text_input',
      action_id: 'reason',
      multiline: true,
      min_length: 10,
    });
  });
});

describe('parseStillNeededSubmission', () => {
  /** A submission of the modal, round-tripped through Slack's wire format and the request parser. */
  function submit(reason: string | null, days: string | null, privateMetadata?: string) {
    const view = stillNeededModal({
      credentialId: `${ACCOUNT}:access-key:AKIAIOSFODNN7EXAMPLE`,
      requestSeq: 2,
      kind: 'access-key',
      principal: 'svc-etl',
      accountId: ACCOUNT,
      maxDays: 90,
      channelId: 'D042',
      messageTs: '1700000000.000100',
    });
    const payload = {
      type: 'view_submission',
      user: { id: 'U042OWNER' },
      view: {
        callback_id: view.callback_id,
        private_metadata: privateMetadata ?? view.private_metadata,
        state: {
          values: {
            reason: { reason: { type: 'plain_text_input', value: reason } },
            days: {
              days: { type: 'static_select', selected_option: days === null ? null : { value: days } },
            },
          },
        },
      },
    };
    const request = parseSlackRequest(
      new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
      'application/x-www-form-urlencoded',
    ) as Extract<SlackRequest, { type: 'view_submission' }>;
    return () => parseStillNeededSubmission(request);
  }

  it('reads the reason, the duration and the request it answers', () => {
    expect(submit('  Nightly ETL uploads with it.  ', '30')()).toEqual({
      credentialId: `${ACCOUNT}:access-key:AKIAIOSFODNN7EXAMPLE`,
      requestSeq: 2,
      reason: 'Nightly ETL uploads with it.',
      days: 30,
      channelId: 'D042',
      messageTs: '1700000000.000100',
    });
  });

  it.each([
    ['a reason under 10 characters', 'too short', '30', undefined],
    ['a reason of spaces', '            ', '30', undefined],
    ['no reason', null, '30', undefined],
    ['no duration', 'Nightly ETL uploads with it.', null, undefined],
    ['a duration that is not a number', 'Nightly ETL uploads with it.', 'forever', undefined],
    ['a zero duration', 'Nightly ETL uploads with it.', '0', undefined],
    ['metadata that is not JSON', 'Nightly ETL uploads with it.', '30', '{'],
    [
      'metadata without a seq',
      'Nightly ETL uploads with it.',
      '30',
      JSON.stringify({ credentialId: `${ACCOUNT}:role:x` }),
    ],
    [
      'metadata with a bad credential',
      'Nightly ETL uploads with it.',
      '30',
      JSON.stringify({ credentialId: 'x', requestSeq: 1 }),
    ],
  ])('refuses %s', (_name, reason, days, metadata) => {
    expect(submit(reason, days, metadata)).toThrow(SlackRequestError);
  });

  it('refuses a submission of another dialog', () => {
    const request = {
      type: 'view_submission',
      userId: 'U1',
      callbackId: 'other',
      privateMetadata: '{}',
      values: {},
    } as const;
    expect(() => parseStillNeededSubmission(request)).toThrow(SlackRequestError);
  });
});

describe('each credential, as its owner recognises it', () => {
  const describedAs = (one: RequestItem) =>
    sectionsOf(ownerRequestMessage({ owner: 'U042OWNER', items: [one] }).blocks)[1]?.text.text ?? '';
  const confirmOf = (one: RequestItem) =>
    actionsOf(ownerRequestMessage({ owner: 'U042OWNER', items: [one] }).blocks)[0]?.elements.find(
      (button) => button.action_id === 'reauth:disable',
    )?.confirm?.text.text ?? '';

  it("names an access key by its id and user, with its creation and the credential report's last service and region", () => {
    const text = describedAs(
      item({
        identification: {
          createdAt: '2025-09-01T08:00:00Z',
          lastUsedService: 's3',
          lastUsedRegion: 'eu-west-1',
        },
      }),
    );

    expect(text).toContain('*Access key* `AKIAIOSFODNN7EXAMPLE` of user `svc-etl`');
    expect(text).toContain('Created: 2025-09-01 · Last used: 2026-06-01 (s3, eu-west-1)');
  });

  it('says where only for a key that was used, and leaves out what a request recorded before it did not carry', () => {
    const never = describedAs(
      item({ lastUsedAt: null, identification: { createdAt: '2026-11-01T00:00:00Z' } }),
    );
    const older = describedAs(item());

    expect(never).toContain('Created: 2026-11-01 · Last used: never\n');
    expect(older).toContain('\nLast used: 2026-06-01\n');
    expect(older).not.toContain('Created');
  });

  it('shortens a 512-character secret name inside every limit, keeps both of its ends and gives the full name once', () => {
    const name = `prod/${'p'.repeat(512 - 'prod/stripe-key'.length)}stripe-key`;
    expect(name).toHaveLength(512);
    const arn = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${name}-AbCdEf`;
    const secret = item({
      credentialId: `${ACCOUNT}:secret:${arn}`,
      kind: 'secret',
      principal: name,
      lastUsedAt: '2026-10-02T00:00:00Z',
      why: 'x'.repeat(1000),
      identification: { createdAt: '2025-01-01T00:00:00Z' },
    });

    const message = ownerRequestMessage({ owner: 'U042OWNER', items: [secret] });
    const text = describedAs(secret);

    expect(text).toContain(`Full name: \`${name}\``);
    expect(text).not.toContain(arn);
    expect(text).toContain('Last accessed: 2026-10-02');
    const shownName = /^\*Secret\* `([^`]+)`/.exec(text)?.[1] ?? '';
    expect(shownName.length).toBeLessThanOrEqual(150);
    expect(shownName).toMatch(/^prod\/.*….*stripe-key$/s);
    expect(confirmOf(secret).length).toBeLessThanOrEqual(300);
    expect(confirmOf(secret)).toContain('stripe-key (eu-west-1) in account 123456789012 stops working now');
    for (const section of sectionsOf(message.blocks))
      expect(section.text.text.length).toBeLessThanOrEqual(3000);
    expect(message.text.length).toBeLessThanOrEqual(3000);
  });

  it('keeps the Disable now confirmation within 300 characters for the longest name of every kind', () => {
    for (const kind of CREDENTIAL_KINDS) {
      expect(confirmOf(item({ kind, principal: 'n'.repeat(512) })).length).toBeLessThanOrEqual(300);
    }
  });

  it('names a console password as its own kind, by its user, when it was set and its last sign-in, without Rotate', () => {
    const password = item({
      credentialId: `${ACCOUNT}:password:alice`,
      kind: 'password',
      principal: 'alice',
      lastUsedAt: '2026-09-01T08:00:00Z',
      identification: { createdAt: '2025-02-03T00:00:00Z' },
    });
    const text = describedAs(password);

    expect(text).toContain('*Console password* of user `alice`');
    expect(text).toContain('Set: 2025-02-03 · Last sign-in: 2026-09-01');
    expect(confirmOf(password)).toContain(
      'console password of user alice in account 123456789012 stops working now',
    );
    const buttons = actionsOf(ownerRequestMessage({ owner: 'U042OWNER', items: [password] }).blocks)[0]
      ?.elements;
    expect(buttons?.map((button) => button.action_id)).toEqual([
      'reauth:still-needed',
      'reauth:right-size',
      'reauth:disable',
    ]);
  });

  it.each([
    ['signing-certificate', 'Signing certificate', 'signing certificate'],
    ['ssh-key', 'SSH public key', 'SSH public key'],
    ['service-credential', 'Service-specific credential', 'service-specific credential'],
  ] as const)(
    'names a %s as its own kind, by its id and user, its creation and that IAM records no last use, without Rotate',
    (kind, label, words) => {
      const credential = item({
        credentialId: `${ACCOUNT}:${kind}:APKA3EXAMPLE7`,
        kind,
        principal: 'alice',
        lastUsedAt: null,
        identification: {
          createdAt: '2025-02-03T00:00:00Z',
          ...(kind === 'service-credential' && { serviceName: 'codecommit.amazonaws.com' }),
        },
      });
      const text = describedAs(credential);

      expect(text).toContain(`*${label}* \`APKA3EXAMPLE7\` of user \`alice\``);
      expect(text).toContain('Created: 2025-02-03');
      expect(text).toContain('Last used: not recorded by IAM (judged by its age)');
      expect(text).not.toContain('never');
      if (kind === 'service-credential') expect(text).toContain('For: codecommit.amazonaws.com');
      expect(confirmOf(credential)).toContain(
        `${words} APKA3EXAMPLE7 of user alice in account 123456789012 stops working now`,
      );
      const buttons = actionsOf(ownerRequestMessage({ owner: 'U042OWNER', items: [credential] }).blocks)[0]
        ?.elements;
      expect(buttons?.map((button) => button.action_id)).toEqual(['reauth:still-needed', 'reauth:disable']);
    },
  );

  it('names the accounts a third-party role trusts, the vendor where the policy knows it, and whether an ExternalId is required', () => {
    const role = (identification: RequestItem['identification']) =>
      describedAs(
        item({
          credentialId: `${ACCOUNT}:role:vendor-monitoring`,
          kind: 'role',
          principal: 'vendor-monitoring',
          identification,
        }),
      );

    const named = role({
      createdAt: '2025-01-01T00:00:00Z',
      lastUsedRegion: 'eu-central-1',
      trustedAccounts: ['111122223333', '999988887777'],
      vendors: { '999988887777': 'Acme <Monitoring>' },
      requiresExternalId: true,
    });
    const open = role({
      createdAt: '2025-01-01T00:00:00Z',
      trustedAccounts: ['*'],
      requiresExternalId: false,
    });

    expect(named).toContain('*Third-party role* `vendor-monitoring`');
    expect(named).toContain(
      'Trusts: 111122223333, 999988887777 (Acme &lt;Monitoring&gt;); ExternalId required',
    );
    expect(named).toContain('Last used: 2026-06-01 (eu-central-1)');
    expect(open).toContain('Trusts: any AWS account (*); no ExternalId required');
  });

  it('identifies each credential in an escalation to the security channel too', () => {
    const text = allText(
      escalationMessage({
        items: [item({ identification: { createdAt: '2025-09-01T00:00:00Z', lastUsedService: 'sts' } })],
        reason: 'orphaned',
      }).blocks,
    );

    expect(text).toContain('`AKIAIOSFODNN7EXAMPLE` of user `svc-etl`');
    expect(text).toContain('(sts)');
  });
});
