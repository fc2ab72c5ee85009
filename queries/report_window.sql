-- report_window: the traffic the shadow could take over in the window (mirror_state
-- mirrored, not_sampled, dropped or paused; for :source 'replay' also disabled, as in
-- report_groups.sql), for the cost projection's request rate, and the models of the
-- window's pairs of :source ('live' or 'replay'), which kt looks up in its pricing table.
-- Columns: first_ms, last_ms (first and last such request; NULL when none), requests,
--   models (JSON array of the distinct primary and shadow models of the window's pairs).
SELECT
    MIN(r.ts_unix_ms) AS first_ms,
    MAX(r.ts_unix_ms) AS last_ms,
    COUNT(*) AS requests,
    (SELECT json_group_array(model) FROM (
        SELECT model FROM requests
        WHERE :source = 'live' AND mirror_state = 'mirrored' AND ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms AND model IS NOT NULL
        UNION
        SELECT shadow_model FROM requests
        WHERE :source = 'live' AND mirror_state = 'mirrored' AND ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms AND shadow_model IS NOT NULL
        UNION
        -- A request's second and later shadows (several shadows) are priced too.
        SELECT COALESCE(s.model, x.shadow_model) FROM request_extra_shadows x
        LEFT JOIN shadow_results s
            ON s.request_id = x.request_id AND s.shadow_target = x.shadow_target AND s.kind = 'shadow'
        WHERE :source = 'live' AND x.ts_unix_ms >= :since_ms AND x.ts_unix_ms < :until_ms
        UNION
        SELECT rr.model FROM shadow_results s JOIN requests rr ON rr.id = s.request_id
        WHERE :source = 'replay' AND s.kind = 'replay' AND rr.ts_unix_ms >= :since_ms AND rr.ts_unix_ms < :until_ms AND rr.model IS NOT NULL
        UNION
        SELECT s.model FROM shadow_results s JOIN requests rr ON rr.id = s.request_id
        WHERE :source = 'replay' AND s.kind = 'replay' AND rr.ts_unix_ms >= :since_ms AND rr.ts_unix_ms < :until_ms
        ORDER BY 1)) AS models
FROM requests r
WHERE r.ts_unix_ms >= :since_ms AND r.ts_unix_ms < :until_ms
  AND (r.mirror_state IN ('mirrored', 'not_sampled', 'dropped', 'paused')
       OR (:source = 'replay' AND r.mirror_state = 'disabled'));
