-- db_schema: the schema as SQL, for `kt db schema` (tables first, then views, indexes and
-- triggers; SQLite's own and refinery's bookkeeping left out).
-- Columns: type, name, sql.
SELECT type, name, sql
FROM sqlite_schema
WHERE sql IS NOT NULL
  AND name NOT LIKE 'sqlite_%'
  AND name NOT LIKE 'refinery_%'
ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'view' THEN 1 WHEN 'index' THEN 2 ELSE 3 END,
    name;
