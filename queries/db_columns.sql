-- db_columns: every column of every table and view, for `kt db schema --format json`.
-- Columns: type (table | view), name, cid (position), column_name, column_type, notnull, pk.
SELECT m.type, m.name, c.cid, c.name AS column_name, c.type AS column_type, c."notnull", c.pk
FROM sqlite_schema m
JOIN pragma_table_info(m.name) c
WHERE m.type IN ('table', 'view')
  AND m.name NOT LIKE 'sqlite_%'
  AND m.name NOT LIKE 'refinery_%'
ORDER BY CASE m.type WHEN 'table' THEN 0 ELSE 1 END, m.name, c.cid;
