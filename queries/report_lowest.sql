-- report_lowest: the :limit least similar compared pairs per report group (:by and :source
-- as in report_groups.sql), lowest first, with the start of both answers when their text was
-- logged (traffic_mirror.log_shadow_response).
-- Reads `report_pairs`, the TEMP copy of the window's pairs: run report_materialize.sql
-- first on the same connection, with the same parameters.
-- Columns: gkey, request_id, similarity, primary_preview, primary_chars, shadow_preview,
--   shadow_chars (previews are the first 120 characters; NULL when not logged).
WITH pairs AS (
    SELECT p.request_id, p.shadow_target, p.content_similarity, p.ts_unix_ms,
        p.gkey AS gkey
    FROM report_pairs p
    WHERE p.primary_status = 'success' AND p.shadow_status = 'success'
      AND p.content_similarity IS NOT NULL
),
-- A group's lowest :limit pairs all lie at or below its percentile_disc at 0.1% when that
-- position holds at least :limit + 1 pairs: only those are ranked (a linear-time selection,
-- then a sort of ~0.1% of the pairs instead of all of them). Smaller groups rank every pair.
cut AS (
    SELECT gkey,
        CASE WHEN (COUNT(*) - 1) * 0.001 >= :limit + 1
            THEN percentile_disc(content_similarity, 0.001) END AS at_most
    FROM pairs
    GROUP BY gkey
),
ranked AS (
    SELECT p.*,
        ROW_NUMBER() OVER (PARTITION BY p.gkey ORDER BY p.content_similarity, p.ts_unix_ms, p.request_id) AS pos
    FROM pairs p
    JOIN cut c ON c.gkey = p.gkey
    WHERE c.at_most IS NULL OR p.content_similarity <= c.at_most
)
SELECT k.gkey, k.request_id, k.content_similarity AS similarity,
    substr(r.response_text, 1, 120) AS primary_preview, length(r.response_text) AS primary_chars,
    substr(s.response_text, 1, 120) AS shadow_preview, length(s.response_text) AS shadow_chars
FROM ranked k
JOIN requests r ON r.id = k.request_id
LEFT JOIN shadow_results s
    ON s.request_id = k.request_id AND s.shadow_target = k.shadow_target AND s.kind = (CASE :source WHEN 'replay' THEN 'replay' ELSE 'shadow' END)
WHERE k.pos <= :limit
ORDER BY k.gkey, k.pos;
