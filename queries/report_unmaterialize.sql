-- report_unmaterialize: drops the report's TEMP copy of the window's pairs
-- (report_materialize.sql), so the connection sees the `mirror_pairs` view again.
DROP TABLE IF EXISTS temp.mirror_pairs;
