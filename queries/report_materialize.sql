-- report_materialize: copies the window's pairs of `mirror_pairs` into a TEMP table of the
-- same name on the report's own connection, so the report's queries (a dozen full passes
-- over the pairs) read a plain table instead of re-running the view's joins each time:
-- at 1M pairs the copy costs ~2 s and saves ~1 s per query. Unqualified `mirror_pairs`
-- resolves to the TEMP table first; report_unmaterialize.sql drops it at the end. Skipped
-- when the connection already has a TEMP `mirror_pairs` (a fleet of databases).
CREATE TEMP TABLE mirror_pairs AS
SELECT * FROM main.mirror_pairs
WHERE ts_unix_ms >= :since_ms AND ts_unix_ms < :until_ms;
