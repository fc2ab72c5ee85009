-- report_latency: latency and time-to-first-token distributions per report group (:by and
-- :source as in report_groups.sql), over compared pairs (both sides succeeded) with both values known:
-- each side, and the paired difference (shadow - primary). TTFT covers streamed pairs only.
-- Reads `report_pairs`, the TEMP copy of the window's pairs: run report_materialize.sql
-- first on the same connection, with the same parameters.
-- Columns: gkey, metric (latency | ttft), side (primary | shadow | diff), count, mean,
--   p50, p90, p99 (milliseconds).
-- Percentiles are SQLite's percentile_disc ("lower" rule, numpy's method='lower'): the
-- value at 0-based position floor(p * (count - 1)) of the ascending values. One scan, no
-- sort of the pairs: percentile_disc selects in linear time.
WITH pairs AS (
    SELECT
        p.gkey AS gkey,
        CASE WHEN p.shadow_latency_ms IS NOT NULL THEN p.primary_latency_ms END AS lp,
        CASE WHEN p.primary_latency_ms IS NOT NULL THEN p.shadow_latency_ms END AS ls,
        CASE WHEN p.stream = 1 AND p.shadow_ttft_ms IS NOT NULL THEN p.primary_ttft_ms END AS tp,
        CASE WHEN p.stream = 1 AND p.primary_ttft_ms IS NOT NULL THEN p.shadow_ttft_ms END AS ts
    FROM report_pairs p
    WHERE p.primary_status = 'success' AND p.shadow_status = 'success'
),
agg AS (
    SELECT gkey,
        COUNT(lp) AS lp_n, AVG(lp) AS lp_mean, percentile_disc(lp, 0.5) AS lp_50,
        percentile_disc(lp, 0.9) AS lp_90, percentile_disc(lp, 0.99) AS lp_99,
        COUNT(ls) AS ls_n, AVG(ls) AS ls_mean, percentile_disc(ls, 0.5) AS ls_50,
        percentile_disc(ls, 0.9) AS ls_90, percentile_disc(ls, 0.99) AS ls_99,
        COUNT(ls - lp) AS ld_n, AVG(ls - lp) AS ld_mean, percentile_disc(ls - lp, 0.5) AS ld_50,
        percentile_disc(ls - lp, 0.9) AS ld_90, percentile_disc(ls - lp, 0.99) AS ld_99,
        COUNT(tp) AS tp_n, AVG(tp) AS tp_mean, percentile_disc(tp, 0.5) AS tp_50,
        percentile_disc(tp, 0.9) AS tp_90, percentile_disc(tp, 0.99) AS tp_99,
        COUNT(ts) AS ts_n, AVG(ts) AS ts_mean, percentile_disc(ts, 0.5) AS ts_50,
        percentile_disc(ts, 0.9) AS ts_90, percentile_disc(ts, 0.99) AS ts_99,
        COUNT(ts - tp) AS td_n, AVG(ts - tp) AS td_mean, percentile_disc(ts - tp, 0.5) AS td_50,
        percentile_disc(ts - tp, 0.9) AS td_90, percentile_disc(ts - tp, 0.99) AS td_99
    FROM pairs
    GROUP BY gkey
),
long AS (
    SELECT gkey, 'latency' AS metric, 'primary' AS side, lp_n AS count, lp_mean AS mean, lp_50 AS p50, lp_90 AS p90, lp_99 AS p99 FROM agg
    UNION ALL SELECT gkey, 'latency', 'shadow', ls_n, ls_mean, ls_50, ls_90, ls_99 FROM agg
    UNION ALL SELECT gkey, 'latency', 'diff', ld_n, ld_mean, ld_50, ld_90, ld_99 FROM agg
    UNION ALL SELECT gkey, 'ttft', 'primary', tp_n, tp_mean, tp_50, tp_90, tp_99 FROM agg
    UNION ALL SELECT gkey, 'ttft', 'shadow', ts_n, ts_mean, ts_50, ts_90, ts_99 FROM agg
    UNION ALL SELECT gkey, 'ttft', 'diff', td_n, td_mean, td_50, td_90, td_99 FROM agg
)
SELECT * FROM long
WHERE count > 0
ORDER BY gkey, metric, side;
