-- report_unmaterialize_view: drops the TEMP view over the report's copy
-- (report_materialize_view.sql), so the connection sees the `mirror_pairs` view again.
DROP VIEW IF EXISTS temp.mirror_pairs;
