-- report_materialize: copies the window's pairs of :source from `mirror_pairs` (the view,
-- or a fleet's TEMP union view) into the TEMP table `report_pairs` on the report's own
-- connection, with the pair's report group computed once (`gkey`, :by as in
-- report_groups.sql: a JSON array of the key parts, [] for 'all'). The report's canned
-- queries (a dozen full passes over the pairs) then read a plain table: no view joins and
-- no group-key expression per pass (at 1M pairs the copy costs ~2 s and saves ~1 s per
-- query). report_unmaterialize.sql drops it at the end.
-- Columns: gkey, then every column of `mirror_pairs`.
CREATE TEMP TABLE report_pairs AS
SELECT
    CASE :by
        WHEN 'all' THEN '[]'
        WHEN 'model' THEN json_array(p.primary_model)
        WHEN 'hour' THEN json_array(strftime('%Y-%m-%dT%H:00:00Z', p.ts_unix_ms / 1000, 'unixepoch'))
        WHEN 'day' THEN json_array(strftime('%Y-%m-%d', p.ts_unix_ms / 1000, 'unixepoch'))
        ELSE json_array(p.primary_model, p.shadow_target, p.shadow_model)
    END AS gkey,
    p.*
FROM mirror_pairs p
WHERE p.source = :source AND p.ts_unix_ms >= :since_ms AND p.ts_unix_ms < :until_ms;
