-- report_quality: answer-quality rates per report group (:by and :source as in report_groups.sql), over
-- compared pairs (both sides succeeded). A rate is NULL when no pair has the facts for it.
-- Reads `report_pairs`, the TEMP copy of the window's pairs: run report_materialize.sql
-- first on the same connection, with the same parameters.
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
    SELECT p.*
    FROM report_pairs p
    WHERE p.primary_status = 'success' AND p.shadow_status = 'success'
),
-- Whether a side called tools is looked up only for an empty-looking answer (answer_chars
-- 0): the CASE skips the lookup for every other pair.
facts AS (
    SELECT gkey, has_tools, json_mode, tool_calls_agree, primary_json_valid, shadow_json_valid,
        CASE WHEN primary_finish_reason IS NOT NULL AND shadow_finish_reason IS NOT NULL
             THEN primary_finish_reason = shadow_finish_reason END AS finish_agree,
        CASE WHEN shadow_answer_chars IS NOT NULL THEN CASE WHEN shadow_answer_chars = 0 THEN NOT (
                SELECT COALESCE(s.tool_calls, '[]') <> '[]' FROM shadow_results s
                WHERE s.request_id = pairs.request_id AND s.shadow_target = pairs.shadow_target
                  AND s.kind = (CASE :source WHEN 'replay' THEN 'replay' ELSE 'shadow' END)) ELSE 0 END
             WHEN shadow_output_tokens IS NOT NULL THEN shadow_output_tokens = 0 END AS shadow_empty,
        CASE WHEN primary_answer_chars IS NOT NULL THEN CASE WHEN primary_answer_chars = 0 THEN NOT (
                SELECT COALESCE(r.tool_calls, '[]') <> '[]' FROM requests r
                WHERE r.id = pairs.request_id) ELSE 0 END
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
