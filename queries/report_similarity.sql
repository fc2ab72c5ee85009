-- report_similarity: content similarity per report group (:by as in report_groups.sql),
-- over compared pairs (both sides succeeded) with a similarity.
-- Columns: gkey, n, mean, p10, p50, p90 (nearest-rank, as in report_latency.sql), and
--   h0 .. h9: the 10-bucket histogram, bucket i holding [i/10, (i+1)/10), the last one
--   including 1.0.
WITH pairs AS (
    SELECT p.content_similarity AS v,
        CASE :by
            WHEN 'all' THEN '[]'
            WHEN 'model' THEN json_array(p.primary_model)
            WHEN 'hour' THEN json_array(strftime('%Y-%m-%dT%H:00:00Z', p.ts_unix_ms / 1000, 'unixepoch'))
            WHEN 'day' THEN json_array(strftime('%Y-%m-%d', p.ts_unix_ms / 1000, 'unixepoch'))
            ELSE json_array(p.primary_model, p.shadow_target, p.shadow_model)
        END AS gkey
    FROM mirror_pairs p
    WHERE p.ts_unix_ms >= :since_ms AND p.ts_unix_ms < :until_ms
      AND p.primary_status = 'success' AND p.shadow_status = 'success'
      AND p.content_similarity IS NOT NULL
),
ranked AS (
    SELECT gkey, v,
        MAX(0, MIN(9, CAST(v * 10 AS INTEGER))) AS bucket,
        ROW_NUMBER() OVER (PARTITION BY gkey ORDER BY v) AS r,
        COUNT(*) OVER (PARTITION BY gkey) AS n
    FROM pairs
)
SELECT gkey,
    MAX(n) AS n,
    AVG(v) AS mean,
    MIN(CASE WHEN r * 100 >= 10 * n THEN v END) AS p10,
    MIN(CASE WHEN r * 100 >= 50 * n THEN v END) AS p50,
    MIN(CASE WHEN r * 100 >= 90 * n THEN v END) AS p90,
    SUM(bucket = 0) AS h0, SUM(bucket = 1) AS h1, SUM(bucket = 2) AS h2, SUM(bucket = 3) AS h3,
    SUM(bucket = 4) AS h4, SUM(bucket = 5) AS h5, SUM(bucket = 6) AS h6, SUM(bucket = 7) AS h7,
    SUM(bucket = 8) AS h8, SUM(bucket = 9) AS h9
FROM ranked
GROUP BY gkey
ORDER BY gkey;
