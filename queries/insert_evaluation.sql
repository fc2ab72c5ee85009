-- insert_evaluation: the writer's insert for one evaluation of a (request, shadow) pair
-- (table `evaluations`). OR IGNORE: a pair is evaluated once per kind.
INSERT OR IGNORE INTO evaluations (
    request_id, shadow_target, kind, ts, ts_unix_ms, evaluator_target, evaluator_model,
    status, score, verdict, reason, positions, truncated, input_tokens, output_tokens,
    cost_usd, latency_ms, error_class, error_message)
VALUES (
    :request_id, :shadow_target, :kind, :ts, :ts_unix_ms, :evaluator_target, :evaluator_model,
    :status, :score, :verdict, :reason, :positions, :truncated, :input_tokens, :output_tokens,
    :cost_usd, :latency_ms, :error_class, :error_message);
