-- mirror_states: why requests were or were not mirrored (mirrored, not_sampled,
-- no_model_mapping, disabled, dropped, paused, not_eligible), most frequent first.
-- Embeddings requests (ingress 'embeddings') are no completions and are left out, so a
-- busy embeddings caller does not shrink every share.
-- Columns: mirror_state, count, share (fraction of all requests in the window).
SELECT
    mirror_state,
    COUNT(*) AS count,
    ROUND(CAST(COUNT(*) AS REAL) / (SELECT COUNT(*) FROM requests
        WHERE ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms
          AND ingress <> 'embeddings'), 4) AS share
FROM requests
WHERE ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms AND ingress <> 'embeddings'
GROUP BY mirror_state
ORDER BY count DESC, mirror_state;
