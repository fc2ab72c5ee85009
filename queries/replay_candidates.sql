-- replay_candidates: the next page of requests `kt mirror replay --shadow :target` sends:
-- replay_pending.sql's `pending` requests, oldest first, after the keyset position
-- (:after_ms, :after_id), at most :limit.
-- Columns: id, ts_unix_ms, model, shadow_model (from :mapping), request_body,
--   response_text (the primary's logged answer), stream, has_tools, json_mode,
--   upstream_latency_ms, ttft_ms, input_tokens, output_tokens, tool_calls.
SELECT r.id, r.ts_unix_ms, r.model, m.value AS shadow_model, r.request_body, r.response_text,
    r.stream, r.has_tools, r.json_mode, r.upstream_latency_ms, r.ttft_ms, r.input_tokens,
    r.output_tokens, r.tool_calls
FROM requests r
JOIN json_each(:mapping) m ON m.key = r.model
WHERE r.ts_unix_ms >= :since_ms AND r.ts_unix_ms < :until_ms
  AND r.status = 'success' AND r.request_body IS NOT NULL
  AND (r.ts_unix_ms, r.id) > (:after_ms, :after_id)
  AND NOT EXISTS (SELECT 1 FROM shadow_results s
                  WHERE s.request_id = r.id AND s.shadow_target = :target)
  -- A request mirrored live to :target is paired already, even while that shadow is still
  -- in flight: a replay row would take its (request, target) slot and the live row be lost.
  AND NOT (r.mirror_state = 'mirrored' AND r.shadow_target IS :target)
  AND NOT EXISTS (SELECT 1 FROM request_extra_shadows x
                  WHERE x.request_id = r.id AND x.shadow_target = :target)
ORDER BY r.ts_unix_ms, r.id
LIMIT :limit;
