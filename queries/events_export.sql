-- events_export: every mirrored pair at or after :since_ms (NULL = all), oldest first,
-- for `kt events export` (an evaluation dataset). Only the mirror's shadow
-- (kind = 'shadow') is joined; a shadow still in flight has status 'pending'. Answer
-- texts are NULL unless `log_shadow_response` stored them; prompts are never stored.
-- Columns: request_id, ts, stream, policy_findings; primary: p_target, p_provider,
--   p_model, p_status, p_http_status, p_latency_ms (time waiting on the primary),
--   p_ttft_ms, p_input_tokens, p_output_tokens, p_finish_reason, p_error_class,
--   p_error_message, p_text; shadow: the same prefixed s_; comparison: latency_diff_ms,
--   token_count_diff, ttft_diff_ms, content_similarity, similarity_algorithm.
SELECT
    r.id AS request_id, r.ts, r.stream, r.policy_findings,
    r.target AS p_target, r.provider AS p_provider, r.model AS p_model,
    r.status AS p_status, r.http_status AS p_http_status,
    r.upstream_latency_ms AS p_latency_ms, r.ttft_ms AS p_ttft_ms,
    r.input_tokens AS p_input_tokens, r.output_tokens AS p_output_tokens,
    r.finish_reason AS p_finish_reason, r.error_class AS p_error_class,
    r.error_message AS p_error_message, r.response_text AS p_text,
    r.shadow_target AS s_target, s.provider AS s_provider,
    COALESCE(s.model, r.shadow_model) AS s_model,
    COALESCE(s.status, 'pending') AS s_status, s.http_status AS s_http_status,
    s.latency_ms AS s_latency_ms, s.ttft_ms AS s_ttft_ms,
    s.input_tokens AS s_input_tokens, s.output_tokens AS s_output_tokens,
    s.finish_reason AS s_finish_reason, s.error_class AS s_error_class,
    s.error_message AS s_error_message, s.response_text AS s_text,
    s.latency_diff_ms, s.token_count_diff, s.ttft_diff_ms, s.content_similarity,
    s.similarity_algorithm
FROM requests r
LEFT JOIN shadow_results s
    ON s.request_id = r.id AND s.shadow_target = r.shadow_target AND s.kind = 'shadow'
WHERE r.mirror_state = 'mirrored'
  AND (:since_ms IS NULL OR r.ts_unix_ms >= :since_ms)
ORDER BY r.ts_unix_ms, r.rowid;
