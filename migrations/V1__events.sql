-- V1: the event log. Why: every answered request needs a durable row, and every
-- shadow call its own row, written independently so a primary event never waits for
-- its shadow (append-only: the primary's row when it answers, the shadow's row when it
-- finishes; the `mirror_pairs` view joins them). This schema is a public interface:
-- analysts query it with sqlite3 while kt runs, so columns are only ever added.

-- One row per request kt answered (or rejected), written when the answer is sent.
CREATE TABLE requests (
    id              TEXT PRIMARY KEY,          -- UUIDv7, sorts by time
    ts              TEXT NOT NULL,             -- RFC 3339 UTC, millisecond precision
    ts_unix_ms      INTEGER NOT NULL,          -- same instant, for range queries
    target          TEXT NOT NULL,             -- target id that answered (the primary)
    provider        TEXT NOT NULL,             -- provider kind: openai | anthropic | simulated
    model           TEXT,                      -- model the caller asked for (NULL if unparseable)
    status          TEXT NOT NULL,             -- success | error | blocked | rejected
    http_status     INTEGER NOT NULL,          -- status kt returned to the caller
    latency_ms      INTEGER NOT NULL,          -- time from request received to answer ready
    upstream_latency_ms INTEGER,               -- time spent waiting on the primary (NULL if not called)
    input_tokens    INTEGER,
    output_tokens   INTEGER,
    finish_reason   TEXT,
    error_class     TEXT,                      -- http_4xx | http_5xx | timeout | connect | invalid_response | missing_key | untranslatable | bad_request | policy
    error_message   TEXT,
    mirror_state    TEXT NOT NULL,             -- mirrored | not_sampled | no_model_mapping | disabled | dropped | not_eligible
    shadow_target   TEXT,                      -- planned shadow when mirror_state = 'mirrored'
    shadow_model    TEXT,
    policy_findings TEXT NOT NULL DEFAULT '[]',-- JSON array of {policy, action, kind, location, count}; never the matched text
    response_text   TEXT                       -- primary answer text, only with log_shadow_response
);
CREATE INDEX requests_ts ON requests (ts_unix_ms);

-- One row per finished shadow call, keyed by (request, shadow target) so several shadows
-- per request need no schema change. Comparison values are NULL when not computed
-- (metric not in compare_metrics, or either side failed).
CREATE TABLE shadow_results (
    request_id          TEXT NOT NULL,
    shadow_target       TEXT NOT NULL,
    ts                  TEXT NOT NULL,         -- when the shadow finished
    provider            TEXT NOT NULL,
    model               TEXT NOT NULL,         -- model sent to the shadow (after model_mapping)
    status              TEXT NOT NULL,         -- success | error | timeout
    http_status         INTEGER,               -- upstream status, NULL when none was received
    latency_ms          INTEGER NOT NULL,      -- time until the shadow answered or failed
    input_tokens        INTEGER,
    output_tokens       INTEGER,
    finish_reason       TEXT,
    error_class         TEXT,
    error_message       TEXT,
    latency_diff_ms     INTEGER,               -- shadow - primary
    token_count_diff    INTEGER,               -- shadow - primary output tokens
    content_similarity  REAL,                  -- [0, 1]
    similarity_algorithm TEXT,                 -- e.g. 'cosine_words_v1'
    response_text       TEXT,                  -- only with log_shadow_response
    PRIMARY KEY (request_id, shadow_target)
);

-- One row per mirrored request and shadow: the analyst's main entry point.
-- A shadow still in flight appears with shadow_status = 'pending'.
CREATE VIEW mirror_pairs AS
SELECT
    r.id                AS request_id,
    r.ts                AS ts,
    r.ts_unix_ms        AS ts_unix_ms,
    r.target            AS primary_target,
    r.model             AS primary_model,
    r.status            AS primary_status,
    r.upstream_latency_ms AS primary_latency_ms,
    r.input_tokens      AS primary_input_tokens,
    r.output_tokens     AS primary_output_tokens,
    r.finish_reason     AS primary_finish_reason,
    r.shadow_target     AS shadow_target,
    COALESCE(s.model, r.shadow_model) AS shadow_model,
    COALESCE(s.status, 'pending') AS shadow_status,
    s.latency_ms        AS shadow_latency_ms,
    s.input_tokens      AS shadow_input_tokens,
    s.output_tokens     AS shadow_output_tokens,
    s.finish_reason     AS shadow_finish_reason,
    s.error_class       AS shadow_error_class,
    s.error_message     AS shadow_error_message,
    s.latency_diff_ms   AS latency_diff_ms,
    s.token_count_diff  AS token_count_diff,
    s.content_similarity AS content_similarity,
    s.similarity_algorithm AS similarity_algorithm
FROM requests r
LEFT JOIN shadow_results s
    ON s.request_id = r.id AND s.shadow_target = r.shadow_target
WHERE r.mirror_state = 'mirrored';

-- kt never updates an event; these triggers make the log append-only for everyone.
CREATE TRIGGER requests_no_update BEFORE UPDATE ON requests
BEGIN SELECT RAISE(ABORT, 'kt events are append-only'); END;
CREATE TRIGGER shadow_results_no_update BEFORE UPDATE ON shadow_results
BEGIN SELECT RAISE(ABORT, 'kt events are append-only'); END;

-- Settings the gateway writes at start from the audit_logger policy. With
-- immutable = '1', no event younger than the retention cutoff can be deleted, by kt or
-- by an analyst; retention pruning deletes only rows older than the cutoff.
CREATE TABLE kt_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO kt_settings (key, value) VALUES ('immutable', '0'), ('retention_cutoff_ms', '0');

CREATE TRIGGER requests_guard_delete BEFORE DELETE ON requests
WHEN (SELECT value FROM kt_settings WHERE key = 'immutable') = '1'
 AND OLD.ts_unix_ms >= CAST((SELECT value FROM kt_settings WHERE key = 'retention_cutoff_ms') AS INTEGER)
BEGIN SELECT RAISE(ABORT, 'kt events are immutable until their retention period ends'); END;
CREATE TRIGGER shadow_results_guard_delete BEFORE DELETE ON shadow_results
WHEN (SELECT value FROM kt_settings WHERE key = 'immutable') = '1'
 AND (SELECT ts_unix_ms FROM requests WHERE id = OLD.request_id) >=
     CAST((SELECT value FROM kt_settings WHERE key = 'retention_cutoff_ms') AS INTEGER)
BEGIN SELECT RAISE(ABORT, 'kt events are immutable until their retention period ends'); END;
