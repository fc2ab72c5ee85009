-- evaluation_spend_today: each evaluator's spend since :since_ms (the current UTC day's
-- midnight), so a gateway restart does not reset the evaluators' daily USD caps.
-- Columns: kind (semantic | judge), usd (sum of cost_usd; unpriced rows count 0).
SELECT kind, COALESCE(SUM(cost_usd), 0.0) AS usd
FROM evaluations
WHERE ts_unix_ms >= :since_ms
GROUP BY kind
ORDER BY kind;
