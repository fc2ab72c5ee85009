-- V5: several shadows, replay, and the shadow spend guard (issue #8). Columns and tables
-- are added, never changed; the mirror_pairs view is recreated with a `source` column.
--
-- * Several shadows: a request may be mirrored to more than one shadow target. The first
--   shadow stays in requests.shadow_target / shadow_model (so queries written for one
--   shadow keep working and the report's main join stays a single key lookup); every
--   further shadow of the request gets a row in request_extra_shadows.
-- * Replay (`kt mirror replay`): logged requests (traffic_mirror.log_requests) are re-sent
--   to a candidate later; each answer is a shadow_results row with kind = 'replay'.
-- * Spend guard: pauses and resumes of a shadow are rows of mirror_pauses; a request whose
--   only sampled shadows were paused is recorded with mirror_state = 'paused'.

-- The request as sent to the primary (JSON, after any `action: redact` policy), only with
-- traffic_mirror.log_requests: true. It holds prompts: treat the database accordingly.
ALTER TABLE requests ADD COLUMN request_body TEXT;

-- The second and later shadows of a mirrored request (the first is in `requests`).
CREATE TABLE request_extra_shadows (
    request_id    TEXT NOT NULL,
    shadow_target TEXT NOT NULL,
    shadow_model  TEXT NOT NULL,
    ts_unix_ms    INTEGER NOT NULL,          -- the request's time, for window queries
    PRIMARY KEY (request_id, shadow_target)
);
CREATE INDEX request_extra_shadows_ts ON request_extra_shadows (ts_unix_ms);

-- One row per pause or resume of a shadow by the spend guard.
CREATE TABLE mirror_pauses (
    ts            TEXT NOT NULL,             -- RFC 3339 UTC
    ts_unix_ms    INTEGER NOT NULL,
    shadow_target TEXT NOT NULL,
    event         TEXT NOT NULL,             -- pause | resume
    reason        TEXT NOT NULL,             -- spend_usd | spend_tokens | error_rate | new_day | config
    detail        TEXT                       -- the measured value and the limit, as a sentence
);
CREATE INDEX mirror_pauses_ts ON mirror_pauses (ts_unix_ms);

CREATE TRIGGER request_extra_shadows_no_update BEFORE UPDATE ON request_extra_shadows
BEGIN SELECT RAISE(ABORT, 'kt events are append-only'); END;
CREATE TRIGGER mirror_pauses_no_update BEFORE UPDATE ON mirror_pauses
BEGIN SELECT RAISE(ABORT, 'kt events are append-only'); END;
CREATE TRIGGER request_extra_shadows_guard_delete BEFORE DELETE ON request_extra_shadows
WHEN (SELECT value FROM kt_settings WHERE key = 'immutable') = '1'
 AND OLD.ts_unix_ms >= CAST((SELECT value FROM kt_settings WHERE key = 'retention_cutoff_ms') AS INTEGER)
BEGIN SELECT RAISE(ABORT, 'kt events are immutable until their retention period ends'); END;
CREATE TRIGGER mirror_pauses_guard_delete BEFORE DELETE ON mirror_pauses
WHEN (SELECT value FROM kt_settings WHERE key = 'immutable') = '1'
 AND OLD.ts_unix_ms >= CAST((SELECT value FROM kt_settings WHERE key = 'retention_cutoff_ms') AS INTEGER)
BEGIN SELECT RAISE(ABORT, 'kt events are immutable until their retention period ends'); END;

-- One row per (request, shadow) pair. source = 'live' for mirrored traffic (a shadow still
-- in flight appears with shadow_status = 'pending'), 'replay' for `kt mirror replay`.
DROP VIEW mirror_pairs;
CREATE VIEW mirror_pairs AS
SELECT
    r.id                AS request_id,
    r.ts                AS ts,
    r.ts_unix_ms        AS ts_unix_ms,
    'live'              AS source,
    r.stream            AS stream,
    r.has_tools         AS has_tools,
    r.json_mode         AS json_mode,
    r.target            AS primary_target,
    r.model             AS primary_model,
    r.status            AS primary_status,
    r.upstream_latency_ms AS primary_latency_ms,
    r.ttft_ms           AS primary_ttft_ms,
    r.input_tokens      AS primary_input_tokens,
    r.output_tokens     AS primary_output_tokens,
    r.finish_reason     AS primary_finish_reason,
    r.answer_chars      AS primary_answer_chars,
    r.json_valid        AS primary_json_valid,
    r.shadow_target     AS shadow_target,
    COALESCE(s.model, r.shadow_model) AS shadow_model,
    COALESCE(s.status, 'pending') AS shadow_status,
    s.http_status       AS shadow_http_status,
    s.latency_ms        AS shadow_latency_ms,
    s.ttft_ms           AS shadow_ttft_ms,
    s.input_tokens      AS shadow_input_tokens,
    s.output_tokens     AS shadow_output_tokens,
    s.finish_reason     AS shadow_finish_reason,
    s.answer_chars      AS shadow_answer_chars,
    s.json_valid        AS shadow_json_valid,
    s.tool_calls_agree  AS tool_calls_agree,
    s.error_class       AS shadow_error_class,
    s.error_message     AS shadow_error_message,
    s.latency_diff_ms   AS latency_diff_ms,
    s.token_count_diff  AS token_count_diff,
    s.ttft_diff_ms      AS ttft_diff_ms,
    s.content_similarity AS content_similarity,
    s.similarity_algorithm AS similarity_algorithm
FROM requests r
LEFT JOIN shadow_results s
    ON s.request_id = r.id AND s.shadow_target = r.shadow_target AND s.kind = 'shadow'
WHERE r.mirror_state = 'mirrored'
UNION ALL
-- (x.ts_unix_ms, equal to the request's, so a time window uses this table's index)
SELECT
    r.id, r.ts, x.ts_unix_ms, 'live', r.stream, r.has_tools, r.json_mode, r.target, r.model,
    r.status, r.upstream_latency_ms, r.ttft_ms, r.input_tokens, r.output_tokens,
    r.finish_reason, r.answer_chars, r.json_valid,
    x.shadow_target,
    COALESCE(s.model, x.shadow_model),
    COALESCE(s.status, 'pending'),
    s.http_status, s.latency_ms, s.ttft_ms, s.input_tokens, s.output_tokens, s.finish_reason,
    s.answer_chars, s.json_valid, s.tool_calls_agree, s.error_class, s.error_message,
    s.latency_diff_ms, s.token_count_diff, s.ttft_diff_ms, s.content_similarity,
    s.similarity_algorithm
FROM request_extra_shadows x
JOIN requests r ON r.id = x.request_id
LEFT JOIN shadow_results s
    ON s.request_id = x.request_id AND s.shadow_target = x.shadow_target AND s.kind = 'shadow'
UNION ALL
SELECT
    r.id, r.ts, r.ts_unix_ms, 'replay', r.stream, r.has_tools, r.json_mode, r.target, r.model,
    r.status, r.upstream_latency_ms, r.ttft_ms, r.input_tokens, r.output_tokens,
    r.finish_reason, r.answer_chars, r.json_valid,
    s.shadow_target, s.model, s.status,
    s.http_status, s.latency_ms, s.ttft_ms, s.input_tokens, s.output_tokens, s.finish_reason,
    s.answer_chars, s.json_valid, s.tool_calls_agree, s.error_class, s.error_message,
    s.latency_diff_ms, s.token_count_diff, s.ttft_diff_ms, s.content_similarity,
    s.similarity_algorithm
FROM shadow_results s
JOIN requests r ON r.id = s.request_id
WHERE s.kind = 'replay';
