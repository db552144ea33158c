import type { SlackMessage } from '../../lambdas/shared/slack/messages';

/** A Block Kit message as a terminal would show it: text, and the buttons in brackets. */
export function printMessage(message: SlackMessage): void {
  for (const block of message.blocks as {
    type: string;
    text?: { text: string };
    elements?: { text?: { text: string } | string }[];
  }[]) {
    if (block.type === 'actions') {
      const labels = (block.elements ?? []).map(
        (e) => `[${typeof e.text === 'string' ? e.text : e.text?.text}]`,
      );
      console.log(`    ${labels.join(' ')}`);
    } else if (block.type === 'context') {
      console.log(
        `    ${(block.elements ?? []).map((e) => (typeof e.text === 'string' ? e.text : ((e as { text?: string }).text ?? ''))).join(' ')}`,
      );
    } else if (block.text) {
      for (const line of block.text.text.split('\n'))
        console.log(`    ${block.type === 'header' ? line.toUpperCase() : line}`);
    }
  }
}
