-- V7: semantic comparison (issue #10). Why: word-level similarity tells whether two answers
-- use the same words, not whether they say the same thing. The opt-in evaluators
-- (`compare_metrics: [semantic_similarity, judge]`) run off the request path after a
-- successful shadow call and record one row per evaluation here; their own tokens and cost
-- stay in this table, never mixed into the primary's or the shadow's. The mirror_pairs view
-- is recreated with the evaluations' headline values. Tables and columns are only added.

CREATE TABLE evaluations (
    request_id       TEXT NOT NULL,
    shadow_target    TEXT NOT NULL,
    kind             TEXT NOT NULL,          -- semantic | judge
    ts               TEXT NOT NULL,          -- RFC 3339 UTC, when the evaluation finished
    ts_unix_ms       INTEGER NOT NULL,
    evaluator_target TEXT NOT NULL,          -- the target the evaluator called
    evaluator_model  TEXT NOT NULL,
    status           TEXT NOT NULL,          -- success | error | timeout | skipped_cap
    score            REAL,                   -- semantic: cosine similarity; judge: the shadow's
                                             -- quality relative to the primary's, 0.5 = as good
    verdict          TEXT,                   -- judge: better | same | worse (the shadow vs the primary)
    reason           TEXT,                   -- judge: its short reason (of the primary-first call)
    positions        TEXT,                   -- judge: JSON array, one object per call in call order:
                                             -- {a, b (which answer was shown as A and B), verdict,
                                             -- score, reason (as the judge answered, B vs A)}
    truncated        INTEGER,                -- 1 when a text was cut to max_input_chars
    input_tokens     INTEGER,                -- the evaluator's own use (both calls of a judge)
    output_tokens    INTEGER,
    cost_usd         REAL,                   -- tokens x the model's price; NULL when unpriced
    latency_ms       INTEGER,
    error_class      TEXT,                   -- timeout | http_4xx | http_5xx | connect |
                                             -- invalid_response | invalid_judgement | empty_answer | cancelled | ...
    error_message    TEXT
);
-- One evaluation of each kind per pair: the view joins on this key.
CREATE UNIQUE INDEX evaluations_pair ON evaluations (request_id, shadow_target, kind);
CREATE INDEX evaluations_ts ON evaluations (ts_unix_ms);

CREATE TRIGGER evaluations_no_update BEFORE UPDATE ON evaluations
BEGIN SELECT RAISE(ABORT, 'kt events are append-only'); END;
-- Immutable while the request it evaluates is (like shadow_results: by the request's time).
CREATE TRIGGER evaluations_guard_delete BEFORE DELETE ON evaluations
WHEN (SELECT value FROM kt_settings WHERE key = 'immutable') = '1'
 AND (SELECT ts_unix_ms FROM requests WHERE id = OLD.request_id) >=
     CAST((SELECT value FROM kt_settings WHERE key = 'retention_cutoff_ms') AS INTEGER)
BEGIN SELECT RAISE(ABORT, 'kt events are immutable until their retention period ends'); END;

-- V5's view, every column kept, plus semantic_similarity, judge_verdict and judge_score
-- (NULL unless that evaluation succeeded) on each of the three arms.
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
    s.similarity_algorithm AS similarity_algorithm,
    es.score            AS semantic_similarity,
    ej.verdict          AS judge_verdict,
    ej.score            AS judge_score
FROM requests r
LEFT JOIN shadow_results s
    ON s.request_id = r.id AND s.shadow_target = r.shadow_target AND s.kind = 'shadow'
LEFT JOIN evaluations es
    ON es.request_id = r.id AND es.shadow_target = r.shadow_target AND es.kind = 'semantic'
LEFT JOIN evaluations ej
    ON ej.request_id = r.id AND ej.shadow_target = r.shadow_target AND ej.kind = 'judge'
WHERE r.mirror_state = 'mirrored'
UNION ALL
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
    s.similarity_algorithm,
    es.score, ej.verdict, ej.score
FROM request_extra_shadows x
JOIN requests r ON r.id = x.request_id
LEFT JOIN shadow_results s
    ON s.request_id = x.request_id AND s.shadow_target = x.shadow_target AND s.kind = 'shadow'
LEFT JOIN evaluations es
    ON es.request_id = x.request_id AND es.shadow_target = x.shadow_target AND es.kind = 'semantic'
LEFT JOIN evaluations ej
    ON ej.request_id = x.request_id AND ej.shadow_target = x.shadow_target AND ej.kind = 'judge'
UNION ALL
SELECT
    r.id, r.ts, r.ts_unix_ms, 'replay', r.stream, r.has_tools, r.json_mode, r.target, r.model,
    r.status, r.upstream_latency_ms, r.ttft_ms, r.input_tokens, r.output_tokens,
    r.finish_reason, r.answer_chars, r.json_valid,
    s.shadow_target, s.model, s.status,
    s.http_status, s.latency_ms, s.ttft_ms, s.input_tokens, s.output_tokens, s.finish_reason,
    s.answer_chars, s.json_valid, s.tool_calls_agree, s.error_class, s.error_message,
    s.latency_diff_ms, s.token_count_diff, s.ttft_diff_ms, s.content_similarity,
    s.similarity_algorithm,
    es.score, ej.verdict, ej.score
FROM shadow_results s
JOIN requests r ON r.id = s.request_id
LEFT JOIN evaluations es
    ON es.request_id = s.request_id AND es.shadow_target = s.shadow_target AND es.kind = 'semantic'
LEFT JOIN evaluations ej
    ON ej.request_id = s.request_id AND ej.shadow_target = s.shadow_target AND ej.kind = 'judge'
WHERE s.kind = 'replay';
