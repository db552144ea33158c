/**
 * Slack's documented Block Kit limits, in one place: the message builders are unit-tested against
 * `checkMessage` / `checkModal`, and the local fake Slack (scripts/local/fake-slack.ts) refuses what
 * they refuse, answering as Slack does.
 *
 * Sources (docs.slack.dev, Block Kit reference):
 * - reference/block-kit/blocks: "up to 50 blocks in each message, and 100 blocks in modals or Home tabs".
 * - section block: `text` at most 3000 characters; `block_id` at most 255.
 * - header block: `text` (plain_text) at most 150 characters.
 * - context block: at most 10 elements.
 * - actions block: at most 25 elements; an `action_id` is unique within its block.
 * - button element: `text` at most 75 characters, `value` at most 2000, `action_id` at most 255.
 * - confirmation dialog object: `title` at most 100 characters, `text` at most 300, `confirm` and `deny`
 *   at most 30 each.
 * - modal view: `title`, `submit` and `close` at most 24 characters; `private_metadata` at most 3000;
 *   `callback_id` at most 255.
 * - users select: a `placeholder` (plain_text) at most 150 characters; no value (the choice arrives as `selected_user`).
 * - static select: at most 100 `options`; an option's `text` at most 75 characters, its `value` at
 *   most 150; `placeholder` at most 150.
 * - input block: `label` and `hint` at most 2000 characters; plain_text_input `max_length` at most 3000.
 * - text object: at most 3000 characters.
 * - chat.postMessage: the top-level `text` is truncated past 40,000 characters (`msg_too_long`).
 *
 * What Slack answers when a payload breaks one: chat.postMessage and chat.update `{ ok: false,
 * error: 'invalid_blocks' }` (`invalid_blocks_format` when `blocks` is not an array of objects,
 * `msg_too_long` for the text); views.open `{ ok: false, error: 'invalid_arguments' }` with the
 * reasons in `response_metadata.messages`; a response_url or incoming webhook HTTP 400 `invalid_blocks`.
 */
export const BLOCK_KIT_LIMITS = {
  blocksPerMessage: 50,
  blocksPerModal: 100,
  textObject: 3000,
  sectionText: 3000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  blockId: 255,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  selectOptions: 100,
  optionText: 75,
  optionValue: 150,
  placeholder: 150,
  inputLabel: 2000,
  inputHint: 2000,
  inputMaxLength: 3000,
  messageText: 40_000,
} as const;

/** One broken limit: where (a JSON path) and which. */
export interface LimitViolation {
  path: string;
  rule: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

class Checker {
  readonly violations: LimitViolation[] = [];

  fail(path: string, rule: string): void {
    this.violations.push({ path, rule });
  }

  /** A text object of `type` (any when undefined), at most `max` characters. */
  text(value: unknown, path: string, max: number, type?: 'plain_text' | 'mrkdwn'): void {
    if (!isObject(value) || typeof value.text !== 'string' || value.text.length === 0) {
      return this.fail(path, 'a text object with non-empty text');
    }
    if (value.type !== 'plain_text' && value.type !== 'mrkdwn') return this.fail(path, 'text type');
    if (type && value.type !== type) this.fail(path, `${type} only`);
    if (value.text.length > Math.min(max, BLOCK_KIT_LIMITS.textObject))
      this.fail(path, `at most ${max} characters`);
  }

  string(value: unknown, path: string, max: number, required = true): void {
    if (value === undefined && !required) return;
    if (typeof value !== 'string' || value.length === 0) return this.fail(path, 'a non-empty string');
    if (value.length > max) this.fail(path, `at most ${max} characters`);
  }

  confirm(value: unknown, path: string): void {
    if (!isObject(value)) return this.fail(path, 'a confirmation dialog object');
    this.text(value.title, `${path}.title`, BLOCK_KIT_LIMITS.confirmTitle, 'plain_text');
    this.text(value.text, `${path}.text`, BLOCK_KIT_LIMITS.confirmText);
    this.text(value.confirm, `${path}.confirm`, BLOCK_KIT_LIMITS.confirmButton, 'plain_text');
    this.text(value.deny, `${path}.deny`, BLOCK_KIT_LIMITS.confirmButton, 'plain_text');
  }

  option(value: unknown, path: string): void {
    if (!isObject(value)) return this.fail(path, 'an option object');
    this.text(value.text, `${path}.text`, BLOCK_KIT_LIMITS.optionText);
    this.string(value.value, `${path}.value`, BLOCK_KIT_LIMITS.optionValue);
  }

  element(value: unknown, path: string): void {
    if (!isObject(value)) return this.fail(path, 'an element object');
    this.string(value.action_id, `${path}.action_id`, BLOCK_KIT_LIMITS.actionId, false);
    switch (value.type) {
      case 'button':
        this.text(value.text, `${path}.text`, BLOCK_KIT_LIMITS.buttonText, 'plain_text');
        this.string(value.value, `${path}.value`, BLOCK_KIT_LIMITS.buttonValue, false);
        if (value.confirm !== undefined) this.confirm(value.confirm, `${path}.confirm`);
        return;
      case 'static_select': {
        const options = value.options;
        if (!Array.isArray(options) || options.length === 0) return this.fail(`${path}.options`, 'options');
        if (options.length > BLOCK_KIT_LIMITS.selectOptions)
          this.fail(`${path}.options`, `at most ${BLOCK_KIT_LIMITS.selectOptions} options`);
        options.forEach((option, index) => this.option(option, `${path}.options[${index}]`));
        if (value.initial_option !== undefined) this.option(value.initial_option, `${path}.initial_option`);
        if (value.placeholder !== undefined)
          this.text(value.placeholder, `${path}.placeholder`, BLOCK_KIT_LIMITS.placeholder, 'plain_text');
        return;
      }
      case 'users_select':
        if (value.placeholder !== undefined)
          this.text(value.placeholder, `${path}.placeholder`, BLOCK_KIT_LIMITS.placeholder, 'plain_text');
        return;
      case 'plain_text_input':
        if (value.max_length !== undefined && !(Number(value.max_length) <= BLOCK_KIT_LIMITS.inputMaxLength))
          this.fail(`${path}.max_length`, `at most ${BLOCK_KIT_LIMITS.inputMaxLength}`);
        if (value.placeholder !== undefined)
          this.text(value.placeholder, `${path}.placeholder`, BLOCK_KIT_LIMITS.placeholder, 'plain_text');
        return;
      default:
        this.fail(`${path}.type`, 'a known element type');
    }
  }

  block(value: unknown, path: string, surface: 'message' | 'modal'): void {
    if (!isObject(value)) return this.fail(path, 'a block object');
    this.string(value.block_id, `${path}.block_id`, BLOCK_KIT_LIMITS.blockId, false);
    switch (value.type) {
      case 'header':
        return this.text(value.text, `${path}.text`, BLOCK_KIT_LIMITS.headerText, 'plain_text');
      case 'section':
        return this.text(value.text, `${path}.text`, BLOCK_KIT_LIMITS.sectionText);
      case 'divider':
        return;
      case 'context': {
        const elements = value.elements;
        if (!Array.isArray(elements) || elements.length === 0)
          return this.fail(`${path}.elements`, 'elements');
        if (elements.length > BLOCK_KIT_LIMITS.contextElements)
          this.fail(`${path}.elements`, `at most ${BLOCK_KIT_LIMITS.contextElements} elements`);
        elements.forEach((element, index) =>
          this.text(element, `${path}.elements[${index}]`, BLOCK_KIT_LIMITS.textObject),
        );
        return;
      }
      case 'actions': {
        const elements = value.elements;
        if (!Array.isArray(elements) || elements.length === 0)
          return this.fail(`${path}.elements`, 'elements');
        if (elements.length > BLOCK_KIT_LIMITS.actionsElements)
          this.fail(`${path}.elements`, `at most ${BLOCK_KIT_LIMITS.actionsElements} elements`);
        elements.forEach((element, index) => this.element(element, `${path}.elements[${index}]`));
        const ids = elements.flatMap((element) =>
          isObject(element) && element.action_id ? [element.action_id] : [],
        );
        if (new Set(ids).size < ids.length)
          this.fail(`${path}.elements`, 'action_id unique within the block');
        return;
      }
      case 'input':
        if (surface === 'message') return this.fail(`${path}.type`, 'input blocks are for modals');
        this.text(value.label, `${path}.label`, BLOCK_KIT_LIMITS.inputLabel, 'plain_text');
        if (value.hint !== undefined)
          this.text(value.hint, `${path}.hint`, BLOCK_KIT_LIMITS.inputHint, 'plain_text');
        return this.element(value.element, `${path}.element`);
      default:
        this.fail(`${path}.type`, 'a known block type');
    }
  }

  blocks(value: unknown, surface: 'message' | 'modal'): void {
    if (!Array.isArray(value)) return this.fail('blocks', 'an array of blocks');
    const max = surface === 'message' ? BLOCK_KIT_LIMITS.blocksPerMessage : BLOCK_KIT_LIMITS.blocksPerModal;
    if (value.length > max) this.fail('blocks', `at most ${max} blocks`);
    value.forEach((block, index) => this.block(block, `blocks[${index}]`, surface));
  }
}

/**
 * What a message (chat.postMessage, chat.update, a response_url) breaks; empty when Slack would take
 * it. `code` is Slack's error for the first violation.
 */
export function checkMessage(message: { text?: unknown; blocks?: unknown }): {
  code?: 'invalid_blocks' | 'invalid_blocks_format' | 'msg_too_long';
  violations: LimitViolation[];
} {
  const checker = new Checker();
  if (typeof message.text === 'string' && message.text.length > BLOCK_KIT_LIMITS.messageText) {
    checker.fail('text', `at most ${BLOCK_KIT_LIMITS.messageText} characters`);
    return { code: 'msg_too_long', violations: checker.violations };
  }
  if (message.blocks === undefined) return { violations: [] };
  if (!Array.isArray(message.blocks) || !message.blocks.every(isObject)) {
    checker.fail('blocks', 'an array of block objects');
    return { code: 'invalid_blocks_format', violations: checker.violations };
  }
  checker.blocks(message.blocks, 'message');
  return checker.violations.length
    ? { code: 'invalid_blocks', violations: checker.violations }
    : { violations: [] };
}

/** What a modal view (views.open) breaks; empty when Slack would take it. */
export function checkModal(view: unknown): LimitViolation[] {
  const checker = new Checker();
  if (!isObject(view) || view.type !== 'modal') {
    checker.fail('view', 'a modal view');
    return checker.violations;
  }
  checker.text(view.title, 'view.title', BLOCK_KIT_LIMITS.modalTitle, 'plain_text');
  if (view.submit !== undefined)
    checker.text(view.submit, 'view.submit', BLOCK_KIT_LIMITS.modalButton, 'plain_text');
  if (view.close !== undefined)
    checker.text(view.close, 'view.close', BLOCK_KIT_LIMITS.modalButton, 'plain_text');
  checker.string(view.callback_id, 'view.callback_id', BLOCK_KIT_LIMITS.callbackId, false);
  if (view.private_metadata !== undefined && view.private_metadata !== '')
    checker.string(view.private_metadata, 'view.private_metadata', BLOCK_KIT_LIMITS.privateMetadata);
  checker.blocks(view.blocks, 'modal');
  return checker.violations;
}
