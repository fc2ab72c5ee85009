"""Drives kt's /v1/messages with the official Anthropic Python SDK and prints what the SDK saw as JSON.

Usage: python anthropic_client.py BASE_URL GATEWAY_KEY
BASE_URL is kt's root (the SDK adds /v1/messages). Each check catches its own exception so
one failure does not hide the others.
"""
import json
import sys

import anthropic

base, key = sys.argv[1], sys.argv[2]
client = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)
MODEL = "gpt-4o-mini"
TOOLS = [{"name": "get_weather", "description": "Weather in a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
out = {}


def user(text):
    return [{"role": "user", "content": text}]


def failure(e):
    if isinstance(e, anthropic.APIStatusError):
        return {"exception": type(e).__name__, "status": e.status_code,
                "type": (e.body or {}).get("error", {}).get("type") if isinstance(e.body, dict) else None}
    return {"exception": type(e).__name__, "message": str(e)}


def blocks(message):
    return [b.model_dump(exclude_none=True) for b in message.content]


try:
    r = client.messages.create(model=MODEL, max_tokens=64, system="Be terse.", messages=user("case:ok"),
                               metadata={"user_id": "user-7"})
    out["plain"] = {"text": "".join(b.text for b in r.content if b.type == "text"), "stop": r.stop_reason,
                    "role": r.role, "type": r.type,
                    "usage": [r.usage.input_tokens, r.usage.output_tokens]}
except Exception as e:  # noqa: BLE001
    out["plain"] = failure(e)

try:
    with client.messages.stream(model=MODEL, max_tokens=64, messages=user("case:ok")) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    out["stream"] = {"text": text, "final_text": "".join(b.text for b in final.content if b.type == "text"),
                     "stop": final.stop_reason, "usage": [final.usage.input_tokens, final.usage.output_tokens]}
except Exception as e:  # noqa: BLE001
    out["stream"] = failure(e)

try:
    r = client.messages.create(model=MODEL, max_tokens=64, messages=user("case:tool"), tools=TOOLS,
                               tool_choice={"type": "auto"})
    out["tool"] = {"stop": r.stop_reason, "blocks": blocks(r)}
    # The round trip: the tool_use block back as the assistant turn, then its tool_result.
    uses = [b for b in r.content if b.type == "tool_use"]
    follow = client.messages.create(
        model=MODEL, max_tokens=64, tools=TOOLS,
        messages=user("case:tool") + [
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in r.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "18C"}]},
        ])
    out["tool_result"] = {"stop": follow.stop_reason,
                          "text": "".join(b.text for b in follow.content if b.type == "text")}
except Exception as e:  # noqa: BLE001
    out["tool"] = failure(e)

try:
    with client.messages.stream(model=MODEL, max_tokens=64, messages=user("case:tool"), tools=TOOLS) as s:
        final = s.get_final_message()
    out["stream_tool"] = {"stop": final.stop_reason, "blocks": blocks(final)}
except Exception as e:  # noqa: BLE001
    out["stream_tool"] = failure(e)

try:
    with client.messages.stream(model=MODEL, max_tokens=64, messages=user("case:midway")) as s:
        out["stream_midway_error"] = {"exception": None, "text": "".join(s.text_stream)}
except Exception as e:  # noqa: BLE001
    out["stream_midway_error"] = failure(e)

for case in ["case:400", "case:429", "case:500"]:
    try:
        client.messages.create(model=MODEL, max_tokens=16, messages=user(case))
        out[case] = {"exception": None}
    except Exception as e:  # noqa: BLE001
        out[case] = failure(e)

try:
    # kt's own 400: Anthropic requires max_tokens, and so does kt's translation.
    client.messages.create(model=MODEL, max_tokens=16, messages=[])
    out["kt:400"] = {"exception": None}
except Exception as e:  # noqa: BLE001
    out["kt:400"] = failure(e)

try:
    anthropic.Anthropic(base_url=base, api_key="wrong-key", max_retries=0).messages.create(
        model=MODEL, max_tokens=16, messages=user("case:ok"))
    out["kt:401"] = {"exception": None}
except Exception as e:  # noqa: BLE001
    out["kt:401"] = failure(e)

try:
    out["models"] = [m.id for m in client.models.list()]
except Exception as e:  # noqa: BLE001
    out["models"] = failure(e)

for model in [MODEL, "claude-unrouted"]:
    try:
        m = client.models.retrieve(model)
        out["model:" + model] = {"id": m.id, "type": m.type}
    except Exception as e:  # noqa: BLE001
        out["model:" + model] = failure(e)

try:
    r = client.messages.count_tokens(model=MODEL, system="Be terse.", messages=user("case:ok"), tools=TOOLS)
    out["count_tokens"] = {"input_tokens": r.input_tokens}
except Exception as e:  # noqa: BLE001
    out["count_tokens"] = failure(e)

print(json.dumps(out))
