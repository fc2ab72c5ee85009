-- report_similarity: content similarity per report group (:by and :source as in report_groups.sql),
-- over compared pairs (both sides succeeded) with a similarity.
-- Reads `report_pairs`, the TEMP copy of the window's pairs: run report_materialize.sql
-- first on the same connection, with the same parameters.
-- Columns: gkey, n, mean, p10, p50, p90 (percentile_disc, as in report_latency.sql), and
--   h0 .. h9: the 10-bucket histogram, bucket i holding [i/10, (i+1)/10), the last one
--   including 1.0.
WITH pairs AS (
    SELECT p.content_similarity AS v,
        p.gkey AS gkey
    FROM report_pairs p
    WHERE p.primary_status = 'success' AND p.shadow_status = 'success'
      AND p.content_similarity IS NOT NULL
),
bucketed AS (
    SELECT gkey, v, MAX(0, MIN(9, CAST(v * 10 AS INTEGER))) AS bucket FROM pairs
)
SELECT gkey,
    COUNT(*) AS n,
    AVG(v) AS mean,
    percentile_disc(v, 0.1) AS p10,
    percentile_disc(v, 0.5) AS p50,
    percentile_disc(v, 0.9) AS p90,
    SUM(bucket = 0) AS h0, SUM(bucket = 1) AS h1, SUM(bucket = 2) AS h2, SUM(bucket = 3) AS h3,
    SUM(bucket = 4) AS h4, SUM(bucket = 5) AS h5, SUM(bucket = 6) AS h6, SUM(bucket = 7) AS h7,
    SUM(bucket = 8) AS h8, SUM(bucket = 9) AS h9
FROM bucketed
GROUP BY gkey
ORDER BY gkey;
