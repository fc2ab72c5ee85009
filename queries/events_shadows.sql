-- events_shadows: every shadow of one mirrored request (:request_id), in the order they
-- were called: the first (requests.shadow_target) then the extra ones
-- (request_extra_shadows, in insertion order), each with its shadow_results row (kind =
-- 'shadow'; NULL columns while the shadow is still in flight). For `kt events`.
-- Columns: ord, target, planned_model (from the request row), then the shadow_results
-- columns prefixed s_ and the comparison values.
SELECT
    ord, target, planned_model,
    s.provider AS s_provider, s.model AS s_model, s.status AS s_status, s.ts AS s_ts,
    s.http_status AS s_http_status, s.latency_ms AS s_latency_ms,
    s.ttft_ms AS s_ttft_ms, s.input_tokens AS s_input_tokens,
    s.output_tokens AS s_output_tokens, s.finish_reason AS s_finish_reason,
    s.error_class AS s_error_class, s.error_message AS s_error_message,
    s.similarity_algorithm AS s_similarity_algorithm, s.answer_chars AS s_answer_chars,
    s.json_valid AS s_json_valid, s.tool_calls AS s_tool_calls,
    s.tool_calls_agree AS s_tool_calls_agree, s.response_text AS s_response_text,
    s.latency_diff_ms, s.token_count_diff, s.ttft_diff_ms, s.content_similarity
FROM (
    SELECT 0 AS ord, r.id AS request_id, r.shadow_target AS target,
           r.shadow_model AS planned_model
    FROM requests r
    WHERE r.id = :request_id AND r.shadow_target IS NOT NULL
    UNION ALL
    SELECT x.rowid, x.request_id, x.shadow_target, x.shadow_model
    FROM request_extra_shadows x
    WHERE x.request_id = :request_id
) p
LEFT JOIN shadow_results s
    ON s.request_id = p.request_id AND s.shadow_target = p.target AND s.kind = 'shadow'
ORDER BY ord;
