-- V3: answer quality and the noise floor. Why: the migration report judges more than
-- latency and words: whether both sides called the same tools with the same arguments,
-- whether JSON-mode answers are valid JSON, empty answers; and it needs primary-vs-primary
-- pairs (the noise floor) to tell model randomness from a real difference.
-- Columns are added, never changed; the views are recreated with the new columns.

ALTER TABLE requests ADD COLUMN has_tools INTEGER NOT NULL DEFAULT 0;   -- the request offered tools
ALTER TABLE requests ADD COLUMN json_mode INTEGER NOT NULL DEFAULT 0;   -- response_format json_object/json_schema
ALTER TABLE requests ADD COLUMN answer_chars INTEGER;                   -- characters of the primary's answer text
ALTER TABLE requests ADD COLUMN tool_calls TEXT;                        -- canonical JSON [{name, arguments}] or NULL
ALTER TABLE requests ADD COLUMN json_valid INTEGER;                     -- json_mode only: answer parses as JSON (0/1)

-- kind = 'shadow' for the mirror's shadow, 'noise_floor' for the primary asked a second
-- time (traffic_mirror.noise_floor_rate); shadow_target is then the primary's id.
ALTER TABLE shadow_results ADD COLUMN kind TEXT NOT NULL DEFAULT 'shadow';
ALTER TABLE shadow_results ADD COLUMN answer_chars INTEGER;
ALTER TABLE shadow_results ADD COLUMN tool_calls TEXT;
ALTER TABLE shadow_results ADD COLUMN json_valid INTEGER;
ALTER TABLE shadow_results ADD COLUMN tool_calls_agree INTEGER;         -- has_tools only: same names and arguments (0/1)

CREATE INDEX shadow_results_kind ON shadow_results (kind, request_id);
CREATE INDEX requests_mirrored ON requests (mirror_state, ts_unix_ms);

DROP VIEW mirror_pairs;
CREATE VIEW mirror_pairs AS
SELECT
    r.id                AS request_id,
    r.ts                AS ts,
    r.ts_unix_ms        AS ts_unix_ms,
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
WHERE r.mirror_state = 'mirrored';

-- One row per noise-floor pair: the primary's answer vs the primary asked again.
CREATE VIEW noise_floor_pairs AS
SELECT
    r.id                AS request_id,
    r.ts                AS ts,
    r.ts_unix_ms        AS ts_unix_ms,
    r.target            AS primary_target,
    r.model             AS primary_model,
    r.shadow_target     AS shadow_target,
    r.shadow_model      AS shadow_model,
    n.status            AS status,
    n.latency_ms        AS latency_ms,
    n.output_tokens     AS output_tokens,
    n.content_similarity AS content_similarity,
    n.token_count_diff  AS token_count_diff,
    n.latency_diff_ms   AS latency_diff_ms
FROM requests r
JOIN shadow_results n ON n.request_id = r.id AND n.kind = 'noise_floor';
