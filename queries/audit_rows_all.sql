-- audit_rows_all: the canonical content of every event row, for `kt audit verify`.
-- Columns: tbl, row_key, canonical, ts_unix_ms (of the request; orders pre-chain rows).
SELECT 'requests' AS tbl, row_key, canonical, ts_unix_ms FROM audit_canonical_requests
UNION ALL
SELECT 'shadow_results', c.row_key, c.canonical, r.ts_unix_ms
FROM audit_canonical_shadow_results c
JOIN shadow_results s ON s.rowid = c.rid
LEFT JOIN requests r ON r.id = s.request_id;
