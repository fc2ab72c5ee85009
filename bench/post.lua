-- wrk script for bench/run.sh: POSTs one small chat completion (OpenAI shape).
-- STREAM=1 in the environment asks for a streamed (SSE) answer.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local stream = os.getenv("STREAM") == "1"
wrk.body = '{"model":"gpt-4o-mini","max_tokens":256,'
  .. (stream and '"stream":true,' or '')
  .. '"messages":[{"role":"user","content":"Say hello in one short sentence."}]}'
