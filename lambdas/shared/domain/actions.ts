/** Every kind of decision the record holds. */
export const DECISION_ACTIONS = [
  'flag',
  'notify',
  'remind',
  'escalate',
  'reauthorize',
  // Someone who may not decide tried to: kept in the record, nothing else changes.
  'refuse',
  // A change seen that asks nothing of anyone (it only reduced access): kept in the record.
  'observe',
  'rotate',
  'disable',
  'restore',
  'exempt',
  'delete',
  // Someone turned a credential reauth disabled back on outside reauth: the request reopens.
  'drift',
  // A security approver named the owner of a credential none was found for: a new request asks them.
  'assign-owner',
  // An owner's *Still needed, only what it uses*: kept, and narrowed to the services it used (#25).
  'right-size',
  // An owner's *Widen* (or *Restore*) of a right-size: reauth's deny taken off again.
  'widen',
] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];
