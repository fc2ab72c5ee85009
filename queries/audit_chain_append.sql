-- audit_chain_append: adds one entry to the audit chain (the writer, inside the row's own
-- transaction, so a row and its entry commit or roll back together).
INSERT INTO audit_chain (tbl, row_key, row_hash, prev_hash, hash)
VALUES (:tbl, :row_key, :row_hash, :prev_hash, :hash);
