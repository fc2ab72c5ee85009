-- insert_shadow: the writer's insert for one finished shadow call (table `shadow_results`).
-- OR IGNORE: a (request, shadow) pair is written once; a replayed batch must not fail.
INSERT OR IGNORE INTO shadow_results (
    request_id, shadow_target, ts, provider, model, status, http_status, latency_ms,
    input_tokens, output_tokens, finish_reason, error_class, error_message,
    latency_diff_ms, token_count_diff, content_similarity, similarity_algorithm, response_text,
    stream, ttft_ms, ttft_diff_ms, kind, answer_chars, tool_calls, json_valid, tool_calls_agree
) VALUES (
    :request_id, :shadow_target, :ts, :provider, :model, :status, :http_status, :latency_ms,
    :input_tokens, :output_tokens, :finish_reason, :error_class, :error_message,
    :latency_diff_ms, :token_count_diff, :content_similarity, :similarity_algorithm, :response_text,
    :stream, :ttft_ms, :ttft_diff_ms, :kind, :answer_chars, :tool_calls, :json_valid, :tool_calls_agree
);
