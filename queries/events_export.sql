-- events_export: every live mirrored pair (view mirror_pairs: one row per request and
-- shadow, extra shadows included) at or after :since_ms (NULL = all), oldest first and,
-- within a request, its first shadow first, for `kt events export` (an evaluation
-- dataset). A shadow still in flight has status 'pending'. Answer texts are NULL unless
-- `log_shadow_response` stored them; prompts are never exported.
-- Columns: request_id, ts, stream, ingress (the caller's API), policy_findings; primary: p_target, p_provider,
--   p_model, p_status, p_http_status, p_latency_ms (time waiting on the primary),
--   p_ttft_ms, p_input_tokens, p_output_tokens, p_finish_reason, p_error_class,
--   p_error_message, p_text; shadow: the same prefixed s_; comparison: latency_diff_ms,
--   token_count_diff, ttft_diff_ms, content_similarity, similarity_algorithm.
SELECT
    p.request_id, p.ts, p.stream, r.ingress, r.policy_findings,
    p.primary_target AS p_target, r.provider AS p_provider, p.primary_model AS p_model,
    p.primary_status AS p_status, r.http_status AS p_http_status,
    p.primary_latency_ms AS p_latency_ms, p.primary_ttft_ms AS p_ttft_ms,
    p.primary_input_tokens AS p_input_tokens, p.primary_output_tokens AS p_output_tokens,
    p.primary_finish_reason AS p_finish_reason, r.error_class AS p_error_class,
    r.error_message AS p_error_message, r.response_text AS p_text,
    p.shadow_target AS s_target, s.provider AS s_provider, p.shadow_model AS s_model,
    p.shadow_status AS s_status, p.shadow_http_status AS s_http_status,
    p.shadow_latency_ms AS s_latency_ms, p.shadow_ttft_ms AS s_ttft_ms,
    p.shadow_input_tokens AS s_input_tokens, p.shadow_output_tokens AS s_output_tokens,
    p.shadow_finish_reason AS s_finish_reason, p.shadow_error_class AS s_error_class,
    p.shadow_error_message AS s_error_message, s.response_text AS s_text,
    p.latency_diff_ms, p.token_count_diff, p.ttft_diff_ms, p.content_similarity,
    p.similarity_algorithm
FROM mirror_pairs p
JOIN requests r ON r.id = p.request_id
LEFT JOIN shadow_results s
    ON s.request_id = p.request_id AND s.shadow_target = p.shadow_target
   AND s.kind = 'shadow'
WHERE p.source = 'live'
  AND (:since_ms IS NULL OR p.ts_unix_ms >= :since_ms)
ORDER BY p.ts_unix_ms, r.rowid, p.shadow_target IS NOT r.shadow_target, p.shadow_target;
