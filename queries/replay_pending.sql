-- replay_pending: what `kt mirror replay --shadow :target` would do in the window
-- [:since_ms, :until_ms): the successful requests with a logged body
-- (traffic_mirror.log_requests), split by whether they are already paired with :target (a
-- shadow_results row of any kind, or a live mirroring to :target still in flight: replayed
-- before or mirrored live; the resume rule) and
-- whether their model is a key of :mapping (a JSON object: primary model -> model to send).
-- Columns: logged, paired, unmapped (not paired, model not mapped), pending (to replay),
--   shadow_models (JSON array of the distinct models the pending requests are sent as).
WITH logged AS (
    SELECT r.id,
        (EXISTS (SELECT 1 FROM shadow_results s
                 WHERE s.request_id = r.id AND s.shadow_target = :target)
         -- mirrored live to :target: paired even while that shadow is in flight
         OR (r.mirror_state = 'mirrored' AND r.shadow_target IS :target)
         OR EXISTS (SELECT 1 FROM request_extra_shadows x
                    WHERE x.request_id = r.id AND x.shadow_target = :target)) AS paired,
        (SELECT m.value FROM json_each(:mapping) m WHERE m.key = r.model) AS shadow_model
    FROM requests r
    WHERE r.ts_unix_ms >= :since_ms AND r.ts_unix_ms < :until_ms
      AND r.status = 'success' AND r.request_body IS NOT NULL
)
SELECT
    COUNT(*) AS logged,
    COALESCE(SUM(paired), 0) AS paired,
    COALESCE(SUM(NOT paired AND shadow_model IS NULL), 0) AS unmapped,
    COALESCE(SUM(NOT paired AND shadow_model IS NOT NULL), 0) AS pending,
    (SELECT json_group_array(DISTINCT shadow_model) FROM logged
     WHERE NOT paired AND shadow_model IS NOT NULL) AS shadow_models
FROM logged;
