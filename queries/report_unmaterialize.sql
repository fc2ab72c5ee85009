-- report_unmaterialize: drops the report's TEMP copy of the window's pairs
-- (report_materialize.sql).
DROP TABLE IF EXISTS temp.report_pairs;
