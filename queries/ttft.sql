-- ttft: time to first token of streamed mirrored traffic, per side (primary | shadow):
-- count, mean and nearest-rank p50/p90/p99, plus the mean paired difference.
-- Columns: side, count, avg_ttft_ms, p50_ttft_ms, p90_ttft_ms, p99_ttft_ms, avg_ttft_diff_ms.
-- Nearest rank: the smallest value whose rank r satisfies r * 100 >= p * n.
WITH sides AS (
    SELECT 'primary' AS side, primary_ttft_ms AS v, ttft_diff_ms AS d FROM mirror_pairs
    WHERE stream = 1 AND primary_ttft_ms IS NOT NULL AND ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms
    UNION ALL
    SELECT 'shadow' AS side, shadow_ttft_ms AS v, ttft_diff_ms AS d FROM mirror_pairs
    WHERE stream = 1 AND shadow_ttft_ms IS NOT NULL AND ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms
),
ranked AS (
    SELECT side, v, d,
           ROW_NUMBER() OVER (PARTITION BY side ORDER BY v) AS r,
           COUNT(*) OVER (PARTITION BY side) AS n
    FROM sides
)
SELECT
    side,
    MAX(n) AS count,
    CAST(ROUND(AVG(v)) AS INTEGER) AS avg_ttft_ms,
    MIN(CASE WHEN r * 100 >= 50 * n THEN v END) AS p50_ttft_ms,
    MIN(CASE WHEN r * 100 >= 90 * n THEN v END) AS p90_ttft_ms,
    MIN(CASE WHEN r * 100 >= 99 * n THEN v END) AS p99_ttft_ms,
    CAST(ROUND(AVG(d)) AS INTEGER) AS avg_ttft_diff_ms
FROM ranked
GROUP BY side
ORDER BY side;
