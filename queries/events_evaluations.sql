-- events_evaluations: every evaluation of one request (:request_id), for `kt events show`:
-- the semantic similarity and the judge's verdict, score and reason per shadow target.
-- Columns: the `evaluations` columns, by shadow target then kind.
SELECT shadow_target, kind, ts, evaluator_target, evaluator_model, status, score, verdict,
    reason, positions, truncated, input_tokens, output_tokens, cost_usd, latency_ms,
    error_class, error_message
FROM evaluations
WHERE request_id = :request_id
ORDER BY shadow_target, kind;
