-- retention_prune: deletes events older than :cutoff_ms (audit_logger.retention_days).
-- Shadow rows and evaluations first, so none outlives its request.
DELETE FROM evaluations WHERE request_id IN (SELECT id FROM requests WHERE ts_unix_ms < :cutoff_ms);
DELETE FROM shadow_results WHERE request_id IN (SELECT id FROM requests WHERE ts_unix_ms < :cutoff_ms);
DELETE FROM request_extra_shadows WHERE ts_unix_ms < :cutoff_ms;
DELETE FROM mirror_pauses WHERE ts_unix_ms < :cutoff_ms;
DELETE FROM requests WHERE ts_unix_ms < :cutoff_ms;
DELETE FROM audit_chain
WHERE (tbl = 'requests' AND NOT EXISTS (SELECT 1 FROM requests WHERE id = row_key))
   OR (tbl = 'shadow_results' AND NOT EXISTS (
        SELECT 1 FROM shadow_results WHERE request_id || '/' || shadow_target = row_key));
