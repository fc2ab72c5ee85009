-- report_window: the traffic the shadow could take over in the window (mirror_state
-- mirrored, not_sampled, dropped or paused), for the cost projection's request rate, and the models
-- of the mirrored pairs, which kt looks up in its pricing table.
-- Columns: first_ms, last_ms (first and last such request; NULL when none), requests,
--   models (JSON array of the distinct primary and shadow models of the window's pairs).
SELECT
    MIN(r.ts_unix_ms) AS first_ms,
    MAX(r.ts_unix_ms) AS last_ms,
    COUNT(*) AS requests,
    (SELECT json_group_array(model) FROM (
        SELECT model FROM requests
        WHERE mirror_state = 'mirrored' AND ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms AND model IS NOT NULL
        UNION
        SELECT shadow_model FROM requests
        WHERE mirror_state = 'mirrored' AND ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms AND shadow_model IS NOT NULL
        ORDER BY 1)) AS models
FROM requests r
WHERE r.ts_unix_ms >= :since_ms AND r.ts_unix_ms < :until_ms
  AND r.mirror_state IN ('mirrored', 'not_sampled', 'dropped', 'paused');
