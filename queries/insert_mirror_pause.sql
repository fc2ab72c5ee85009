-- insert_mirror_pause: the writer's insert for one spend-guard pause or resume (table
-- `mirror_pauses`).
INSERT INTO mirror_pauses (ts, ts_unix_ms, shadow_target, event, reason, detail)
VALUES (:ts, :ts_unix_ms, :shadow_target, :event, :reason, :detail);
