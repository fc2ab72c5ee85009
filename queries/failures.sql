-- failures: failed calls by side (primary | shadow), status and error class, most frequent
-- first, with one example message (never a key: kt redacts keys before storing). The shadow
-- side reads live shadows or replayed calls (:source 'live' or 'replay'). Embeddings
-- requests (ingress 'embeddings') are no completions and are left out.
-- Columns: side, target, status, error_class, http_status, count, example_message.
SELECT 'shadow' AS side, s.shadow_target AS target, s.status, s.error_class, s.http_status,
       COUNT(*) AS count, MAX(s.error_message) AS example_message
FROM shadow_results s
JOIN requests r ON r.id = s.request_id
WHERE s.status <> 'success' AND s.kind = (CASE :source WHEN 'replay' THEN 'replay' ELSE 'shadow' END) AND r.ts_unix_ms >= :since_ms AND r.ts_unix_ms < :until_ms
GROUP BY s.shadow_target, s.status, s.error_class, s.http_status
UNION ALL
SELECT 'primary' AS side, target, status, error_class, http_status,
       COUNT(*) AS count, MAX(error_message) AS example_message
FROM requests
WHERE status <> 'success' AND ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms
  AND ingress <> 'embeddings'
GROUP BY target, status, error_class, http_status
ORDER BY count DESC, side, target;
