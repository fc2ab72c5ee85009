use serde_json::{Value, json};

use super::*;

fn translate(v: Value) -> Result<Value, IngressError> {
    to_chat_request(v.as_object().unwrap_or(&Object::new())).map(Value::Object)
}

// Proves a full Messages request (system blocks, image, tool_use/tool_result round trip,
// tools, tool_choice, sampling, stop sequences, metadata, stream) maps field by field.
#[test]
fn full_request_maps_to_chat_completions() {
    let got = translate(json!({
        "model": "gpt-4o-mini", "max_tokens": 256,
        "system": [{"type": "text", "text": "Be terse."}, {"type": "text", "text": "Be kind."}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hm", "signature": "s"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18C"}]},
                {"type": "text", "text": "And tomorrow?"}]}
        ],
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "stop_sequences": ["\n\n"], "temperature": 0.2, "top_p": 0.9, "top_k": 5,
        "metadata": {"user_id": "user-42"}, "stream": true
    }))
    .unwrap();
    assert_eq!(
        got,
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be terse.\n\nBe kind."},
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}]},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "toolu_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
                {"role": "user", "content": "And tomorrow?"}
            ],
            "max_completion_tokens": 256,
            "stop": ["\n\n"], "temperature": 0.2, "top_p": 0.9,
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                        "parameters": {"type": "object"}}}],
            "tool_choice": "required", "parallel_tool_calls": false,
            "user": "user-42", "stream": true
        })
    );
}

// Proves a tool-only assistant turn has null content and a plain string turn stays a string.
#[test]
fn tool_only_assistant_turn_and_string_content() {
    let got = translate(json!({
        "model": "m", "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}
        ],
        "tool_choice": {"type": "tool", "name": "f"}
    }))
    .unwrap();
    assert_eq!(got["messages"][0], json!({"role": "user", "content": "hi"}));
    assert_eq!(got["messages"][1]["content"], Value::Null);
    assert_eq!(
        got["messages"][2],
        json!({"role": "tool", "tool_call_id": "t", "content": "ok"})
    );
    assert_eq!(got["messages"].as_array().map(Vec::len), Some(3));
    // No tools: tool_choice has nothing to choose from and is left out.
    assert!(got.get("tool_choice").is_none());
}

// Proves what Anthropic itself refuses is refused with the field at fault.
#[test]
fn invalid_requests_name_the_field() {
    let field = |v: Value| translate(v).unwrap_err().field;
    assert_eq!(
        field(json!({"model": "m", "messages": [{"role": "user", "content": "x"}]})),
        "max_tokens"
    );
    assert_eq!(field(json!({"max_tokens": 1, "messages": []})), "model");
    assert_eq!(
        field(json!({"model": "m", "max_tokens": 1, "messages": []})),
        "messages"
    );
    assert_eq!(
        field(json!({"model": "m", "max_tokens": 1,
                     "messages": [{"role": "system", "content": "x"}]})),
        "messages.0.role"
    );
    assert_eq!(
        field(json!({"model": "m", "max_tokens": 1,
                     "messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]})),
        "messages.0.content.0.type"
    );
    assert_eq!(
        field(
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}],
                     "tools": [{"type": "web_search_20250305", "name": "web_search"}]})
        ),
        "tools.0.type"
    );
    assert_eq!(
        field(
            json!({"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]})
        ),
        "max_tokens"
    );
}
