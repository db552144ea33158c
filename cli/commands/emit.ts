import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { Command } from 'commander';
import {
  REAUTH_EVENT_SOURCE,
  REAUTH_EVENTS,
  type ReauthEventType,
} from '../../lambdas/shared/events/schemas';
import { credentialIdArgument } from '../arguments';
import { awsClients } from '../aws';
import { UsageError } from '../errors';
import type { Outcome } from '../output';

interface EmitOptions {
  owner?: string;
  credentialId?: string;
  tag?: string;
  reason?: string;
  newRole?: string;
  provider?: string;
  bus: string;
  json?: boolean;
}

const TYPES = Object.keys(REAUTH_EVENTS) as ReauthEventType[];

export function registerEmit(program: Command, outcome: Outcome): void {
  program
    .command('emit')
    .summary("publish one of reauth's events on its bus")
    .description(
      `Publishes one of reauth's events on its bus, as HR and ITSM systems do with PutEvents: ${TYPES.map((t) => `"${t}"`).join(', ')}. "Owner Departed" and "Owner Role Changed" take --owner; "Purpose Changed" and "Provider Scope Changed" take --credential-id or --tag. Validated before it is sent.`,
    )
    .argument('<type>', `the event's detail-type: ${TYPES.map((t) => `"${t}"`).join(', ')}`)
    .option('--owner <id>', 'the owner concerned (Slack user id or email)')
    .option('--credential-id <id>', 'the credential concerned: <accountId>:<kind>:<id>', credentialIdArgument)
    .option('--tag <key=value>', 'the credentials tagged so')
    .option('--reason <text>', 'why, as the HR or ITSM system says it')
    .option('--new-role <role>', "the owner's new role (Owner Role Changed)")
    .option('--provider <name>', 'the provider whose scope changed (Provider Scope Changed)')
    .option('--bus <name>', 'the event bus (the stack output EventBusName)', 'reauth')
    .option('--json', 'print the event id, type and detail sent as JSON')
    .action(async (type: string, options: EmitOptions) => {
      if (!(type in REAUTH_EVENTS)) {
        throw new UsageError(`emit takes one event type: ${TYPES.map((t) => `"${t}"`).join(', ')}`);
      }
      const [tagKey, ...tagValue] = (options.tag ?? '').split('=');
      const selector = {
        ...(options.credentialId && { credentialId: options.credentialId }),
        ...(options.tag && { tag: { key: tagKey, value: tagValue.join('=') } }),
      };
      const detail = {
        schemaVersion: 1,
        ...(options.owner && { owner: options.owner }),
        ...(Object.keys(selector).length > 0 && { selector }),
        ...(options.reason && { reason: options.reason }),
        ...(options.newRole && { newRole: options.newRole }),
        ...(options.provider && { provider: options.provider }),
      };
      const checked = REAUTH_EVENTS[type as ReauthEventType].detail.safeParse(detail);
      if (!checked.success) {
        throw new UsageError(
          `"${type}": ${checked.error.issues.map((i) => `${i.path.join('.') || 'detail'}: ${i.message}`).join('; ')}`,
        );
      }
      const { Entries = [], FailedEntryCount } = await send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: options.bus,
              Source: REAUTH_EVENT_SOURCE,
              DetailType: type,
              Detail: JSON.stringify(checked.data),
            },
          ],
        }),
        options.bus,
      );
      if (FailedEntryCount)
        throw new Error(
          `EventBridge refused the event: ${Entries[0]?.ErrorCode} ${Entries[0]?.ErrorMessage}`,
        );
      console.log(
        options.json
          ? JSON.stringify({ eventId: Entries[0]?.EventId, type, bus: options.bus, detail: checked.data })
          : `sent "${type}" (event ${Entries[0]?.EventId}) to bus ${options.bus}`,
      );
      outcome.code = 0;
    });
}

/** PutEvents; a bus that does not exist is a usage error naming --bus, not AWS's words alone. */
async function send(command: PutEventsCommand, bus: string) {
  try {
    return await awsClients().events.send(command);
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    throw new UsageError(
      `--bus ${bus}: no such event bus in this account and region (${(error as Error).message}): pass --bus with the stack output EventBusName`,
    );
  }
}
