-- V2: streaming. Why: streamed answers need a flag and their time to first token (TTFT)
-- on both sides, and the comparison needs the TTFT difference. Columns are added, never
-- changed (the schema is a public interface); the view is recreated with the new columns.

ALTER TABLE requests ADD COLUMN stream INTEGER NOT NULL DEFAULT 0;   -- 1 when the caller asked for stream: true
ALTER TABLE requests ADD COLUMN ttft_ms INTEGER;                     -- time to the first content chunk (streams only)
ALTER TABLE shadow_results ADD COLUMN stream INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shadow_results ADD COLUMN ttft_ms INTEGER;
ALTER TABLE shadow_results ADD COLUMN ttft_diff_ms INTEGER;          -- shadow - primary TTFT (compare_metrics: ttft)

DROP VIEW mirror_pairs;
CREATE VIEW mirror_pairs AS
SELECT
    r.id                AS request_id,
    r.ts                AS ts,
    r.ts_unix_ms        AS ts_unix_ms,
    r.stream            AS stream,
    r.target            AS primary_target,
    r.model             AS primary_model,
    r.status            AS primary_status,
    r.upstream_latency_ms AS primary_latency_ms,
    r.ttft_ms           AS primary_ttft_ms,
    r.input_tokens      AS primary_input_tokens,
    r.output_tokens     AS primary_output_tokens,
    r.finish_reason     AS primary_finish_reason,
    r.shadow_target     AS shadow_target,
    COALESCE(s.model, r.shadow_model) AS shadow_model,
    COALESCE(s.status, 'pending') AS shadow_status,
    s.latency_ms        AS shadow_latency_ms,
    s.ttft_ms           AS shadow_ttft_ms,
    s.input_tokens      AS shadow_input_tokens,
    s.output_tokens     AS shadow_output_tokens,
    s.finish_reason     AS shadow_finish_reason,
    s.error_class       AS shadow_error_class,
    s.error_message     AS shadow_error_message,
    s.latency_diff_ms   AS latency_diff_ms,
    s.token_count_diff  AS token_count_diff,
    s.ttft_diff_ms      AS ttft_diff_ms,
    s.content_similarity AS content_similarity,
    s.similarity_algorithm AS similarity_algorithm
FROM requests r
LEFT JOIN shadow_results s
    ON s.request_id = r.id AND s.shadow_target = r.shadow_target
WHERE r.mirror_state = 'mirrored';
