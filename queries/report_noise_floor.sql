-- report_noise_floor: the noise floor per report group (:by as in report_groups.sql): how
-- similar the primary is to itself when asked the same request twice
-- (traffic_mirror.noise_floor_rate), over successful noise-floor calls with a similarity.
-- Columns: gkey, n, similarity_mean.
WITH floor AS (
    SELECT n.content_similarity AS v,
        CASE :by
            WHEN 'all' THEN '[]'
            WHEN 'model' THEN json_array(n.primary_model)
            WHEN 'hour' THEN json_array(strftime('%Y-%m-%dT%H:00:00Z', n.ts_unix_ms / 1000, 'unixepoch'))
            WHEN 'day' THEN json_array(strftime('%Y-%m-%d', n.ts_unix_ms / 1000, 'unixepoch'))
            ELSE json_array(n.primary_model, n.shadow_target, n.shadow_model)
        END AS gkey
    FROM noise_floor_pairs n
    WHERE n.ts_unix_ms >= :since_ms AND n.ts_unix_ms < :until_ms
      AND n.status = 'success' AND n.content_similarity IS NOT NULL
)
SELECT gkey, COUNT(*) AS n, AVG(v) AS similarity_mean
FROM floor
GROUP BY gkey
ORDER BY gkey;
