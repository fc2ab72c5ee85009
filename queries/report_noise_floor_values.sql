-- report_noise_floor_values: each noise-floor similarity (the set report_noise_floor.sql
-- averages), per report group, in a fixed order so kt's bootstrap intervals are reproducible.
-- Columns: gkey, similarity.
SELECT
    CASE :by
        WHEN 'all' THEN '[]'
        WHEN 'model' THEN json_array(n.primary_model)
        WHEN 'hour' THEN json_array(strftime('%Y-%m-%dT%H:00:00Z', n.ts_unix_ms / 1000, 'unixepoch'))
        WHEN 'day' THEN json_array(strftime('%Y-%m-%d', n.ts_unix_ms / 1000, 'unixepoch'))
        ELSE json_array(n.primary_model, n.shadow_target, n.shadow_model)
    END AS gkey,
    n.content_similarity AS similarity
FROM noise_floor_pairs n
WHERE n.ts_unix_ms >= :since_ms AND n.ts_unix_ms < :until_ms
  AND n.status = 'success' AND n.content_similarity IS NOT NULL
ORDER BY gkey, n.ts_unix_ms, n.request_id;
