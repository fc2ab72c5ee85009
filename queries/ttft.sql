-- ttft: time to first token of streamed mirrored traffic, per side (primary | shadow):
-- count, mean and p50/p90/p99, plus the mean paired difference; :source 'live' or 'replay'.
-- Columns: side, count, avg_ttft_ms, p50_ttft_ms, p90_ttft_ms, p99_ttft_ms, avg_ttft_diff_ms.
-- Percentiles: percentile_disc, the value at 0-based position floor(p * (count - 1)) of the
-- ascending values (as in report_latency.sql).
WITH sides AS (
    -- Each request once, however many shadows it had (its primary TTFT is one value).
    SELECT 'primary' AS side, MIN(primary_ttft_ms) AS v, AVG(ttft_diff_ms) AS d FROM mirror_pairs
    WHERE source = :source AND stream = 1 AND primary_ttft_ms IS NOT NULL AND ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms
    GROUP BY request_id
    UNION ALL
    SELECT 'shadow' AS side, shadow_ttft_ms AS v, ttft_diff_ms AS d FROM mirror_pairs
    WHERE source = :source AND stream = 1 AND shadow_ttft_ms IS NOT NULL AND ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms
)
SELECT
    side,
    COUNT(*) AS count,
    CAST(ROUND(AVG(v)) AS INTEGER) AS avg_ttft_ms,
    CAST(percentile_disc(v, 0.5) AS INTEGER) AS p50_ttft_ms,
    CAST(percentile_disc(v, 0.9) AS INTEGER) AS p90_ttft_ms,
    CAST(percentile_disc(v, 0.99) AS INTEGER) AS p99_ttft_ms,
    CAST(ROUND(AVG(d)) AS INTEGER) AS avg_ttft_diff_ms
FROM sides
GROUP BY side
ORDER BY side;
