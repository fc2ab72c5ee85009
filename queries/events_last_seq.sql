-- events_last_seq: the newest insertion position in `requests` (0 when empty), where
-- `kt events tail --follow` resumes.
-- Columns: seq.
SELECT COALESCE(MAX(rowid), 0) AS seq FROM requests;
