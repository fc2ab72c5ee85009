"""Drives kt with the official OpenAI Python SDK and prints what the SDK saw as JSON.

Usage: python openai_client.py BASE_URL
Each check catches its own exception so one failure does not hide the others.
"""
import json
import sys

import openai

base = sys.argv[1]
client = openai.OpenAI(base_url=base, api_key="sk-unused-by-kt-tests", max_retries=0)
msgs = [{"role": "user", "content": "case:ok"}]
out = {}

try:
    r = client.chat.completions.create(model="gpt-4o-mini", messages=msgs)
    out["plain"] = {"text": r.choices[0].message.content, "finish": r.choices[0].finish_reason,
                    "completion_tokens": r.usage.completion_tokens if r.usage else None}
except Exception as e:  # noqa: BLE001
    out["plain"] = {"exception": type(e).__name__, "message": str(e)}

def stream(**kw):
    try:
        text, finish, usage, roles, chunks = "", None, None, [], 0
        for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=kw.pop("messages", msgs),
                                                    stream=True, **kw):
            chunks += 1
            if chunk.usage is not None:
                usage = chunk.usage.completion_tokens
            for c in chunk.choices:
                if c.delta.role:
                    roles.append(c.delta.role)
                text += c.delta.content or ""
                finish = c.finish_reason or finish
        return {"text": text, "finish": finish, "usage": usage, "roles": roles, "chunks": chunks}
    except Exception as e:  # noqa: BLE001
        return {"exception": type(e).__name__, "message": str(e)}

out["stream"] = stream()
out["stream_usage"] = stream(stream_options={"include_usage": True})
out["stream_midway_error"] = stream(messages=[{"role": "user", "content": "case:midway"}])

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
tool_msgs = [{"role": "user", "content": "case:tool"}]

try:
    r = client.chat.completions.create(model="gpt-4o-mini", messages=tool_msgs, tools=TOOLS, tool_choice="auto")
    m = r.choices[0].message
    calls = [{"id": c.id, "name": c.function.name, "arguments": json.loads(c.function.arguments)}
             for c in m.tool_calls or []]
    out["tool"] = {"finish": r.choices[0].finish_reason, "content": m.content, "calls": calls}
    # The round trip: the assistant's tool call, then the tool's result.
    follow = client.chat.completions.create(model="gpt-4o-mini", tools=TOOLS, messages=tool_msgs + [
        m.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": m.tool_calls[0].id, "content": "18C"},
    ])
    out["tool_result"] = {"finish": follow.choices[0].finish_reason, "text": follow.choices[0].message.content}
except Exception as e:  # noqa: BLE001
    out["tool"] = {"exception": type(e).__name__, "message": str(e)}

try:
    calls, finish = {}, None
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=tool_msgs, tools=TOOLS, stream=True):
        for c in chunk.choices:
            for d in c.delta.tool_calls or []:
                call = calls.setdefault(d.index, {"id": None, "name": "", "arguments": ""})
                call["id"] = d.id or call["id"]
                if d.function:
                    call["name"] += d.function.name or ""
                    call["arguments"] += d.function.arguments or ""
            finish = c.finish_reason or finish
    out["stream_tool"] = {"finish": finish, "calls": [
        {"id": c["id"], "name": c["name"], "arguments": json.loads(c["arguments"])} for _, c in sorted(calls.items())]}
except Exception as e:  # noqa: BLE001
    out["stream_tool"] = {"exception": type(e).__name__, "message": str(e)}

try:
    # The SDK asks for base64 vectors unless told otherwise, and decodes them.
    r = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    out["embeddings"] = {"vectors": [d.embedding for d in r.data], "prompt_tokens": r.usage.prompt_tokens}
except openai.APIStatusError as e:
    out["embeddings"] = {"exception": type(e).__name__, "status": e.status_code}
except Exception as e:  # noqa: BLE001
    out["embeddings"] = {"exception": type(e).__name__, "message": str(e)}

try:
    m = client.models.retrieve("gpt-4o-mini")
    out["model"] = {"id": m.id, "object": m.object, "owned_by": m.owned_by}
except openai.APIStatusError as e:
    out["model"] = {"exception": type(e).__name__, "status": e.status_code,
                    "code": (e.body or {}).get("code") if isinstance(e.body, dict) else None}
except Exception as e:  # noqa: BLE001
    out["model"] = {"exception": type(e).__name__, "message": str(e)}

for case in ["case:429", "case:400"]:
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": case}])
        out[case] = {"exception": None}
    except openai.APIStatusError as e:
        out[case] = {"exception": type(e).__name__, "status": e.status_code}
    except Exception as e:  # noqa: BLE001
        out[case] = {"exception": type(e).__name__, "message": str(e)}

print(json.dumps(out))
