-- report_pauses: the spend guard's pauses per shadow target in the window. A pause lasts
-- until the target's next event (a resume, or a pause for another reason), or, when none
-- follows, until the window's end (at most now); paused time is clipped to the window, so
-- a pause that began before it counts from :since_ms.
-- Columns: shadow_target, pauses (pause events in the window), resumes, paused_ms,
--   paused_at_end (1 when still paused at the window's end), events (JSON array of
--   {ts, event, reason, detail} in the window, oldest first).
WITH bounds AS (
    SELECT MIN(:until_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) AS end_ms
),
ev AS (
    SELECT p.rowid AS seq, p.shadow_target, p.ts, p.ts_unix_ms, p.event, p.reason, p.detail,
        LEAD(p.ts_unix_ms) OVER (
            PARTITION BY p.shadow_target ORDER BY p.ts_unix_ms, p.rowid) AS next_ms
    FROM mirror_pauses p
    WHERE p.ts_unix_ms < :until_ms
),
spans AS (
    SELECT ev.*,
        CASE WHEN ev.event = 'pause' THEN MAX(0,
            MIN(COALESCE(ev.next_ms, b.end_ms), b.end_ms) - MAX(ev.ts_unix_ms, :since_ms))
        ELSE 0 END AS paused_ms,
        (ev.event = 'pause' AND ev.next_ms IS NULL) AS open_at_end
    FROM ev, bounds b
)
SELECT
    t.shadow_target,
    SUM(t.event = 'pause' AND t.ts_unix_ms >= :since_ms) AS pauses,
    SUM(t.event = 'resume' AND t.ts_unix_ms >= :since_ms) AS resumes,
    SUM(t.paused_ms) AS paused_ms,
    MAX(t.open_at_end) AS paused_at_end,
    (SELECT json_group_array(json_object(
            'ts', x.ts, 'event', x.event, 'reason', x.reason, 'detail', x.detail))
        FROM (SELECT * FROM spans x
              WHERE x.shadow_target = t.shadow_target AND x.ts_unix_ms >= :since_ms
              ORDER BY x.ts_unix_ms, x.seq) x) AS events
FROM spans t
GROUP BY t.shadow_target
HAVING SUM(t.ts_unix_ms >= :since_ms) > 0 OR SUM(t.paused_ms) > 0
ORDER BY t.shadow_target;
