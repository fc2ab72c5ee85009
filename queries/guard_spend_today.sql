-- guard_spend_today: what each shadow target has spent so far today (UTC), per model, so
-- the spend guard starts a restarted gateway where the last one stopped. Counts live
-- shadow calls (kind 'shadow') that finished today; kt prices them with its pricing table.
-- :day_start_ms is today's UTC midnight in Unix ms, :day_start the same as RFC 3339
-- (shadow rows are dated by their text `ts`, the time the call finished; the request-time
-- bound only lets the index skip older days).
-- Columns: shadow_target, model, input_tokens, output_tokens, calls.
SELECT
    s.shadow_target,
    s.model,
    SUM(COALESCE(s.input_tokens, 0)) AS input_tokens,
    SUM(COALESCE(s.output_tokens, 0)) AS output_tokens,
    COUNT(*) AS calls
FROM shadow_results s
JOIN requests r ON r.id = s.request_id
WHERE r.ts_unix_ms >= :day_start_ms - 86400000
  AND s.ts >= :day_start
  AND s.kind = 'shadow'
GROUP BY s.shadow_target, s.model
ORDER BY s.shadow_target, s.model;
