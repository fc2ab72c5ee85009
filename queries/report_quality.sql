-- report_quality: answer-quality rates per report group (:by and :source as in report_groups.sql), over
-- compared pairs (both sides succeeded). A rate is NULL when no pair has the facts for it.
-- Columns: gkey, compared,
--   finish_n, finish_reason_agreement (pairs with both finish reasons: share equal),
--   empty_n, shadow_empty_rate, primary_empty_rate (an empty answer has answer_chars = 0
--     and no tool calls, or, when answer_chars is unknown, output_tokens = 0),
--   shadow_truncation_rate, primary_truncation_rate (share with finish_reason 'length'
--     among answers with a finish reason),
--   tools_n, tool_call_agreement (requests that offered tools, with a tool-call verdict:
--     share where both sides called the same tools with the same arguments),
--   json_n, primary_json_valid_rate, shadow_json_valid_rate (JSON-mode requests: share of
--     answers that parse as JSON).
WITH pairs AS (
    SELECT p.*,
        CASE :by
            WHEN 'all' THEN '[]'
            WHEN 'model' THEN json_array(p.primary_model)
            WHEN 'hour' THEN json_array(strftime('%Y-%m-%dT%H:00:00Z', p.ts_unix_ms / 1000, 'unixepoch'))
            WHEN 'day' THEN json_array(strftime('%Y-%m-%d', p.ts_unix_ms / 1000, 'unixepoch'))
            ELSE json_array(p.primary_model, p.shadow_target, p.shadow_model)
        END AS gkey,
        COALESCE(r.tool_calls, '[]') <> '[]' AS primary_called_tools,
        COALESCE(s.tool_calls, '[]') <> '[]' AS shadow_called_tools
    FROM mirror_pairs p
    JOIN requests r ON r.id = p.request_id
    JOIN shadow_results s
        ON s.request_id = p.request_id AND s.shadow_target = p.shadow_target AND s.kind = (CASE :source WHEN 'replay' THEN 'replay' ELSE 'shadow' END)
    WHERE p.source = :source AND p.ts_unix_ms >= :since_ms AND p.ts_unix_ms < :until_ms
      AND p.primary_status = 'success' AND p.shadow_status = 'success'
),
facts AS (
    SELECT gkey, has_tools, json_mode, tool_calls_agree, primary_json_valid, shadow_json_valid,
        CASE WHEN primary_finish_reason IS NOT NULL AND shadow_finish_reason IS NOT NULL
             THEN primary_finish_reason = shadow_finish_reason END AS finish_agree,
        CASE WHEN shadow_answer_chars IS NOT NULL THEN shadow_answer_chars = 0 AND NOT shadow_called_tools
             WHEN shadow_output_tokens IS NOT NULL THEN shadow_output_tokens = 0 END AS shadow_empty,
        CASE WHEN primary_answer_chars IS NOT NULL THEN primary_answer_chars = 0 AND NOT primary_called_tools
             WHEN primary_output_tokens IS NOT NULL THEN primary_output_tokens = 0 END AS primary_empty,
        CASE WHEN shadow_finish_reason IS NOT NULL THEN shadow_finish_reason = 'length' END AS shadow_truncated,
        CASE WHEN primary_finish_reason IS NOT NULL THEN primary_finish_reason = 'length' END AS primary_truncated
    FROM pairs
)
SELECT gkey,
    COUNT(*) AS compared,
    COUNT(finish_agree) AS finish_n,
    AVG(finish_agree) AS finish_reason_agreement,
    COUNT(shadow_empty) AS empty_n,
    AVG(shadow_empty) AS shadow_empty_rate,
    AVG(primary_empty) AS primary_empty_rate,
    AVG(shadow_truncated) AS shadow_truncation_rate,
    AVG(primary_truncated) AS primary_truncation_rate,
    COUNT(CASE WHEN has_tools = 1 THEN tool_calls_agree END) AS tools_n,
    AVG(CASE WHEN has_tools = 1 THEN tool_calls_agree END) AS tool_call_agreement,
    SUM(json_mode = 1) AS json_n,
    AVG(CASE WHEN json_mode = 1 THEN primary_json_valid END) AS primary_json_valid_rate,
    AVG(CASE WHEN json_mode = 1 THEN shadow_json_valid END) AS shadow_json_valid_rate
FROM facts
GROUP BY gkey
ORDER BY gkey;
