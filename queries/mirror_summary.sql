-- mirror_summary: the tutorial's Step 6 figures over mirrored requests in a time window,
-- of :source 'live' (mirrored traffic) or 'replay' (`kt mirror replay`).
-- Columns: total_mirrored, shadow_completed, shadow_pending, shadow_failures,
--   avg_primary_latency_ms, avg_shadow_latency_ms, avg_latency_diff_ms,
--   avg_primary_output_tokens, avg_shadow_output_tokens, avg_token_count_diff,
--   avg_similarity, min_similarity, max_similarity.
-- Averages are rounded as the Step 6 jq program rounds them (integers; similarity to
-- 2 decimals). Primary figures cover every mirrored request once, however many shadows it
-- had (total_mirrored counts requests); shadow figures count shadow calls (a request
-- mirrored to two shadows adds two) and average successful shadows only (a failed or
-- pending shadow has no latency or tokens to average).
WITH pairs AS (
    SELECT * FROM mirror_pairs
    WHERE source = :source AND ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms
),
-- One row per request: the primary side is the same in each of its pairs.
requests_once AS (
    SELECT request_id, MIN(primary_latency_ms) AS latency_ms,
        MIN(primary_output_tokens) AS output_tokens
    FROM pairs
    GROUP BY request_id
)
SELECT
    (SELECT COUNT(*) FROM requests_once) AS total_mirrored,
    COALESCE(SUM(shadow_status = 'success'), 0) AS shadow_completed,
    COALESCE(SUM(shadow_status = 'pending'), 0) AS shadow_pending,
    COALESCE(SUM(shadow_status NOT IN ('success', 'pending')), 0) AS shadow_failures,
    (SELECT CAST(ROUND(AVG(latency_ms)) AS INTEGER) FROM requests_once) AS avg_primary_latency_ms,
    CAST(ROUND(AVG(CASE WHEN shadow_status = 'success' THEN shadow_latency_ms END)) AS INTEGER) AS avg_shadow_latency_ms,
    CAST(ROUND(AVG(latency_diff_ms)) AS INTEGER) AS avg_latency_diff_ms,
    (SELECT CAST(ROUND(AVG(output_tokens)) AS INTEGER) FROM requests_once) AS avg_primary_output_tokens,
    CAST(ROUND(AVG(CASE WHEN shadow_status = 'success' THEN shadow_output_tokens END)) AS INTEGER) AS avg_shadow_output_tokens,
    CAST(ROUND(AVG(token_count_diff)) AS INTEGER) AS avg_token_count_diff,
    ROUND(AVG(content_similarity), 2) AS avg_similarity,
    ROUND(MIN(content_similarity), 2) AS min_similarity,
    ROUND(MAX(content_similarity), 2) AS max_similarity
FROM pairs;
