use serde_json::{Value, json};

use super::*;

fn obj(v: Value) -> Object {
    v.as_object().cloned().unwrap_or_default()
}

fn completion(message: Value, finish: &str) -> Object {
    obj(json!({
        "id": "chatcmpl-abc", "object": "chat.completion", "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19,
                  "prompt_tokens_details": {"cached_tokens": 4},
                  "completion_tokens_details": {"reasoning_tokens": 2}}
    }))
}

/// The keys openai-python's `Response` requires (no default) plus the ones kt always sets.
const REQUIRED: &[&str] = &[
    "id",
    "created_at",
    "model",
    "object",
    "output",
    "parallel_tool_calls",
    "tool_choice",
    "tools",
    "status",
    "error",
    "incomplete_details",
    "instructions",
    "metadata",
    "temperature",
    "top_p",
    "usage",
];

// Proves a text completion becomes a completed response with one message item, Responses
// usage, ids derived from the completion's, and every field the SDK's Response requires.
#[test]
fn text_completion_becomes_a_response() {
    let mut r = to_response(
        &completion(
            json!({"role": "assistant", "content": "Hello!", "refusal": null}),
            "stop",
        ),
        "asked",
    );
    for key in REQUIRED {
        assert!(r.contains_key(*key), "missing {key}");
    }
    assert!(r.remove("completed_at").is_some_and(|t| t.is_u64()));
    assert_eq!(r["id"], "resp_abc");
    assert_eq!(r["object"], "response");
    assert_eq!(r["created_at"], 1700000000);
    assert_eq!(r["status"], "completed");
    assert_eq!(r["model"], "gpt-4o-mini");
    assert_eq!(r["incomplete_details"], Value::Null);
    assert_eq!(r["parallel_tool_calls"], true);
    assert_eq!(r["tool_choice"], "auto");
    assert_eq!(r["tools"], json!([]));
    assert_eq!(
        r["output"],
        json!([{"id": "msg_abc", "type": "message", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": "Hello!", "annotations": [], "logprobs": []}]}])
    );
    assert_eq!(
        r["usage"],
        json!({"input_tokens": 12, "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
               "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 19})
    );
    assert!(is_response(&r));
    assert!(!is_response(&completion(json!({}), "stop")));
}

// Proves tool calls become function_call items (call_id = the tool call id, item id fc_…)
// after the text message, and the response is completed.
#[test]
fn tool_calls_become_function_call_items() {
    let r = to_response(
        &completion(
            json!({"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}),
            "tool_calls",
        ),
        "asked",
    );
    assert_eq!(r["status"], "completed");
    assert_eq!(r["output"][0]["type"], "message");
    assert_eq!(
        r["output"][1],
        json!({"id": "fc_abc_0", "type": "function_call", "status": "completed", "call_id": "call_1",
               "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"})
    );
    assert_eq!(r["output"][2]["call_id"], "call_2");
    assert_eq!(r["output"][2]["id"], "fc_abc_1");
    // Calls alone give no message item.
    let r = to_response(
        &completion(
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}),
            "tool_calls",
        ),
        "asked",
    );
    assert_eq!(r["output"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["output"][0]["type"], "function_call");
}

// Proves `length` and `content_filter` make the response incomplete with the matching
// reason, and a refusal becomes a refusal content part.
#[test]
fn length_content_filter_and_refusal() {
    let r = to_response(
        &completion(
            json!({"role": "assistant", "content": "Once upon"}),
            "length",
        ),
        "asked",
    );
    assert_eq!(r["status"], "incomplete");
    assert_eq!(
        r["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(r["completed_at"], Value::Null);
    assert_eq!(r["output"][0]["status"], "incomplete");
    let r = to_response(
        &completion(
            json!({"role": "assistant", "content": null}),
            "content_filter",
        ),
        "asked",
    );
    assert_eq!(r["status"], "incomplete");
    assert_eq!(r["incomplete_details"], json!({"reason": "content_filter"}));
    let r = to_response(
        &completion(
            json!({"role": "assistant", "content": null, "refusal": "I can't."}),
            "stop",
        ),
        "asked",
    );
    assert_eq!(
        r["output"][0]["content"],
        json!([{"type": "refusal", "refusal": "I can't."}])
    );
}

// Proves an empty or malformed completion still gives a well-formed response (requested
// model, fallback id, an empty message, no usage) instead of panicking.
#[test]
fn empty_completion() {
    let r = to_response(&obj(json!({"choices": "nope", "usage": 3})), "asked");
    assert_eq!(r["id"], "resp_kt");
    assert_eq!(r["model"], "asked");
    assert_eq!(r["usage"], Value::Null);
    assert_eq!(r["output"][0]["content"][0]["text"], "");
    assert!(r["created_at"].is_u64());
}

// Proves ids keep only id-safe characters of the upstream id, without its prefix.
#[test]
fn id_suffixes() {
    assert_eq!(id_suffix(Some("chatcmpl-AbC123")), "AbC123");
    assert_eq!(id_suffix(Some("msg_01XyZ")), "01XyZ");
    assert_eq!(id_suffix(Some("a b/c")), "abc");
    assert_eq!(id_suffix(Some("")), "kt");
    assert_eq!(id_suffix(None), "kt");
}

// Proves error codes outside the SDK's closed list map to rate_limit_exceeded or server_error.
#[test]
fn failure_codes() {
    assert_eq!(
        failure_code(Some("rate_limit_exceeded")),
        "rate_limit_exceeded"
    );
    assert_eq!(
        failure_code(Some("rate_limit_error")),
        "rate_limit_exceeded"
    );
    assert_eq!(failure_code(Some("upstream_error")), "server_error");
    assert_eq!(failure_code(None), "server_error");
}
