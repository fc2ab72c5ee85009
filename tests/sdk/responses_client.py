"""Drives kt's Responses API with the official OpenAI Python SDK and prints what the SDK saw as JSON.

Usage: python responses_client.py BASE_URL
`client.responses.create` (plain, a function tool and its round trip), `client.responses.stream`
(events and the final response, text and a function call), `client.responses.parse` with a
pydantic model (JSON schema output), and the stored-object calls (`retrieve`, `input_items.list`,
`delete`). Each check catches its own exception so one failure does not
hide the others.
"""
import json
import sys

import openai
from pydantic import BaseModel

base = sys.argv[1]
client = openai.OpenAI(base_url=base, api_key="sk-unused-by-kt-tests", max_retries=0)
out = {}

TOOLS = [{"type": "function", "name": "get_weather", "description": "Weather in a city", "strict": True,
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                         "required": ["city"], "additionalProperties": False}}]


class Weather(BaseModel):
    city: str
    temp_c: int


def failed(e):
    seen = {"exception": type(e).__name__, "message": str(e)}
    if isinstance(e, openai.APIStatusError):
        seen["status"] = e.status_code
    return seen


def usage(r):
    return [r.usage.input_tokens, r.usage.output_tokens] if r.usage else None


try:
    r = client.responses.create(model="gpt-4o-mini", instructions="Be terse.", input="case:ok")
    out["plain"] = {"text": r.output_text, "status": r.status, "object": r.object,
                    "id": r.id, "usage": usage(r), "types": [o.type for o in r.output]}
except Exception as e:  # noqa: BLE001
    out["plain"] = failed(e)

try:
    kinds, deltas, seqs = [], "", []
    with client.responses.stream(model="gpt-4o-mini", input="case:ok") as stream:
        for event in stream:
            kinds.append(event.type)
            seqs.append(event.sequence_number)
            if event.type == "response.output_text.delta":
                deltas += event.delta
        final = stream.get_final_response()
    out["stream"] = {"types": kinds, "deltas": deltas, "sequence": seqs, "text": final.output_text,
                     "status": final.status, "usage": usage(final)}
except Exception as e:  # noqa: BLE001
    out["stream"] = failed(e)

try:
    r = client.responses.parse(model="gpt-4o-mini", input="case:json", text_format=Weather)
    p = r.output_parsed
    out["parse"] = {"parsed": p.model_dump() if p else None, "class": type(p).__name__, "status": r.status}
except Exception as e:  # noqa: BLE001
    out["parse"] = failed(e)

try:
    ask = [{"role": "user", "content": "case:tool"}]
    r = client.responses.create(model="gpt-4o-mini", input=ask, tools=TOOLS)
    calls = [o for o in r.output if o.type == "function_call"]
    out["tool"] = {"status": r.status, "calls": [
        {"call_id": c.call_id, "name": c.name, "arguments": json.loads(c.arguments)} for c in calls]}
    # The round trip: the model's output items, then the tool's result.
    follow = client.responses.create(model="gpt-4o-mini", tools=TOOLS, input=ask + [
        o.model_dump(exclude_none=True) for o in r.output] + [
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "18C"}])
    out["tool_result"] = {"text": follow.output_text, "status": follow.status}
except Exception as e:  # noqa: BLE001
    out["tool"] = failed(e)

try:
    kinds, args = [], ""
    with client.responses.stream(model="gpt-4o-mini", input="case:tool", tools=TOOLS) as stream:
        for event in stream:
            kinds.append(event.type)
            if event.type == "response.function_call_arguments.delta":
                args += event.delta
        final = stream.get_final_response()
    calls = [o for o in final.output if o.type == "function_call"]
    out["stream_tool"] = {"types": kinds, "arguments": json.loads(args), "calls": [
        {"call_id": c.call_id, "name": c.name, "arguments": json.loads(c.arguments)} for c in calls]}
except Exception as e:  # noqa: BLE001
    out["stream_tool"] = failed(e)

# The stored-object routes: answered by an OpenAI primary, 404 (NotFoundError) otherwise.
try:
    r = client.responses.retrieve("resp_stored1")
    out["retrieve"] = {"id": r.id, "text": r.output_text, "status": r.status}
except Exception as e:  # noqa: BLE001
    out["retrieve"] = failed(e)

try:
    page = client.responses.input_items.list("resp_stored1", limit=5, order="asc")
    out["input_items"] = {"ids": [i.id for i in page.data], "has_more": page.has_more}
except Exception as e:  # noqa: BLE001
    out["input_items"] = failed(e)

try:
    out["delete"] = {"result": client.responses.delete("resp_stored1")}
except Exception as e:  # noqa: BLE001
    out["delete"] = failed(e)

try:
    client.responses.create(model="gpt-4o-mini", input="case:429")
    out["case:429"] = {"exception": None}
except Exception as e:  # noqa: BLE001
    out["case:429"] = failed(e)

print(json.dumps(out))
