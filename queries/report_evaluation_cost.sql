-- report_evaluation_cost: what the evaluators themselves cost, per report group (:by and
-- :source as in report_groups.sql) and evaluator, kept apart from the primary's and the
-- shadow's cost. Every evaluation row of the window's pairs counts, failed ones included
-- (a failed call may still have been billed); skipped ones made no call.
-- Reads `report_pairs`, the TEMP copy of the window's pairs: run report_materialize.sql
-- first on the same connection, with the same parameters.
-- Columns: gkey, kind (semantic | judge), evaluations (rows), calls (rows that called the
--   evaluator: not skipped_cap), failed (error or timeout), skipped_cap, input_tokens,
--   output_tokens, usd (sum of cost_usd; NULL when no row had a price).
SELECT
    p.gkey AS gkey,
    e.kind AS kind,
    COUNT(*) AS evaluations,
    SUM(e.status <> 'skipped_cap') AS calls,
    SUM(e.status IN ('error', 'timeout')) AS failed,
    SUM(e.status = 'skipped_cap') AS skipped_cap,
    COALESCE(SUM(e.input_tokens), 0) AS input_tokens,
    COALESCE(SUM(e.output_tokens), 0) AS output_tokens,
    SUM(e.cost_usd) AS usd
FROM report_pairs p
JOIN evaluations e ON e.request_id = p.request_id AND e.shadow_target = p.shadow_target
GROUP BY 1, 2
ORDER BY 1, 2;
