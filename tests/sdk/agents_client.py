"""Runs an OpenAI Agents SDK agent with one function tool against kt and prints what it saw as JSON.

Usage: python agents_client.py BASE_URL
The agent's model is `OpenAIResponsesModel` on a client pointed at kt, and tracing is disabled, so
nothing leaves the machine. The agent runs twice: `Runner.run` (plain requests) and
`Runner.run_streamed` (streamed requests); each run must call the tool and give the final answer.
"""
import asyncio
import json
import os
import sys

# Before the SDK is imported: no trace exporter, ever.
os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"

from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

set_tracing_disabled(True)

base = sys.argv[1]
client = AsyncOpenAI(base_url=base, api_key="sk-unused-by-kt-tests", max_retries=0)
tool_calls = []


@function_tool
def get_weather(city: str) -> str:
    """Weather in a city."""
    tool_calls.append(city)
    return "18C"


agent = Agent(
    name="weather",
    instructions="Answer questions about the weather with the get_weather tool.",
    tools=[get_weather],
    model=OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client),
)


async def main():
    out = {}
    try:
        result = await Runner.run(agent, "case:tool")
        out["run"] = {"final": result.final_output, "tool_calls": list(tool_calls),
                      "items": [i.type for i in result.new_items]}
    except Exception as e:  # noqa: BLE001
        out["run"] = {"exception": type(e).__name__, "message": str(e)}
    tool_calls.clear()
    try:
        result = Runner.run_streamed(agent, "case:tool")
        kinds = []
        async for event in result.stream_events():
            if event.type == "raw_response_event":
                kinds.append(event.data.type)
        out["run_streamed"] = {"final": result.final_output, "tool_calls": list(tool_calls),
                               "items": [i.type for i in result.new_items],
                               "completed": kinds.count("response.completed")}
    except Exception as e:  # noqa: BLE001
        out["run_streamed"] = {"exception": type(e).__name__, "message": str(e)}
    print(json.dumps(out))


asyncio.run(main())
