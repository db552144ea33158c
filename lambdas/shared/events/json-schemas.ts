import * as z from 'zod';
import { REAUTH_EVENT_SOURCE, REAUTH_EVENTS, type ReauthEventType } from './schemas';

/** The file name of an event type's JSON Schema: `owner-departed.v1.json`. */
export function schemaFileName(type: ReauthEventType): string {
  return `${type.toLowerCase().replaceAll(' ', '-')}.v1.json`;
}

/**
 * The JSON Schema of one of reauth's events as publishers send it (PutEvents: Source, DetailType,
 * Detail), generated from the zod schema the consumer validates with, so the two cannot drift.
 */
export function eventJsonSchema(type: ReauthEventType): Record<string, unknown> {
  const event = z
    .strictObject({
      source: z.literal(REAUTH_EVENT_SOURCE),
      'detail-type': z.literal(type),
      detail: REAUTH_EVENTS[type].detail,
    })
    .describe(`reauth event "${type}", version 1: ${REAUTH_EVENTS[type].detail.description ?? ''}`);
  return {
    $id: `https://reauth.dev/schemas/events/${schemaFileName(type)}`,
    title: type,
    ...z.toJSONSchema(event, { unrepresentable: 'any' }),
  };
}
