-- V4: a tamper-evident audit chain. Why: the append-only triggers stop accidents and
-- analysts, but anyone with the file can drop them. Every row the writer inserts also
-- gets an entry here, in write order: the SHA-256 of the row's canonical content
-- (queries/audit_row_*.sql) and a hash linking it to the entry before, so
-- `kt audit verify` detects a row changed, deleted or inserted behind kt's back.

CREATE TABLE audit_chain (
    seq       INTEGER PRIMARY KEY,   -- write order
    tbl       TEXT NOT NULL,         -- 'requests' | 'shadow_results'
    row_key   TEXT NOT NULL,         -- requests.id, or request_id || '/' || shadow_target
    row_hash  TEXT NOT NULL,         -- sha256 hex of the row's canonical JSON
    prev_hash TEXT NOT NULL,         -- hash of the entry before (64 zeros for the first)
    hash      TEXT NOT NULL          -- sha256 hex of prev_hash || row_hash
);
CREATE INDEX audit_chain_row ON audit_chain (tbl, row_key);

CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;

-- An entry may only go together with its row (retention pruning).
CREATE TRIGGER audit_chain_guard_delete BEFORE DELETE ON audit_chain
WHEN (OLD.tbl = 'requests' AND EXISTS (SELECT 1 FROM requests WHERE id = OLD.row_key))
  OR (OLD.tbl = 'shadow_results' AND EXISTS (
        SELECT 1 FROM shadow_results WHERE request_id || '/' || shadow_target = OLD.row_key))
BEGIN SELECT RAISE(ABORT, 'an audit chain entry can only be removed with its row'); END;

-- The canonical content the chain hashes, one place for each table. The column lists are
-- fixed: columns added by later migrations are not covered, so old hashes stay valid.
CREATE VIEW audit_canonical_requests AS
SELECT rowid AS rid, id AS row_key, ts_unix_ms, json_array(
    id, ts, ts_unix_ms, target, provider, model, status, http_status, latency_ms,
    upstream_latency_ms, input_tokens, output_tokens, finish_reason, error_class,
    error_message, mirror_state, shadow_target, shadow_model, policy_findings, response_text,
    stream, ttft_ms, has_tools, json_mode, answer_chars, tool_calls, json_valid
) AS canonical
FROM requests;

CREATE VIEW audit_canonical_shadow_results AS
SELECT s.rowid AS rid, s.request_id || '/' || s.shadow_target AS row_key, json_array(
    s.request_id, s.shadow_target, s.kind, s.ts, s.provider, s.model, s.status, s.http_status,
    s.latency_ms, s.input_tokens, s.output_tokens, s.finish_reason, s.error_class,
    s.error_message, s.latency_diff_ms, s.token_count_diff, s.content_similarity,
    s.similarity_algorithm, s.response_text, s.stream, s.ttft_ms, s.ttft_diff_ms,
    s.answer_chars, s.tool_calls, s.json_valid, s.tool_calls_agree
) AS canonical
FROM shadow_results s;
