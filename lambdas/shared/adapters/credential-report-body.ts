import type { GetCredentialReportCommand } from '@aws-sdk/client-iam';

/**
 * GetCredentialReport's answer with its `Content` (the whole report, base64: 2.2 MB at 10,000 access
 * keys) as one CDATA section. The SDK's XML parser builds a text node a character at a time
 * (`text += x[i++]`, @aws-sdk/xml-builder), and for this one node that made a string per character,
 * some 80 MB of garbage at 10,000 keys: the scan's largest peak. A CDATA section it reads with one
 * `indexOf` and `slice`. The text is the same either way, since base64 holds no `]]>`.
 */
export function withContentAsCdata(command: GetCredentialReportCommand): GetCredentialReportCommand {
  command.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const response = result.response as { statusCode?: number; body?: unknown };
      // Errors (a report in progress, absent or expired) are small: the SDK reads them as they come.
      if (response.statusCode !== 200 || !isAsyncIterable(response.body)) return result;
      const chunks: Uint8Array[] = [];
      for await (const chunk of response.body) chunks.push(chunk as Uint8Array);
      response.body = Buffer.from(contentAsCdata(Buffer.concat(chunks).toString('utf8')));
      return result;
    },
    // Innermost of the deserialize step: it sees the HTTP response before the SDK parses it.
    { step: 'deserialize', priority: 'low', name: 'reauthCredentialReportAsCdata' },
  );
  return command;
}

const OPEN = '<Content>';
const CLOSE = '</Content>';

/** The XML with the text of its `<Content>` element in a CDATA section; unchanged without one. */
export function contentAsCdata(xml: string): string {
  const open = xml.indexOf(OPEN);
  const close = open < 0 ? -1 : xml.indexOf(CLOSE, open);
  if (close < 0) return xml;
  const text = xml.slice(open + OPEN.length, close);
  if (text.includes(']]>') || text.includes('<')) return xml; // not base64: left to the SDK as it is
  return `${xml.slice(0, open + OPEN.length)}<![CDATA[${text}]]>${xml.slice(close)}`;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | undefined)?.[Symbol.asyncIterator] === 'function';
}
