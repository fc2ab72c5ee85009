-- mirror_states: why requests were or were not mirrored (mirrored, not_sampled,
-- no_model_mapping, disabled, dropped, paused, not_eligible), most frequent first.
-- Columns: mirror_state, count, share (fraction of all requests in the window).
SELECT
    mirror_state,
    COUNT(*) AS count,
    ROUND(CAST(COUNT(*) AS REAL) / (SELECT COUNT(*) FROM requests
        WHERE ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms), 4) AS share
FROM requests
WHERE ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms
GROUP BY mirror_state
ORDER BY count DESC, mirror_state;
