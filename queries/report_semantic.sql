-- report_semantic: embedding similarity (`compare_metrics: [semantic_similarity]`) per report
-- group (:by and :source as in report_groups.sql), over compared pairs (both sides
-- succeeded) whose semantic evaluation succeeded. kt adds the mean's bootstrap interval
-- from report_pair_values.sql's semantic_similarity column.
-- Reads `report_pairs`, the TEMP copy of the window's pairs: run report_materialize.sql
-- first on the same connection, with the same parameters.
-- Columns: gkey, n, mean, p10, p50, p90 (percentile_disc, as in report_latency.sql).
WITH pairs AS (
    SELECT p.semantic_similarity AS v,
        p.gkey AS gkey
    FROM report_pairs p
    WHERE p.primary_status = 'success' AND p.shadow_status = 'success'
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
