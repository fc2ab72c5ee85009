-- audit_row_shadow: the canonical content of the `shadow_results` row just written
-- (:rowid), for the audit chain. Columns: row_key, canonical.
SELECT row_key, canonical FROM audit_canonical_shadow_results WHERE rid = :rowid;
