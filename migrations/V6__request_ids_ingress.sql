-- V6: the caller's request id and the API dialect (issue #9). Why: callers that send their
-- own `x-request-id` must find their request in kt's events by it, and with the
-- Anthropic-dialect ingress (`POST /v1/messages`) an event must say which API the caller
-- spoke. Columns are added, never changed.

-- The caller's `x-request-id` header (validated: 1-128 visible ASCII characters), NULL
-- when none was sent. Not unique: callers may reuse ids; `requests.id` stays the key.
ALTER TABLE requests ADD COLUMN client_request_id TEXT;
-- The API the caller used: 'openai' (POST /v1/chat/completions) or 'anthropic'
-- (POST /v1/messages). Rows written before V6 were all 'openai'.
ALTER TABLE requests ADD COLUMN ingress TEXT NOT NULL DEFAULT 'openai';
