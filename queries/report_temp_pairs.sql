-- report_temp_pairs: whether the connection already has a TEMP object named
-- `mirror_pairs` (a fleet's union view; a report's own view over its copy is dropped
-- before the next copy is made). Columns: n.
SELECT COUNT(*) AS n FROM temp.sqlite_master WHERE name = 'mirror_pairs';
