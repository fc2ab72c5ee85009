-- guard_last_events: each shadow target's last spend-guard event, so a restarted gateway
-- carries on a pause whose limit still holds and closes one that no longer does.
-- Columns: shadow_target, event (pause | resume), reason, ts_unix_ms.
SELECT p.shadow_target, p.event, p.reason, p.ts_unix_ms
FROM mirror_pauses p
WHERE p.rowid = (
    SELECT q.rowid FROM mirror_pauses q
    WHERE q.shadow_target = p.shadow_target
    ORDER BY q.ts_unix_ms DESC, q.rowid DESC
    LIMIT 1)
ORDER BY p.shadow_target;
