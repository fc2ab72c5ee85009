-- audit_chain_all: every chain entry in write order, for `kt audit verify`.
-- Columns: seq, tbl, row_key, row_hash, prev_hash, hash.
SELECT seq, tbl, row_key, row_hash, prev_hash, hash FROM audit_chain ORDER BY seq;
