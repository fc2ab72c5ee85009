-- report_semantic: embedding similarity (`compare_metrics: [semantic_similarity]`) per report
-- group (:by and :source as in report_groups.sql), over compared pairs (both sides
-- succeeded) whose semantic evaluation succeeded. kt adds the mean's bootstrap interval
-- from report_pair_values.sql's semantic_similarity column.
-- Columns: gkey, n, mean, p10, p50, p90 (percentile_disc, as in report_latency.sql).
WITH pairs AS (
    SELECT p.semantic_similarity AS v,
        CASE :by
            WHEN 'all' THEN '[]'
            WHEN 'model' THEN json_array(p.primary_model)
            WHEN 'hour' THEN json_array(strftime('%Y-%m-%dT%H:00:00Z', p.ts_unix_ms / 1000, 'unixepoch'))
            WHEN 'day' THEN json_array(strftime('%Y-%m-%d', p.ts_unix_ms / 1000, 'unixepoch'))
            ELSE json_array(p.primary_model, p.shadow_target, p.shadow_model)
        END AS gkey
    FROM mirror_pairs p
    WHERE p.source = :source AND p.ts_unix_ms >= :since_ms AND p.ts_unix_ms < :until_ms
      AND p.primary_status = 'success' AND p.shadow_status = 'success'
      AND p.semantic_similarity IS NOT NULL
)
SELECT gkey,
    COUNT(*) AS n,
    AVG(v) AS mean,
    percentile_disc(v, 0.1) AS p10,
    percentile_disc(v, 0.5) AS p50,
    percentile_disc(v, 0.9) AS p90
FROM pairs
GROUP BY gkey
ORDER BY gkey;
