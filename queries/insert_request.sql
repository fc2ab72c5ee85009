-- insert_request: the writer's insert for one answered request (table `requests`).
-- Named parameters match the column names.
INSERT INTO requests (
    id, ts, ts_unix_ms, target, provider, model, status, http_status, latency_ms,
    upstream_latency_ms, input_tokens, output_tokens, finish_reason, error_class,
    error_message, mirror_state, shadow_target, shadow_model, policy_findings, response_text,
    stream, ttft_ms, has_tools, json_mode, answer_chars, tool_calls, json_valid, request_body,
    client_request_id, ingress
) VALUES (
    :id, :ts, :ts_unix_ms, :target, :provider, :model, :status, :http_status, :latency_ms,
    :upstream_latency_ms, :input_tokens, :output_tokens, :finish_reason, :error_class,
    :error_message, :mirror_state, :shadow_target, :shadow_model, :policy_findings, :response_text,
    :stream, :ttft_ms, :has_tools, :json_mode, :answer_chars, :tool_calls, :json_valid, :request_body,
    :client_request_id, :ingress
);
