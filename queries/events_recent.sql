-- events_recent: the newest :limit events matching the filters (requests joined with
-- their first shadow's result), newest first by request time; the caller reverses them
-- into chronological order. Only the mirror's shadow (kind = 'shadow') is joined, never a
-- noise-floor row; further shadows are read with events_shadows.sql.
-- Parameters, each NULL for no filter: :after_seq / :max_seq (insertion positions, for
-- `kt events tail --follow`), :since_ms (Unix ms), :provider (target that answered, or
-- any of its shadow targets), :model (requested model, or any of its shadows' models),
-- :status, :mirrored and :flagged (1 = only mirrored events / only events with policy
-- findings).
-- Columns: seq, the requests columns, then the shadow columns prefixed s_ (NULL when
-- there is no shadow row yet).
SELECT
    r.rowid AS seq, r.id, r.ts, r.target, r.provider, r.model, r.status, r.http_status,
    r.latency_ms, r.upstream_latency_ms, r.input_tokens, r.output_tokens, r.finish_reason,
    r.error_class, r.error_message, r.mirror_state, r.shadow_target, r.shadow_model,
    r.policy_findings, r.stream, r.ttft_ms, r.client_request_id, r.ingress,
    s.provider AS s_provider, s.model AS s_model, s.status AS s_status,
    s.http_status AS s_http_status, s.latency_ms AS s_latency_ms,
    s.input_tokens AS s_input_tokens, s.output_tokens AS s_output_tokens,
    s.error_class AS s_error_class, s.error_message AS s_error_message,
    s.ttft_ms AS s_ttft_ms,
    s.latency_diff_ms, s.token_count_diff, s.ttft_diff_ms, s.content_similarity
FROM requests r
LEFT JOIN shadow_results s
    ON s.request_id = r.id AND s.shadow_target = r.shadow_target AND s.kind = 'shadow'
WHERE r.rowid > COALESCE(:after_seq, 0)
  AND (:max_seq IS NULL OR r.rowid <= :max_seq)
  AND (:since_ms IS NULL OR r.ts_unix_ms >= :since_ms)
  AND (:provider IS NULL OR r.target = :provider OR r.shadow_target = :provider
       OR EXISTS (SELECT 1 FROM request_extra_shadows x
                  WHERE x.request_id = r.id AND x.shadow_target = :provider))
  AND (:model IS NULL OR r.model = :model OR r.shadow_model = :model OR s.model = :model
       OR EXISTS (SELECT 1 FROM request_extra_shadows x
                  WHERE x.request_id = r.id AND x.shadow_model = :model))
  AND (:status IS NULL OR r.status = :status)
  AND (COALESCE(:mirrored, 0) = 0 OR r.mirror_state = 'mirrored')
  AND (COALESCE(:flagged, 0) = 0
       OR (json_valid(r.policy_findings) AND json_array_length(r.policy_findings) > 0))
ORDER BY r.ts_unix_ms DESC, r.rowid DESC
LIMIT :limit;
