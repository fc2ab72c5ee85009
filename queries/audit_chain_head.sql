-- audit_chain_head: the newest entry's hash (the next entry's prev_hash).
-- Columns: hash.
SELECT hash FROM audit_chain ORDER BY seq DESC LIMIT 1;
