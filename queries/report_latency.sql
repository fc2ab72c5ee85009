-- report_latency: latency and time-to-first-token distributions per report group (:by as in
-- report_groups.sql), over compared pairs (both sides succeeded) with both values known:
-- each side, and the paired difference (shadow - primary). TTFT covers streamed pairs only.
-- Columns: gkey, metric (latency | ttft), side (primary | shadow | diff), count, mean,
--   p50, p90, p99 (milliseconds). Percentiles are nearest-rank: the smallest value whose
--   rank r (1-based, ascending) satisfies r * 100 >= p * count.
WITH pairs AS (
    SELECT p.*,
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
),
lat AS (
    SELECT * FROM pairs WHERE primary_latency_ms IS NOT NULL AND shadow_latency_ms IS NOT NULL
),
ttft AS (
    SELECT * FROM pairs
    WHERE stream = 1 AND primary_ttft_ms IS NOT NULL AND shadow_ttft_ms IS NOT NULL
),
vals AS (
    SELECT gkey, 'latency' AS metric, 'primary' AS side, primary_latency_ms AS v FROM lat
    UNION ALL SELECT gkey, 'latency', 'shadow', shadow_latency_ms FROM lat
    UNION ALL SELECT gkey, 'latency', 'diff', shadow_latency_ms - primary_latency_ms FROM lat
    UNION ALL SELECT gkey, 'ttft', 'primary', primary_ttft_ms FROM ttft
    UNION ALL SELECT gkey, 'ttft', 'shadow', shadow_ttft_ms FROM ttft
    UNION ALL SELECT gkey, 'ttft', 'diff', shadow_ttft_ms - primary_ttft_ms FROM ttft
),
ranked AS (
    SELECT gkey, metric, side, v,
        ROW_NUMBER() OVER (PARTITION BY gkey, metric, side ORDER BY v) AS r,
        COUNT(*) OVER (PARTITION BY gkey, metric, side) AS n
    FROM vals
)
SELECT gkey, metric, side,
    MAX(n) AS count,
    AVG(v) AS mean,
    MIN(CASE WHEN r * 100 >= 50 * n THEN v END) AS p50,
    MIN(CASE WHEN r * 100 >= 90 * n THEN v END) AS p90,
    MIN(CASE WHEN r * 100 >= 99 * n THEN v END) AS p99
FROM ranked
GROUP BY gkey, metric, side
ORDER BY gkey, metric, side;
