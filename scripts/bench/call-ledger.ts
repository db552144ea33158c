/**
 * Counts AWS calls as the emulator sees them (through the fault proxy's `observe`, with no faults),
 * by the account each call acts in: a call signed with credentials that AssumeRole gave runs in the
 * role's account, any other in the hub's. An AssumeRole is counted for the account it is into, since
 * that account's scan is what it costs. Works whatever builds the clients, in whichever handler.
 */
import { callNameOf, type ForwardedCall } from '../emulator/fault-proxy';

export interface LedgerCall {
  /** The SigV4 signing name: `iam`, `sts`, `secretsmanager`, `dynamodb`, `organizations`, `s3`… */
  service: string;
  operation: string;
  /** The account it acts in (an AssumeRole: the account it is into). */
  account: string;
  /** DynamoDB items a write request puts, updates or deletes. */
  itemsWritten: number;
}

export const DYNAMODB_WRITES = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'TransactWriteItems',
  'BatchWriteItem',
]);

export interface CallLedger {
  observe(call: ForwardedCall): void;
  /** The account a call signed with these headers acts in, as far as the ledger has seen. */
  accountOf(headers: ForwardedCall['headers']): string;
  /** The calls since the last `take`, and forgets them (the accounts behind credentials are kept). */
  take(): LedgerCall[];
}

export function createCallLedger(hubAccount: string): CallLedger {
  const accountOfKey = new Map<string, string>();
  let calls: LedgerCall[] = [];
  const keyOf = (headers: ForwardedCall['headers']) =>
    /Credential=([^/]+)\//.exec(String(headers.authorization))?.[1] ?? '';
  return {
    accountOf: (headers) => accountOfKey.get(keyOf(headers)) ?? hubAccount,
    observe(call) {
      const { service, operation } = callNameOf(call.headers, call.body);
      let account = accountOfKey.get(keyOf(call.headers)) ?? hubAccount;
      if (service === 'sts' && operation === 'AssumeRole') {
        const into = /arn(?::|%3A)aws(?::|%3A)iam(?::|%3A){2}(\d{12})/.exec(call.body)?.[1];
        const key = /AccessKeyId["<>:\s]*([A-Z0-9]{16,128})/.exec(call.answer)?.[1];
        if (into) {
          account = into;
          if (key && call.status < 300) accountOfKey.set(key, into);
        }
      }
      calls.push({ service, operation, account, itemsWritten: itemsWritten(service, operation, call.body) });
    },
    take() {
      const taken = calls;
      calls = [];
      return taken;
    },
  };
}

function itemsWritten(service: string, operation: string, body: string): number {
  if (service !== 'dynamodb' || !DYNAMODB_WRITES.has(operation)) return 0;
  const request = JSON.parse(body) as {
    TransactItems?: Record<string, unknown>[];
    RequestItems?: Record<string, unknown[]>;
  };
  if (operation === 'TransactWriteItems')
    return (request.TransactItems ?? []).filter((t) => t.Put || t.Update || t.Delete).length;
  if (operation === 'BatchWriteItem')
    return Object.values(request.RequestItems ?? {}).reduce((n, items) => n + items.length, 0);
  return 1;
}
