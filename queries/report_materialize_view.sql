-- report_materialize_view: a TEMP view `mirror_pairs` over the report's copy
-- (report_materialize.sql), so the tutorial's summary queries the report also runs
-- (mirror_summary.sql, mirror_by_mapping.sql, ttft.sql) read the copy instead of re-running
-- the view's joins. Only made when the connection has no TEMP `mirror_pairs` of its own (a
-- fleet's union view); it holds the window's pairs of :source only, which is all those
-- queries select. The column list is the `mirror_pairs` view's (migrations/V7): a column
-- added there must be added here. report_unmaterialize_view.sql drops it.
CREATE TEMP VIEW mirror_pairs AS
SELECT request_id, ts, ts_unix_ms, source, stream, has_tools, json_mode, primary_target,
    primary_model, primary_status, primary_latency_ms, primary_ttft_ms, primary_input_tokens,
    primary_output_tokens, primary_finish_reason, primary_answer_chars, primary_json_valid,
    shadow_target, shadow_model, shadow_status, shadow_http_status, shadow_latency_ms,
    shadow_ttft_ms, shadow_input_tokens, shadow_output_tokens, shadow_finish_reason,
    shadow_answer_chars, shadow_json_valid, tool_calls_agree, shadow_error_class,
    shadow_error_message, latency_diff_ms, token_count_diff, ttft_diff_ms, content_similarity,
    similarity_algorithm, semantic_similarity, judge_verdict, judge_score
FROM temp.report_pairs;
