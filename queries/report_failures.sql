-- report_failures: failed calls of mirrored requests per report group (:by and
-- :source as in report_groups.sql), by side, status, error class and HTTP status, most frequent first,
-- each with its most frequent error message (kt redacts keys before storing messages).
-- Reads `report_pairs`, the TEMP copy of the window's pairs: run report_materialize.sql
-- first on the same connection, with the same parameters.
-- Columns: gkey, side (primary | shadow), status, error_class, http_status, count, example,
--   example_count (how many of the failures carry that message).
WITH pairs AS (
    SELECT p.*
    FROM report_pairs p
),
failed AS (
    SELECT p.gkey, 'primary' AS side, r.status, r.error_class, r.http_status, r.error_message AS message
    FROM pairs p JOIN requests r ON r.id = p.request_id
    WHERE p.primary_status <> 'success'
    UNION ALL
    SELECT gkey, 'shadow', shadow_status, shadow_error_class, shadow_http_status, shadow_error_message
    FROM pairs
    WHERE shadow_status NOT IN ('success', 'pending')
),
messages AS (
    SELECT gkey, side, status, error_class, http_status, message, COUNT(*) AS c
    FROM failed
    GROUP BY gkey, side, status, error_class, http_status, message
),
ranked AS (
    SELECT *,
        SUM(c) OVER (PARTITION BY gkey, side, status, error_class, http_status) AS count,
        ROW_NUMBER() OVER (PARTITION BY gkey, side, status, error_class, http_status
                           ORDER BY c DESC, message) AS r
    FROM messages
)
SELECT gkey, side, status, error_class, http_status, count, message AS example, c AS example_count
FROM ranked
WHERE r = 1
ORDER BY gkey, side, count DESC, status, error_class, http_status;
