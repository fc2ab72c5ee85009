-- mirror_by_mapping: Step 6 figures per primary→shadow model pair, busiest pair first,
-- of :source 'live' or 'replay' (as in mirror_summary.sql).
-- Columns: primary_model, shadow_target, shadow_model, total_mirrored, shadow_failures,
--   avg_primary_latency_ms, avg_shadow_latency_ms, avg_primary_output_tokens,
--   avg_shadow_output_tokens, avg_similarity.
SELECT
    primary_model,
    shadow_target,
    shadow_model,
    COUNT(*) AS total_mirrored,
    COALESCE(SUM(shadow_status NOT IN ('success', 'pending')), 0) AS shadow_failures,
    CAST(ROUND(AVG(primary_latency_ms)) AS INTEGER) AS avg_primary_latency_ms,
    CAST(ROUND(AVG(CASE WHEN shadow_status = 'success' THEN shadow_latency_ms END)) AS INTEGER) AS avg_shadow_latency_ms,
    CAST(ROUND(AVG(primary_output_tokens)) AS INTEGER) AS avg_primary_output_tokens,
    CAST(ROUND(AVG(CASE WHEN shadow_status = 'success' THEN shadow_output_tokens END)) AS INTEGER) AS avg_shadow_output_tokens,
    ROUND(AVG(content_similarity), 2) AS avg_similarity
FROM mirror_pairs
WHERE source = :source AND ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms
GROUP BY primary_model, shadow_target, shadow_model
ORDER BY total_mirrored DESC, primary_model;
