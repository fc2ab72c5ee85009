-- report_judge: the LLM judge's verdicts (`compare_metrics: [judge]`) per report group
-- (:by and :source as in report_groups.sql), over compared pairs (both sides succeeded)
-- whose judge evaluation succeeded. A verdict is the shadow's answer against the
-- primary's: better (a win), same (a tie), worse (a loss). kt adds Wilson intervals.
-- Reads `report_pairs`, the TEMP copy of the window's pairs: run report_materialize.sql
-- first on the same connection, with the same parameters.
-- Columns: gkey, n, wins, ties, losses, mean_score (0.5 = as good as the primary).
WITH pairs AS (
    SELECT p.judge_verdict AS verdict, p.judge_score AS score,
        p.gkey AS gkey
    FROM report_pairs p
    WHERE p.primary_status = 'success' AND p.shadow_status = 'success'
      AND p.judge_verdict IS NOT NULL
)
SELECT gkey,
    COUNT(*) AS n,
    SUM(verdict = 'better') AS wins,
    SUM(verdict = 'same') AS ties,
    SUM(verdict = 'worse') AS losses,
    AVG(score) AS mean_score
FROM pairs
GROUP BY gkey
ORDER BY gkey;
