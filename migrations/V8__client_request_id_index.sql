-- V8: `kt events show ID` also looks an event up by the caller's x-request-id (V6); without
-- an index that lookup made every `show` a full scan of `requests`. Partial, so requests
-- without a caller id (the common case) cost the writer nothing.
CREATE INDEX requests_client_request_id ON requests (client_request_id)
WHERE client_request_id IS NOT NULL;
