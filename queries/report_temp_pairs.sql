-- report_temp_pairs: whether the connection already has a TEMP object named
-- `mirror_pairs` (a fleet's union view, or a copy being built). Columns: n.
SELECT COUNT(*) AS n FROM temp.sqlite_master WHERE name = 'mirror_pairs';
