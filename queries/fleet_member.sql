-- fleet_member: one database's part of a TEMP view that reads the same table or view of
-- every database given to `--db` as one data set (the parts are joined with UNION ALL).
-- SQLite cannot bind identifiers, so kt fills in {schema} (the attached database, fleet0,
-- fleet1, ...) and {relation} (requests, shadow_results, mirror_pairs, ...). {rowid} is
-- `rowid AS rowid,` for tables whose insertion order a query uses, else empty.
SELECT {rowid} * FROM {schema}.{relation}
