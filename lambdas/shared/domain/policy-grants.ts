/**
 * Whether a policy document gives access, judged by what it says and not by the call that put it: a
 * deny-only policy (AWS's own leaked-key quarantine, `AWSDenyAll`, a team's `DenyAll`) takes access
 * away, whatever the call was named. Pure.
 *
 * The judgement is conservative, because a security tool that misses a widening is worse than one
 * that asks once too often: a document that cannot be read widens; a replacement narrows only when
 * every allow it holds was already there (the same statement, or the same with conditions added) and
 * every deny that was there still is. What an allow reaches beyond that is not computed: an allow
 * that is new in any way is a widening.
 */
import { canonicalJson } from './policy';
import { parsedDocument } from './reauth-marks';

/** What a document does to the principals it reaches, in words for the record and the owner. */
export interface Judgement {
  widens: boolean;
  /** `allows iam:*, s3:GetObject on *`, `denies only`, `adds only conditions and denies`. */
  why: string;
}

interface Statement {
  Effect?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Condition?: unknown;
}

/**
 * A policy document as IAM and CloudTrail carry it: parsed, JSON text, or URL-encoded JSON text (as
 * GetPolicyVersion and GetAccountAuthorizationDetails return it); undefined when it is none of these.
 */
export function parsePolicyDocument(document: unknown): { statements: Statement[] } | undefined {
  const parsed = parsedDocument(document);
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const raw = (parsed as { Statement?: unknown }).Statement;
  if (raw === undefined) return undefined;
  const list = Array.isArray(raw) ? raw : [raw];
  if (!list.every((s) => typeof s === 'object' && s !== null)) return undefined;
  return { statements: list as Statement[] };
}

/** A document added where none of it was before: it widens when it allows anything. */
export function judgeAdded(document: unknown): Judgement {
  const parsed = parsePolicyDocument(document);
  if (!parsed) return { widens: true, why: 'its document could not be read, so it counts as a widening' };
  const allows = parsed.statements.filter(isAllow);
  if (allows.length === 0) return { widens: false, why: 'it only denies' };
  return { widens: true, why: `it allows ${describeStatements(allows)}` };
}

/**
 * A document that takes the place of `previous` (a managed policy's new default version): it widens
 * unless every allow it holds was already allowed, at most with conditions added, and every deny of
 * `previous` is still there. `previous` unknown: judged as if added.
 */
export function judgeReplaced(previous: unknown, next: unknown): Judgement {
  const before = parsePolicyDocument(previous);
  if (!before) {
    const added = judgeAdded(next);
    return added.widens
      ? { ...added, why: `${added.why} (the version it replaced could not be read)` }
      : added;
  }
  const after = parsePolicyDocument(next);
  if (!after) return { widens: true, why: 'its document could not be read, so it counts as a widening' };
  const newAllows = after.statements
    .filter(isAllow)
    .filter((allow) => !before.statements.filter(isAllow).some((old) => narrowsOrKeeps(old, allow)));
  const lostDenies = before.statements
    .filter((s) => !isAllow(s))
    .filter((deny) => !after.statements.some((s) => sameStatement(s, deny)));
  if (newAllows.length === 0 && lostDenies.length === 0) {
    return { widens: false, why: 'it adds only conditions or denies to what was allowed' };
  }
  const parts = [
    ...(newAllows.length > 0 ? [`it allows ${describeStatements(newAllows)}`] : []),
    ...(lostDenies.length > 0
      ? [
          `it drops ${lostDenies.length === 1 ? 'a deny' : `${lostDenies.length} denies`} (${describeStatements(lostDenies)})`,
        ]
      : []),
  ];
  return { widens: true, why: `${parts.join(' and ')} beyond the version it replaced` };
}

/**
 * A permissions boundary put on a principal: the one it replaced is not in the event, so it widens
 * unless it allows nothing at all (a deny-only boundary leaves the principal no access).
 */
export function judgeBoundary(document: unknown): Judgement {
  const judged = judgeAdded(document);
  if (!judged.widens)
    return { widens: false, why: 'the boundary allows nothing, so the principal keeps no access' };
  return {
    widens: true,
    why: `the boundary ${judged.why.replace(/^it /, '')}; the one it replaced is not in the event, so it counts as a widening`,
  };
}

function isAllow(statement: Statement): boolean {
  return statement.Effect === 'Allow';
}

/** `old` allowed at least what `next` allows: the same statement, possibly with conditions added. */
function narrowsOrKeeps(old: Statement, next: Statement): boolean {
  const { Condition: oldCondition, ...oldRest } = normalized(old);
  const { Condition: nextCondition, ...nextRest } = normalized(next);
  if (canonicalJson(oldRest) !== canonicalJson(nextRest)) return false;
  // Every condition of `old` must still be there, as it was: a condition added only narrows.
  const nextKeys = new Map(conditionEntries(nextCondition));
  return conditionEntries(oldCondition).every(([key, values]) => nextKeys.get(key) === values);
}

function sameStatement(a: Statement, b: Statement): boolean {
  return canonicalJson(normalized(a)) === canonicalJson(normalized(b));
}

/** The statement without its Sid, each list sorted (IAM ignores their order) and actions lower-cased. */
function normalized(statement: Statement): Record<string, unknown> {
  const { Sid: _sid, ...rest } = statement as Statement & { Sid?: unknown };
  const list = (value: unknown, lower = false) =>
    value === undefined
      ? undefined
      : asStrings(value)
          .map((v) => (lower ? v.toLowerCase() : v))
          .sort();
  return {
    ...rest,
    ...(rest.Action !== undefined && { Action: list(rest.Action, true) }),
    ...(rest.NotAction !== undefined && { NotAction: list(rest.NotAction, true) }),
    ...(rest.Resource !== undefined && { Resource: list(rest.Resource) }),
    ...(rest.NotResource !== undefined && { NotResource: list(rest.NotResource) }),
  };
}

/** `operator|key` → its values, canonical. */
function conditionEntries(condition: unknown): [string, string][] {
  if (typeof condition !== 'object' || condition === null) return [];
  return Object.entries(condition).flatMap(([operator, keys]) =>
    typeof keys === 'object' && keys !== null
      ? Object.entries(keys).map(
          ([key, values]) =>
            [`${operator}|${key.toLowerCase()}`, canonicalJson(asStrings(values).sort())] as [string, string],
        )
      : [],
  );
}

const LISTED = 4;

/** `iam:*, s3:GetObject on *`, or `every action but iam:* on *` for a NotAction. */
function describeStatements(statements: Statement[]): string {
  const actions = [
    ...new Set(
      statements.flatMap((s) =>
        s.NotAction !== undefined
          ? [`every action but ${asStrings(s.NotAction).join(', ')}`]
          : asStrings(s.Action),
      ),
    ),
  ];
  const resources = [
    ...new Set(
      statements.flatMap((s) =>
        s.NotResource !== undefined
          ? [`every resource but ${asStrings(s.NotResource).join(', ')}`]
          : asStrings(s.Resource),
      ),
    ),
  ];
  const list = (items: string[]) =>
    items.length === 0
      ? '(none named)'
      : items.length > LISTED
        ? `${items.slice(0, LISTED).join(', ')} and ${items.length - LISTED} more`
        : items.join(', ');
  return `${list(actions)} on ${list(resources)}`;
}

function asStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}
