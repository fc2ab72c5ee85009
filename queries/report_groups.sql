-- report_groups: one row per report group, busiest first. Like every report_*.sql over
-- pairs it reads the report's copy of the window's pairs (`report_pairs`, made by
-- report_materialize.sql with the same parameters), whose gkey :by picked:
-- 'mapping' (primary model → shadow target/model, the default), 'model' (primary model),
-- 'hour', 'day' (UTC buckets of the request time) or 'all' (one group for the window).
-- :source picks the pairs: 'live' (mirrored traffic) or 'replay' (`kt mirror replay`).
-- Columns: gkey (JSON array of the key parts, in that order; [] for 'all'), pairs (mirrored
--   requests), completed (shadow succeeded), pending (shadow in flight), compared (both
--   sides succeeded: the pairs every paired figure covers), primary_failed, shadow_failed
--   (shadow finished but did not succeed), first_ms (first pair's time, to place hour/day
--   buckets), traffic (requests the shadow could take over: mirror_state mirrored,
--   not_sampled, dropped or paused, and for 'replay' also disabled: traffic logged while
--   mirroring was off), dropped (requests not mirrored because every shadow slot was
--   busy). traffic and dropped rows carry no shadow, so mapping groups count them by
--   primary model and hour/day groups by bucket.
WITH pairs AS (
    SELECT p.*,
        CASE :by
            WHEN 'hour' THEN strftime('%Y-%m-%dT%H:00:00Z', p.ts_unix_ms / 1000, 'unixepoch')
            WHEN 'day' THEN strftime('%Y-%m-%d', p.ts_unix_ms / 1000, 'unixepoch')
        END AS bucket,
        (p.primary_status = 'success' AND p.shadow_status = 'success') AS compared
    FROM report_pairs p
),
groups AS (
    SELECT gkey,
        MIN(primary_model) AS primary_model,
        MIN(bucket) AS bucket,
        COUNT(*) AS pairs,
        SUM(shadow_status = 'success') AS completed,
        SUM(shadow_status = 'pending') AS pending,
        SUM(compared) AS compared,
        SUM(primary_status <> 'success') AS primary_failed,
        SUM(shadow_status NOT IN ('success', 'pending')) AS shadow_failed,
        MIN(ts_unix_ms) AS first_ms
    FROM pairs
    GROUP BY gkey
),
movable AS (
    SELECT
        CASE :by
            WHEN 'all' THEN ''
            WHEN 'hour' THEN strftime('%Y-%m-%dT%H:00:00Z', r.ts_unix_ms / 1000, 'unixepoch')
            WHEN 'day' THEN strftime('%Y-%m-%d', r.ts_unix_ms / 1000, 'unixepoch')
            ELSE r.model
        END AS mkey,
        COUNT(*) AS traffic,
        SUM(r.mirror_state = 'dropped') AS dropped
    FROM requests r
    WHERE r.ts_unix_ms >= :since_ms AND r.ts_unix_ms < :until_ms
      AND (r.mirror_state IN ('mirrored', 'not_sampled', 'dropped', 'paused')
           OR (:source = 'replay' AND r.mirror_state = 'disabled'))
    GROUP BY 1
)
SELECT g.gkey, g.pairs, g.completed, g.pending, g.compared, g.primary_failed, g.shadow_failed,
    g.first_ms, COALESCE(m.traffic, 0) AS traffic, COALESCE(m.dropped, 0) AS dropped
FROM groups g
LEFT JOIN movable m ON m.mkey IS (CASE
    WHEN :by = 'all' THEN ''
    WHEN :by IN ('hour', 'day') THEN g.bucket
    ELSE g.primary_model END)
ORDER BY g.pairs DESC, g.gkey;
