-- report_pair_values: one row per compared pair (both sides succeeded) with the values kt's
-- bootstrap intervals resample, per report group (:by and :source as in report_groups.sql), in a fixed
-- order so the intervals are reproducible. :pricing as in report_tokens.sql.
-- Reads `report_pairs`, the TEMP copy of the window's pairs: run report_materialize.sql
-- first on the same connection, with the same parameters.
-- Columns: gkey, request_id, primary_latency_ms, shadow_latency_ms, primary_ttft_ms,
--   shadow_ttft_ms (streamed pairs only, else NULL), similarity, primary_cost_usd,
--   shadow_cost_usd (NULL when a token count or the model's price is unknown),
--   semantic_similarity (the embedding similarity, NULL unless evaluated).
WITH prices AS MATERIALIZED (
    SELECT key AS model,
        json_extract(value, '$.input_per_mtok') AS input_per_mtok,
        json_extract(value, '$.output_per_mtok') AS output_per_mtok
    FROM json_each(:pricing)
    WHERE type = 'object'
)
SELECT
    p.gkey AS gkey,
    p.request_id,
    p.primary_latency_ms,
    p.shadow_latency_ms,
    CASE WHEN p.stream = 1 THEN p.primary_ttft_ms END AS primary_ttft_ms,
    CASE WHEN p.stream = 1 THEN p.shadow_ttft_ms END AS shadow_ttft_ms,
    p.content_similarity AS similarity,
    (p.primary_input_tokens * pp.input_per_mtok + p.primary_output_tokens * pp.output_per_mtok) / 1e6 AS primary_cost_usd,
    (p.shadow_input_tokens * sp.input_per_mtok + p.shadow_output_tokens * sp.output_per_mtok) / 1e6 AS shadow_cost_usd,
    p.semantic_similarity
FROM report_pairs p
LEFT JOIN prices pp ON pp.model = p.primary_model
LEFT JOIN prices sp ON sp.model = p.shadow_model
WHERE p.primary_status = 'success' AND p.shadow_status = 'success'
ORDER BY gkey, p.ts_unix_ms, p.request_id;
