-- insert_request_extra_shadow: the writer's insert for a request's second or later shadow
-- (table `request_extra_shadows`), in the request row's transaction.
INSERT INTO request_extra_shadows (request_id, shadow_target, shadow_model, ts_unix_ms)
VALUES (:request_id, :shadow_target, :shadow_model, :ts_unix_ms);
