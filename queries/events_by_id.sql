-- events_by_id: the events whose id starts with :id_prefix (a full id or a prefix; ids
-- are lowercase UUIDs, so `< prefix || '~'` bounds the range and the primary key index
-- serves it), or whose client_request_id (the caller's x-request-id) is exactly :id_prefix,
-- at most :limit, in id (time) order. For `kt events show`.
-- Columns: the events_recent columns; the primary's logged answer and quality columns
-- (response_text, has_tools, json_mode, answer_chars, tool_calls, json_valid); the rest
-- of the shadow row prefixed s_; the noise-floor pair prefixed n_ (NULL when none).
SELECT
    r.rowid AS seq, r.id, r.ts, r.target, r.provider, r.model, r.status, r.http_status,
    r.latency_ms, r.upstream_latency_ms, r.input_tokens, r.output_tokens, r.finish_reason,
    r.error_class, r.error_message, r.mirror_state, r.shadow_target, r.shadow_model,
    r.policy_findings, r.stream, r.ttft_ms, r.client_request_id, r.ingress,
    r.response_text, r.has_tools, r.json_mode, r.answer_chars, r.tool_calls, r.json_valid,
    s.provider AS s_provider, s.model AS s_model, s.status AS s_status,
    s.http_status AS s_http_status, s.latency_ms AS s_latency_ms,
    s.input_tokens AS s_input_tokens, s.output_tokens AS s_output_tokens,
    s.error_class AS s_error_class, s.error_message AS s_error_message,
    s.ttft_ms AS s_ttft_ms,
    s.latency_diff_ms, s.token_count_diff, s.ttft_diff_ms, s.content_similarity,
    s.ts AS s_ts, s.finish_reason AS s_finish_reason,
    s.similarity_algorithm AS s_similarity_algorithm, s.response_text AS s_response_text,
    s.answer_chars AS s_answer_chars, s.tool_calls AS s_tool_calls,
    s.json_valid AS s_json_valid, s.tool_calls_agree AS s_tool_calls_agree,
    n.status AS n_status, n.latency_ms AS n_latency_ms, n.output_tokens AS n_output_tokens,
    n.content_similarity AS n_content_similarity, n.token_count_diff AS n_token_count_diff,
    n.latency_diff_ms AS n_latency_diff_ms
FROM requests r
LEFT JOIN shadow_results s
    ON s.request_id = r.id AND s.shadow_target = r.shadow_target AND s.kind = 'shadow'
LEFT JOIN shadow_results n
    ON n.request_id = r.id AND n.kind = 'noise_floor'
WHERE (r.id >= :id_prefix AND r.id < :id_prefix || '~')
   OR r.client_request_id = :id_prefix
ORDER BY r.id
LIMIT :limit;
