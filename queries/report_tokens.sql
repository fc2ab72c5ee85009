-- report_tokens: tokens and estimated cost per report group (:by and :source as in report_groups.sql),
-- over compared pairs (both sides succeeded) whose four token counts are known.
-- :pricing is a JSON object {"MODEL": {"input_per_mtok": X, "output_per_mtok": Y}} (USD per
-- million tokens) that kt resolves from its pricing table for the models in the window.
-- Reads `report_pairs`, the TEMP copy of the window's pairs: run report_materialize.sql
-- first on the same connection, with the same parameters.
-- Columns: gkey, n, primary_input_mean, primary_output_mean, primary_input_total,
--   primary_output_total, shadow_input_mean, shadow_output_mean, shadow_input_total,
--   shadow_output_total, diff_input_mean, diff_output_mean (shadow - primary, paired),
--   primary_models, shadow_models (JSON arrays of the distinct models), primary_cost_mean,
--   shadow_cost_mean (USD per request; NULL unless every pair's model on that side is priced).
WITH pairs AS (
    SELECT p.*
    FROM report_pairs p
    WHERE p.primary_status = 'success' AND p.shadow_status = 'success'
      AND p.primary_input_tokens IS NOT NULL AND p.primary_output_tokens IS NOT NULL
      AND p.shadow_input_tokens IS NOT NULL AND p.shadow_output_tokens IS NOT NULL
),
prices AS MATERIALIZED (
    SELECT key AS model,
        json_extract(value, '$.input_per_mtok') AS input_per_mtok,
        json_extract(value, '$.output_per_mtok') AS output_per_mtok
    FROM json_each(:pricing)
    WHERE type = 'object'
),
costed AS (
    SELECT t.*,
        (t.primary_input_tokens * pp.input_per_mtok + t.primary_output_tokens * pp.output_per_mtok) / 1e6 AS primary_cost,
        (t.shadow_input_tokens * sp.input_per_mtok + t.shadow_output_tokens * sp.output_per_mtok) / 1e6 AS shadow_cost
    FROM pairs t
    LEFT JOIN prices pp ON pp.model = t.primary_model
    LEFT JOIN prices sp ON sp.model = t.shadow_model
)
SELECT gkey,
    COUNT(*) AS n,
    AVG(primary_input_tokens) AS primary_input_mean,
    AVG(primary_output_tokens) AS primary_output_mean,
    SUM(primary_input_tokens) AS primary_input_total,
    SUM(primary_output_tokens) AS primary_output_total,
    AVG(shadow_input_tokens) AS shadow_input_mean,
    AVG(shadow_output_tokens) AS shadow_output_mean,
    SUM(shadow_input_tokens) AS shadow_input_total,
    SUM(shadow_output_tokens) AS shadow_output_total,
    AVG(shadow_input_tokens - primary_input_tokens) AS diff_input_mean,
    AVG(shadow_output_tokens - primary_output_tokens) AS diff_output_mean,
    json_group_array(DISTINCT primary_model) AS primary_models,
    json_group_array(DISTINCT shadow_model) AS shadow_models,
    CASE WHEN COUNT(primary_cost) = COUNT(*) THEN AVG(primary_cost) END AS primary_cost_mean,
    CASE WHEN COUNT(shadow_cost) = COUNT(*) THEN AVG(shadow_cost) END AS shadow_cost_mean
FROM costed
GROUP BY gkey
ORDER BY gkey;
