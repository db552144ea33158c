-- Query reauth's decision record with SQL: Amazon Athena over the DynamoDB exports in the evidence
-- bucket (DYNAMODB_JSON, gzipped, one {"Item": {...}} per line). Replace <bucket> and <prefix>: the
-- stack output EvidenceBucketName, and the export's prefix (e.g. exports/full/2026-11-23/AWSDynamoDB/<id>/data/).
-- test/unit/athena-ddl.test.ts checks these columns against the attributes the store writes.

CREATE EXTERNAL TABLE IF NOT EXISTS reauth_export (
  Item struct<
    pk: struct<S: string>,
    sk: struct<S: string>,
    credentialId: struct<S: string>,
    accountId: struct<S: string>,
    kind: struct<S: string>,
    principal: struct<S: string>,
    owner: struct<S: string>,
    action: struct<S: string>,
    reason: struct<S: string>,
    actor: struct<S: string>,
    at: struct<S: string>,
    mode: struct<S: string>,
    policyId: struct<S: string>,
    schemaVersion: struct<N: string>,
    seq: struct<N: string>,
    prevHash: struct<S: string>,
    hash: struct<S: string>,
    evidence: struct<M: string>
  >
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('case.insensitive' = 'false')
LOCATION 's3://<bucket>/<prefix>';

-- One row per decision, with plain columns.
CREATE OR REPLACE VIEW reauth_decisions AS
SELECT
  Item.credentialId.S AS credential_id,
  Item.accountId.S AS account_id,
  Item.kind.S AS kind,
  Item.principal.S AS principal,
  Item.owner.S AS owner,
  CAST(Item.seq.N AS integer) AS seq,
  from_iso8601_timestamp(Item.at.S) AS at,
  Item.action.S AS action,
  Item.actor.S AS actor,
  Item.reason.S AS reason,
  Item.mode.S AS mode,
  Item.policyId.S AS policy_id,
  CAST(Item.schemaVersion.N AS integer) AS schema_version,
  Item.prevHash.S AS prev_hash,
  Item.hash.S AS hash,
  -- Who answered, as Slack named them then (schema 2; NULL on schema 1 decisions and system ones).
  json_extract_scalar(Item.evidence.M, '$.actorName.S') AS actor_name,
  json_extract_scalar(Item.evidence.M, '$.actorEmail.S') AS actor_email,
  json_extract_scalar(Item.evidence.M, '$.approver.S') AS approver,
  json_extract_scalar(Item.evidence.M, '$.until.S') AS until,
  -- Sessions this decision ended: those issued before this moment (NULL: it ended none).
  from_iso8601_timestamp(json_extract_scalar(Item.evidence.M, '$.revokedSessions.M.issuedBefore.S')) AS sessions_revoked_before,
  -- Where it was last used (the credential report; a role has a region only).
  json_extract_scalar(Item.evidence.M, '$.lastUsedService.S') AS last_used_service,
  json_extract_scalar(Item.evidence.M, '$.lastUsedRegion.S') AS last_used_region,
  -- Why it was flagged (L of S), and what a usage-changed flag asked about.
  json_extract(Item.evidence.M, '$.triggers.L') AS triggers_json,
  json_extract(Item.evidence.M, '$.usageChange.M') AS usage_change_json,
  Item.evidence.M AS evidence_json
FROM reauth_export
WHERE Item.sk.S LIKE 'DECISION#%';

-- Example: who approved what, until when, this quarter.
-- SELECT credential_id, principal, approver, actor_name, actor_email, reason, until
-- FROM reauth_decisions WHERE action = 'reauthorize' AND at >= timestamp '2026-10-01 00:00:00' ORDER BY at;

-- Example: every session revocation, and what made it (a disable, a rotated key's end, a widened trust).
-- SELECT credential_id, principal, action, actor, reason, sessions_revoked_before
-- FROM reauth_decisions WHERE sessions_revoked_before IS NOT NULL ORDER BY at;

-- Example: credentials used in a new way (usage-changed), and where from.
-- SELECT credential_id, principal, owner, at, last_used_service, last_used_region, reason
-- FROM reauth_decisions
-- WHERE action = 'flag' AND json_format(triggers_json) LIKE '%"usage-changed"%'
-- ORDER BY at;
