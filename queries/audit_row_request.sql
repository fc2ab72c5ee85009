-- audit_row_request: the canonical content of the `requests` row just written (:rowid),
-- for the audit chain. Columns: row_key, canonical.
SELECT row_key, canonical FROM audit_canonical_requests WHERE rid = :rowid;
