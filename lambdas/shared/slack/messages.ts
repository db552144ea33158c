import * as z from 'zod';
import {
  CREDENTIAL_ID_PATTERN,
  type CredentialKind,
  isStatusCredential,
  parseCredentialId,
} from '../domain/credential';
import {
  describeTrust,
  type Identification,
  STATUS_CREDENTIAL_NAMES,
  shortName,
  usedWhere,
} from '../domain/identification';
import { describeOwnerOrigin, type OriginFormat, type OwnerOrigin } from '../domain/owners';
import { RIGHT_SIZE_KINDS } from '../domain/right-size';
import { BLOCK_KIT_LIMITS } from './limits';
import {
  ASSIGN_OWNER_ACTION_ID,
  encodeActionValue,
  PAGE_ACTION_IDS,
  type SlackRequest,
  SlackRequestError,
  STILL_NEEDED_ALL_ACTION_ID,
} from './request';

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
export interface Mrkdwn {
  type: 'mrkdwn';
  text: string;
}
export type TextObject = PlainText | Mrkdwn;

export interface ConfirmDialog {
  title: PlainText;
  text: TextObject;
  confirm: PlainText;
  deny: PlainText;
  style?: 'primary' | 'danger';
}
export interface ButtonElement {
  type: 'button';
  action_id: string;
  text: PlainText;
  value: string;
  style?: 'primary' | 'danger';
  confirm?: ConfirmDialog;
}
/** A picker of one workspace member; Slack sends the choice as the action's `selected_user`. */
export interface UsersSelectElement {
  type: 'users_select';
  action_id: string;
  placeholder?: PlainText;
}
export interface SelectOption {
  text: PlainText;
  value: string;
}
export interface PlainTextInputElement {
  type: 'plain_text_input';
  action_id: string;
  multiline?: boolean;
  min_length?: number;
  max_length?: number;
  placeholder?: PlainText;
}
export interface StaticSelectElement {
  type: 'static_select';
  action_id: string;
  options: SelectOption[];
  initial_option?: SelectOption;
  placeholder?: PlainText;
}

export interface HeaderBlock {
  type: 'header';
  text: PlainText;
}
export interface SectionBlock {
  type: 'section';
  text: TextObject;
}
export interface ActionsBlock {
  type: 'actions';
  block_id?: string;
  elements: (ButtonElement | UsersSelectElement)[];
}
export interface ContextBlock {
  type: 'context';
  elements: TextObject[];
}
export interface DividerBlock {
  type: 'divider';
}
export interface InputBlock {
  type: 'input';
  block_id: string;
  label: PlainText;
  hint?: PlainText;
  element: PlainTextInputElement | StaticSelectElement;
}
export type Block = HeaderBlock | SectionBlock | ActionsBlock | ContextBlock | DividerBlock | InputBlock;

/** A message for chat.postMessage / chat.update / a webhook / a response_url. */
export interface SlackMessage {
  /** Plain-language fallback: notifications, screen readers, clients without Block Kit. */
  text: string;
  blocks: Block[];
}

export interface ModalView {
  type: 'modal';
  callback_id: string;
  private_metadata: string;
  title: PlainText;
  submit: PlainText;
  close: PlainText;
  blocks: Block[];
}

export interface RequestItem {
  credentialId: string;
  kind: CredentialKind;
  principal: string;
  accountId: string;
  lastUsedAt: string | null;
  why: string;
  deadlineAt: string;
  requestSeq: number;
  /** What the owner needs to recognise it; absent on requests opened before it was recorded. */
  identification?: Identification;
  /**
   * The mode of the credential's own account (an organization's accounts may differ): what its deadline
   * does (enforce: reauth disables it; report: security is told) and whether *Rotate* and *Disable now*
   * are offered (report mode changes nothing in IAM or Secrets Manager, so every such click is refused).
   */
  mode: 'report' | 'enforce';
  /**
   * Access keys: whether the user carries `reauth:rotatable=true`, as the scan saw it when the request
   * opened; reauth rotates no other user's keys. Absent (a request opened before it was recorded):
   * *Rotate* is offered and the worker checks the tag.
   */
  rotatable?: boolean;
  /**
   * No owner was found for it (`orphaned`): the fallback owner's message offers *Assign owner*, a
   * picker a security approver names its owner with.
   */
  assignable?: boolean;
  /** Where its owner came from (a tag, a group, the stack, the account, its creator…), shown as "Why you". */
  ownerSource?: OwnerOrigin;
  /**
   * Its user's or role's services granted against used: "uses 3 of 41 services granted in the last 90
   * days: s3, sqs, kms". Absent for a secret, or when IAM's last-accessed job failed.
   */
  usage?: string;
}

/** Slack refuses a message with more blocks than this. */
export const MAX_BLOCKS_PER_MESSAGE = BLOCK_KIT_LIMITS.blocksPerMessage;
/** Slack's limit for a section's text; stay under it with room for markup. */
const MAX_SECTION_TEXT = BLOCK_KIT_LIMITS.sectionText - 100;
const MAX_FALLBACK_TEXT = 3000;
const MAX_SHOWN_FIELD = 300;

export const STILL_NEEDED_CALLBACK_ID = 'reauth:still-needed';
const DURATION_CHOICES_DAYS = [7, 30, 60, 90, 180, 365] as const;
export const MIN_REASON_LENGTH = 10;
export const MAX_REASON_LENGTH = 500;
/** A hard ceiling on a submitted duration; the caller caps it again with the policy's maximum. */
export const MAX_SUBMITTED_DAYS = 3650;

const KIND_LABELS: Record<RequestItem['kind'], string> = {
  'access-key': 'Access key',
  secret: 'Secret',
  role: 'Third-party role',
  password: 'Console password',
  'signing-certificate': 'Signing certificate',
  'ssh-key': 'SSH public key',
  'service-credential': 'Service-specific credential',
};

/** Slack's three control characters; escaping them stops a name from becoming a mention or a link. */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Escaped, and at most `max` characters once escaped (an entity is never cut in half), so one long
 * name cannot push a block over Slack's limits.
 */
function shown(text: string, max = MAX_SHOWN_FIELD): string {
  const escaped = escapeSlackText(text);
  if (escaped.length <= max) return escaped;
  let kept = '';
  for (const char of text) {
    const next = escapeSlackText(char);
    if (kept.length + next.length > max - 1) break;
    kept += next;
  }
  return `${kept}…`;
}

function plain(text: string): PlainText {
  return { type: 'plain_text', text, emoji: true };
}

function mrkdwn(text: string): Mrkdwn {
  return { type: 'mrkdwn', text };
}

/** A user id becomes a mention; anything else (an email, a team name) is shown as text. */
function mention(userOrName: string): string {
  return /^[UW][A-Z0-9]{2,20}$/.test(userOrName) ? `<@${userOrName}>` : shown(userOrName);
}

/** Names in code spans, escaped and cut; a Slack user (`slack:U…`) as a mention. */
const ORIGIN_FORMAT: OriginFormat = {
  name: (text) => `\`${shown(text, 100)}\``,
  person: (actor) => mention(actor.replace(/^slack:/, '')),
};

/** `YYYY-MM-DD` of an ISO timestamp; the raw text, escaped, if it is not one. */
function dateOf(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? shown(iso, 40) : new Date(time).toISOString().slice(0, 10);
}

type Named = Pick<RequestItem, 'credentialId' | 'kind' | 'principal'>;

/**
 * The credential in a few words: an access key or a status credential by its id and user (a user may
 * have two keys, two certificates, five SSH keys), a password by its user, else its name.
 */
function subjectOf(item: Named): string {
  const name = `\`${shown(shortName(item.principal))}\``;
  if (item.kind === 'access-key' || isStatusCredential(item.kind))
    return `*${KIND_LABELS[item.kind]}* \`${shown(parseCredentialId(item.credentialId).id, 40)}\` of user ${name}`;
  return item.kind === 'password'
    ? `*${KIND_LABELS[item.kind]}* of user ${name}`
    : `*${KIND_LABELS[item.kind]}* ${name}`;
}

/**
 * The credential and its account in one line of plain words, for a dialog, a confirm or a notification
 * that stands on its own: the owner sees nothing else there to tell `ci-deployer`'s two keys apart.
 */
export function credentialLabel(item: Named & Pick<RequestItem, 'accountId'>): string {
  const name = shortName(item.principal);
  const what =
    item.kind === 'access-key'
      ? `access key ${parseCredentialId(item.credentialId).id} of user ${name}`
      : isStatusCredential(item.kind)
        ? `${STATUS_CREDENTIAL_NAMES[item.kind]} ${parseCredentialId(item.credentialId).id} of user ${name}`
        : item.kind === 'password'
          ? `console password of user ${name}`
          : item.kind === 'secret'
            ? `secret ${name}${regionOf(item) ? ` (${regionOf(item)})` : ''}`
            : `role ${name}`;
  return `${what} in account ${item.accountId}`;
}

/** A secret's region, from its ARN: a secret's name is unique only within a region. */
function regionOf(item: Named): string | undefined {
  if (item.kind !== 'secret') return undefined;
  return /^arn:[^:]+:secretsmanager:([a-z0-9-]+):/.exec(parseCredentialId(item.credentialId).id)?.[1];
}

/** What the credential's deadline does, in its account's mode. */
function atDeadline(item: Pick<RequestItem, 'deadlineAt' | 'mode'>): string {
  const day = dateOf(item.deadlineAt);
  return item.mode === 'enforce'
    ? `Answer by ${day}: unanswered, reauth *disables* it that day`
    : `Answer by ${day}: unanswered, it is *escalated to security* that day (this account is in report mode: reauth disables nothing)`;
}

/**
 * What the credential is, so its owner recognises it: an access key by its id and user, its creation
 * and where it was last used; a secret by its name and region (its ARN would only repeat them); a
 * third-party role by whom it trusts and whether an ExternalId is required. And what its deadline does
 * in its account's mode. Names go in code spans: no markup applies there.
 */
function describeItem(item: RequestItem): string {
  const { identification } = item;
  const lastUsed = item.lastUsedAt === null ? 'never' : dateOf(item.lastUsedAt);
  const where = item.lastUsedAt === null ? '' : usedWhere(identification);
  const region = regionOf(item);
  const lines = [
    subjectOf(item),
    `Account: ${shown(item.accountId, 40)}${region ? ` · Region: ${shown(region, 40)}` : ''}`,
  ];
  if (item.kind === 'role' && identification?.trustedAccounts) {
    lines.push(`Trusts: ${shown(describeTrust(identification), 1200)}`);
  }
  lines.push(
    [
      ...(identification && (item.kind === 'access-key' || isStatusCredential(item.kind))
        ? [`Created: ${dateOf(identification.createdAt)}`]
        : []),
      ...(identification && item.kind === 'password' ? [`Set: ${dateOf(identification.createdAt)}`] : []),
      ...(identification?.serviceName ? [`For: ${shown(identification.serviceName, 100)}`] : []),
      // IAM keeps no last use of these: "never" would tell the owner something no one knows.
      isStatusCredential(item.kind)
        ? 'Last used: not recorded by IAM (judged by its age)'
        : `${item.kind === 'secret' ? 'Last accessed' : item.kind === 'password' ? 'Last sign-in' : 'Last used'}: ${lastUsed}${where && ` (${shown(where, 100)})`}`,
    ].join(' · '),
    `Why: ${shown(item.why, 1000)}`,
    ...(item.usage ? [`Access: ${shown(item.usage, 600)}`] : []),
    ...(item.ownerSource ? [`Why you: ${describeOwnerOrigin(item.ownerSource, ORIGIN_FORMAT)}`] : []),
    atDeadline(item),
  );
  // A long secret name is shown cut in the middle: the whole of it once, for the owner to search by.
  if (item.kind === 'secret' && shortName(item.principal) !== item.principal) {
    lines.push(`Full name: \`${shown(item.principal, 700)}\``);
  }
  return truncate(lines.join('\n'), MAX_SECTION_TEXT);
}

/**
 * Still needed always; in enforce mode, Rotate (a secret, or a key whose user is marked rotatable) and
 * Disable now. Report mode offers neither: reauth changes nothing there, so the click could only be
 * refused, and a "request to security" would be a second, unrecorded path to the same people the
 * deadline already escalates to. The owner can disable it in AWS; the next scan closes the request.
 */
function itemButtons(item: RequestItem): ButtonElement[] {
  const value = encodeActionValue(item.credentialId, item.requestSeq);
  const buttons: ButtonElement[] = [
    {
      type: 'button',
      action_id: 'reauth:still-needed',
      text: plain('Still needed'),
      value,
      style: 'primary',
    },
  ];
  // Still needed, only what it uses (#25): a key's or password's user, or a role, in either mode
  // (report mode records the choice and suggests the change to the security channel).
  if (RIGHT_SIZE_KINDS.includes(item.kind)) {
    buttons.push({
      type: 'button',
      action_id: 'reauth:right-size',
      text: plain('Still needed, only what it uses'),
      value,
    });
  }
  if (item.mode === 'report') return buttons;
  if (item.kind === 'secret' || (item.kind === 'access-key' && item.rotatable !== false)) {
    buttons.push({ type: 'button', action_id: 'reauth:rotate', text: plain('Rotate'), value });
  }
  buttons.push({
    type: 'button',
    action_id: 'reauth:disable',
    text: plain('Disable now'),
    value,
    style: 'danger',
    confirm: {
      title: plain('Disable this credential?'),
      // Slack's 300 characters hold it: names are cut to 64, a key id is 20, an account 12.
      text: mrkdwn(
        `The ${shown(credentialLabel(item), 220)} stops working now. It can be restored afterwards.`,
      ),
      confirm: plain('Disable'),
      deny: plain('Cancel'),
      style: 'danger',
    },
  });
  return buttons;
}

/**
 * The item's buttons, and for an orphaned credential the *Assign owner* picker. A picker carries no
 * value, so the block's id holds the credential and its request (as a button's value does); an id too
 * long for a block id (a secret with a name of some 200 characters) gets no picker.
 */
function itemActions(item: RequestItem): ActionsBlock {
  const buttons = itemButtons(item);
  const blockId = encodeActionValue(item.credentialId, item.requestSeq);
  if (!item.assignable || blockId.length > BLOCK_KIT_LIMITS.blockId) {
    return { type: 'actions', elements: buttons };
  }
  return {
    type: 'actions',
    block_id: blockId,
    elements: [
      ...buttons,
      { type: 'users_select', action_id: ASSIGN_OWNER_ACTION_ID, placeholder: plain('Assign owner') },
    ],
  };
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** How many items fit when each takes `blocksPerItem` and `reserved` blocks are taken already. */
function itemsThatFit(total: number, blocksPerItem: number, reserved: number): number {
  const withoutOverflowLine = Math.floor((MAX_BLOCKS_PER_MESSAGE - reserved) / blocksPerItem);
  if (total <= withoutOverflowLine) {
    return total;
  }
  return Math.floor((MAX_BLOCKS_PER_MESSAGE - reserved - 1) / blocksPerItem);
}

/**
 * The most credentials one request message shows. Each takes at most two blocks in every state of the
 * message (asking: its section and buttons; answered: its outcome and, while it can be undone,
 * Restore), and the message has four more (header, introduction, the buttons for all, the footer):
 * 4 + 2 × 20 = 44, so no sequence of answers can take a message past Slack's 50 blocks. An owner with
 * more gets several messages.
 */
export const MAX_ITEMS_PER_MESSAGE = 20;

/** The block holding that button; a request message with two or more open credentials carries it. */
function answerAllBlock(open: number): ActionsBlock {
  return {
    type: 'actions',
    elements: [
      {
        type: 'button',
        action_id: STILL_NEEDED_ALL_ACTION_ID,
        text: { type: 'plain_text', text: `Still needed: all ${open} open here` },
        value: 'all',
      },
    ],
  };
}

/**
 * The choices and what the deadline does, for the open credentials of one message: the same words for
 * all when their accounts share a mode, else each credential says its own.
 */
function whatToDo(open: RequestItem[]): string {
  const modes = new Set(open.map((item) => item.mode));
  const enforced = modes.has('enforce');
  const choices = enforced
    ? 'Choose *Still needed* to keep one, *Rotate* to get a fresh one where offered, or *Disable now* if nothing uses it.'
    : 'Choose *Still needed* to keep one. If nothing uses it, disable or delete it in AWS yourself: the next scan closes the request.';
  const deadline =
    modes.size > 1
      ? 'Each says what happens at its deadline.'
      : enforced
        ? 'Unanswered ones are disabled at their deadline.'
        : 'Unanswered ones are escalated to security at their deadline; reauth only reports in these accounts and disables nothing.';
  return `${choices} ${deadline}`;
}

/**
 * A message asking an owner to reauthorize, rotate or disable each of `items` (at most
 * MAX_ITEMS_PER_MESSAGE, in the order shown). An item in `answered` shows its outcome (blocks of
 * `decidedMessage`) in its place instead of its buttons, so the message can be rebuilt after each answer.
 */
export function ownerRequestMessage(input: {
  owner: string;
  items: RequestItem[];
  answered?: ReadonlyMap<string, Block[]>;
  reminder?: boolean;
}): SlackMessage {
  const { items, reminder = false } = input;
  if (items.length > MAX_ITEMS_PER_MESSAGE) {
    throw new RangeError(`a request message shows at most ${MAX_ITEMS_PER_MESSAGE} credentials`);
  }
  const answered = input.answered ?? new Map<string, Block[]>();
  const open = items.filter((item) => !answered.has(item.credentialId));
  const title =
    open.length === 0
      ? 'Every credential in this message is answered'
      : reminder
        ? 'Reminder: do these credentials still need access?'
        : 'Do these credentials still need access?';
  const blocks: Block[] = [
    { type: 'header', text: plain(title) },
    {
      type: 'section',
      text: mrkdwn(
        open.length === 0
          ? `${mention(input.owner)}, thank you: nothing here is waiting for you.`
          : `${mention(input.owner)}, ${plural(open.length, 'credential here needs', 'credentials here need')} a decision. ${whatToDo(open)}`,
      ),
    },
  ];
  for (const item of items) {
    const outcome = answered.get(item.credentialId);
    if (outcome) {
      blocks.push(...outcome);
    } else {
      blocks.push({ type: 'section', text: mrkdwn(describeItem(item)) });
      blocks.push(itemActions(item));
    }
  }
  if (open.length > 1) blocks.push(answerAllBlock(open.length));
  if (open.length > 0) {
    blocks.push({
      type: 'context',
      elements: [mrkdwn('Type `/reauth` at any time to list every request waiting for you.')],
    });
  }
  const listed = open
    .slice(0, 10)
    .map((item) => shown(credentialLabel(item), 250))
    .join(', ');
  const more = open.length > 10 ? ` and ${open.length - 10} more` : '';
  const text =
    open.length === 0
      ? 'Every credential in this message is answered.'
      : truncate(
          `${reminder ? 'Reminder: ' : ''}${plural(open.length, 'credential needs', 'credentials need')} your decision: ${listed}${more}.`,
          MAX_FALLBACK_TEXT,
        );
  return { text, blocks };
}

/**
 * One page of `/reauth`: the requests waiting for the caller (or for someone they answer for), with the
 * same buttons as the request messages, and buttons to turn the page. At most MAX_ITEMS_PER_MESSAGE
 * credentials a page, so it holds Slack's limits as a request message does.
 */
export function openRequestsMessage(input: {
  userId: string;
  /** This page's requests. */
  items: RequestItem[];
  page: number;
  pages: number;
  total: number;
}): SlackMessage {
  const { items, page, pages, total } = input;
  if (items.length > MAX_ITEMS_PER_MESSAGE) {
    throw new RangeError(`a page shows at most ${MAX_ITEMS_PER_MESSAGE} credentials`);
  }
  if (total === 0) {
    const text = 'Nothing is waiting for you: no open request names you or someone you answer for.';
    return { text, blocks: [{ type: 'section', text: mrkdwn(text) }] };
  }
  const blocks: Block[] = [
    { type: 'header', text: plain('Requests waiting for you') },
    {
      type: 'section',
      text: mrkdwn(
        `${mention(input.userId)}, ${plural(total, 'request waits', 'requests wait')} for you or someone you answer for` +
          (pages > 1 ? ` (page ${page} of ${pages}, soonest deadline first).` : '.'),
      ),
    },
  ];
  for (const item of items) {
    blocks.push({ type: 'section', text: mrkdwn(describeItem(item)) });
    blocks.push(itemActions(item));
  }
  // Slack wants each action_id unique within its block.
  const turn = (to: number, direction: 0 | 1): ButtonElement => ({
    type: 'button',
    action_id: PAGE_ACTION_IDS[direction],
    text: plain(direction === 0 ? 'Previous page' : 'Next page'),
    value: String(to),
  });
  const nav = [...(page > 1 ? [turn(page - 1, 0)] : []), ...(page < pages ? [turn(page + 1, 1)] : [])];
  if (nav.length > 0) blocks.push({ type: 'actions', elements: nav });
  return { text: `${plural(total, 'request waits', 'requests wait')} for your decision.`, blocks };
}

export type EscalationReason =
  | 'orphaned'
  | 'deadline-passed'
  | 'budget-exceeded'
  | 'drift'
  | 'aws-service-account-trusted';

const ESCALATION_TITLES: Record<EscalationReason, string> = {
  'aws-service-account-trusted': 'Likely backdoors: roles trusted by an AWS-owned account',
  orphaned: 'Credentials without a reachable owner',
  drift: 'Disabled credentials turned back on outside reauth',
  'deadline-passed': 'Credentials whose owners did not answer in time',
  'budget-exceeded': 'Credentials held back: the action budget is spent',
};

/** The security channel's notice about credentials that need a person from security. */
export function escalationMessage(input: {
  items: RequestItem[];
  reason: EscalationReason;
  detail?: string;
}): SlackMessage {
  const { items, reason } = input;
  const title = ESCALATION_TITLES[reason];
  const blocks: Block[] = [{ type: 'header', text: plain(title) }];
  if (input.detail !== undefined && input.detail.length > 0) {
    blocks.push({ type: 'section', text: mrkdwn(shown(input.detail, MAX_SECTION_TEXT)) });
  }
  const shownCount = itemsThatFit(items.length, 1, blocks.length);
  for (const item of items.slice(0, shownCount)) {
    blocks.push({ type: 'section', text: mrkdwn(describeItem(item)) });
  }
  const rest = items.length - shownCount;
  if (rest > 0) {
    blocks.push({ type: 'context', elements: [mrkdwn(`and ${rest} more — see the report`)] });
  }
  const text = truncate(
    `${title}: ${plural(items.length, 'credential', 'credentials')}${input.detail ? ` (${shown(input.detail, 500)})` : ''}.`,
    MAX_FALLBACK_TEXT,
  );
  return { text, blocks };
}

/** What replaces a request once someone has answered it. */
export function decidedMessage(input: {
  item: Pick<RequestItem, 'credentialId' | 'kind' | 'principal' | 'accountId'>;
  outcome: string;
  actorUserId: string;
  at: string;
  restorable?: { credentialId: string; requestSeq: number };
  /** Narrowed by reauth (*Still needed, only what it uses*): *Widen* takes its deny off again. */
  widenable?: { credentialId: string; requestSeq: number };
}): SlackMessage {
  const { item } = input;
  const subject = `${subjectOf(item)} (${shown(item.accountId, 40)})`;
  const said = `${mention(input.actorUserId)} said ${shown(input.outcome, 1500)}`;
  // Two blocks at most (the outcome, and Restore): see MAX_ITEMS_PER_MESSAGE.
  const blocks: Block[] = [
    {
      type: 'section',
      text: mrkdwn(truncate(`${subject}\n${said} · decided ${dateOf(input.at)}`, MAX_SECTION_TEXT)),
    },
  ];
  if (input.restorable) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: 'reauth:restore',
          text: plain('Restore'),
          value: encodeActionValue(input.restorable.credentialId, input.restorable.requestSeq),
        },
      ],
    });
  } else if (input.widenable) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: 'reauth:widen',
          text: plain('Widen'),
          value: encodeActionValue(input.widenable.credentialId, input.widenable.requestSeq),
        },
      ],
    });
  }
  return { text: truncate(`${subject}: ${said}`, MAX_FALLBACK_TEXT), blocks };
}

/**
 * What replaces an orphaned credential's request in the fallback owner's message once a security
 * approver assigned its owner: who, and by whom. One block, as an answered credential takes.
 */
export function assignedMessage(input: {
  item: Pick<RequestItem, 'credentialId' | 'kind' | 'principal' | 'accountId'>;
  owner: string;
  byUserId: string;
  at: string;
}): SlackMessage {
  const subject = `${subjectOf(input.item)} (${shown(input.item.accountId, 40)})`;
  const said = `Assigned to ${mention(input.owner)} by ${mention(input.byUserId)}`;
  return {
    text: truncate(`${subject}: ${said}`, MAX_FALLBACK_TEXT),
    blocks: [
      {
        type: 'section',
        text: mrkdwn(
          truncate(`${subject}\n${said} · ${dateOf(input.at)}; they are asked now`, MAX_SECTION_TEXT),
        ),
      },
    ],
  };
}

function dayOption(days: number): SelectOption {
  return { text: plain(days === 1 ? '1 day' : `${days} days`), value: String(days) };
}

/** The duration choices offered: the usual ones up to `maxDays`, and `maxDays` itself. */
function durationChoices(maxDays: number): number[] {
  const cap = Math.max(1, Math.floor(Number.isFinite(maxDays) ? maxDays : 1));
  const choices = new Set<number>(DURATION_CHOICES_DAYS.filter((days) => days <= cap));
  choices.add(cap);
  return [...choices].sort((a, b) => a - b);
}

/** The dialog a *Still needed* click opens: why it is needed, and for how long. */
export function stillNeededModal(input: {
  credentialId: string;
  requestSeq: number;
  kind: RequestItem['kind'];
  principal: string;
  accountId: string;
  maxDays: number;
  responseUrl?: string;
  channelId?: string;
  messageTs?: string;
  /** Opened from the `/reauth` list. */
  listing?: boolean;
}): ModalView {
  const metadata = {
    credentialId: input.credentialId,
    requestSeq: input.requestSeq,
    responseUrl: input.responseUrl,
    channelId: input.channelId,
    messageTs: input.messageTs,
    ...(input.listing && { listing: true }),
  };
  return {
    type: 'modal',
    callback_id: STILL_NEEDED_CALLBACK_ID,
    private_metadata: JSON.stringify(metadata),
    title: plain('Still needed'),
    submit: plain('Reauthorize'),
    close: plain('Cancel'),
    blocks: [
      {
        type: 'section',
        text: mrkdwn(`Keep the ${shown(credentialLabel(input), 600)} working. What still uses it?`),
      },
      ...answerInputs(input.maxDays),
    ],
  };
}

/** The dialog's two questions, the same for one credential and for all of a message: why, and how long. */
export function answerInputs(maxDays: number): Block[] {
  const options = durationChoices(maxDays).map(dayOption);
  const initial = options.find((option) => option.value === '90') ?? options[options.length - 1];
  return [
    {
      type: 'input',
      block_id: 'reason',
      label: plain('Why is it still needed?'),
      hint: plain('Name the system or job that uses it. This goes into the audit record.'),
      element: {
        type: 'plain_text_input',
        action_id: 'reason',
        multiline: true,
        min_length: MIN_REASON_LENGTH,
        max_length: MAX_REASON_LENGTH,
      },
    },
    {
      type: 'input',
      block_id: 'days',
      label: plain('For how long?'),
      element: {
        type: 'static_select',
        action_id: 'days',
        options,
        ...(initial ? { initial_option: initial } : {}),
      },
    },
  ];
}

const StillNeededMetadataSchema = z.object({
  credentialId: z.string().regex(CREDENTIAL_ID_PATTERN),
  requestSeq: z.number().int().nonnegative(),
  responseUrl: z.string().min(1).optional(),
  channelId: z.string().min(1).optional(),
  messageTs: z.string().min(1).optional(),
  listing: z.literal(true).optional(),
});

export const StillNeededValuesSchema = z.object({
  reason: z.object({
    reason: z.object({
      value: z.string().trim().min(MIN_REASON_LENGTH).max(MAX_REASON_LENGTH),
    }),
  }),
  days: z.object({
    days: z.object({
      selected_option: z.object({
        value: z
          .string()
          .regex(/^[1-9][0-9]{0,3}$/)
          .transform(Number)
          .refine((days) => days <= MAX_SUBMITTED_DAYS),
      }),
    }),
  }),
});

/**
 * Reads a submitted *Still needed* dialog. `days` is only bounded loosely here: the caller caps it with
 * the policy's maximum, since the dialog's options could have been tampered with.
 */
export function parseStillNeededSubmission(req: Extract<SlackRequest, { type: 'view_submission' }>): {
  credentialId: string;
  requestSeq: number;
  reason: string;
  days: number;
  responseUrl?: string;
  channelId?: string;
  messageTs?: string;
  listing?: true;
} {
  if (req.callbackId !== STILL_NEEDED_CALLBACK_ID) {
    throw new SlackRequestError('not a still-needed submission');
  }
  let metadataJson: unknown;
  try {
    metadataJson = JSON.parse(req.privateMetadata);
  } catch {
    throw new SlackRequestError('private_metadata is not JSON');
  }
  const metadata = StillNeededMetadataSchema.safeParse(metadataJson);
  if (!metadata.success) {
    throw new SlackRequestError('malformed private_metadata');
  }
  const values = StillNeededValuesSchema.safeParse(req.values);
  if (!values.success) {
    throw new SlackRequestError('malformed still-needed answers');
  }
  return {
    ...metadata.data,
    reason: values.data.reason.reason.value,
    days: values.data.days.days.selected_option.value,
  };
}

/** Asks a member of the approvers group to confirm an owner's *Still needed* (tiers that need a second approver). */
export function approvalRequestMessage(input: {
  item: RequestItem;
  proposedBy: string;
  reason: string;
  days: number;
}): SlackMessage {
  const { item } = input;
  const asked = `${mention(input.proposedBy)} says this is still needed for ${input.days} days: "${shown(input.reason, 500)}"`;
  return {
    text: truncate(`Second approval needed: ${shown(credentialLabel(item), 600)}`, MAX_FALLBACK_TEXT),
    blocks: [
      { type: 'header', text: plain('Second approval needed') },
      { type: 'section', text: mrkdwn(truncate(`${describeItem(item)}\n${asked}`, MAX_SECTION_TEXT)) },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: 'reauth:approve',
            text: plain('Approve'),
            style: 'primary',
            value: encodeActionValue(item.credentialId, item.requestSeq),
          },
        ],
      },
      {
        type: 'context',
        elements: [mrkdwn('Only a member of the approvers group other than the owner can confirm.')],
      },
    ],
  };
}

/**
 * Report mode's *Still needed, only what it uses*: what the owner chose, and the change for the
 * security channel to make (reauth changed nothing): the deny to attach, in full, and how to undo it.
 */
export function rightSizeSuggestionMessage(input: {
  item: Pick<RequestItem, 'credentialId' | 'kind' | 'principal' | 'accountId'>;
  ownerUserId: string;
  principalArn: string;
  usage: string;
  document: object;
}): SlackMessage {
  const subject = `${subjectOf(input.item)} (${shown(input.item.accountId, 40)})`;
  const text = truncate(
    [
      `${subject}: ${mention(input.ownerUserId)} answered *Still needed, only what it uses* (${shown(input.usage, 600)}).`,
      'reauth runs in report mode and changed nothing. To narrow it, attach this deny to the user or role (undo: detach it):',
      `\`\`\`${JSON.stringify(input.document)}\`\`\``,
      `\`aws iam create-policy --policy-name right-size-<name> --policy-document file://deny.json\`, then attach it to ${shown(input.principalArn, 300)}.`,
    ].join('\n'),
    MAX_SECTION_TEXT,
  );
  return { text: truncate(text, MAX_FALLBACK_TEXT), blocks: [{ type: 'section', text: mrkdwn(text) }] };
}
