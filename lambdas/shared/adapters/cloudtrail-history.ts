import { type CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';

/**
 * CloudTrail's event history (the last 90 days of management events, per account and region), one
 * event name at a time: LookupEvents takes a single lookup attribute. Yields each event's record (its
 * `CloudTrailEvent`, parsed); an event without one, or not JSON, is skipped. `pace` is awaited before
 * every call: the API allows 2 a second per account and region, and the SDK's retry handles the rest.
 */
export async function* lookupEvents(
  client: CloudTrailClient,
  query: { eventName: string; start: Date; end: Date; pace?: () => Promise<void> },
): AsyncGenerator<unknown> {
  let NextToken: string | undefined;
  do {
    await query.pace?.();
    const page = await client.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: query.eventName }],
        StartTime: query.start,
        EndTime: query.end,
        MaxResults: 50,
        NextToken,
      }),
    );
    for (const event of page.Events ?? []) {
      const record = parsed(event.CloudTrailEvent);
      if (record !== undefined) yield record;
    }
    NextToken = page.NextToken;
  } while (NextToken);
}

function parsed(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // not JSON: nothing to read a creator from
  }
}
