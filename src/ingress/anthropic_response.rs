//! kt's internal answer (a `chat.completion`) → an Anthropic Message, and kt's errors →
//! Anthropic's error shape, for callers of `POST /v1/messages`.

use serde_json::{Map, Value, json};

type Object = Map<String, Value>;

/// A `chat.completion` body → an Anthropic `message` (first choice only: Anthropic has one).
///
/// The text becomes one text block, each tool call a `tool_use` block with its arguments
/// parsed into `input` (arguments that are not a JSON object become `{}`: Anthropic
/// clients expect an object there), `finish_reason` the `stop_reason`, and usage the input
/// and output token counts. The upstream's id is kept, so it can be traced upstream.
pub fn to_message(completion: &Object, requested_model: &str) -> Object {
    let choice = completion
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first());
    let message = choice.and_then(|c| c.get("message"));
    let mut content = Vec::new();
    if let Some(text) = message
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        content.push(json!({"type": "text", "text": text}));
    }
    for call in message
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let f = call.get("function");
        let arguments = f
            .and_then(|f| f.get("arguments"))
            .and_then(Value::as_str)
            .unwrap_or("");
        content.push(json!({
            "type": "tool_use",
            "id": call.get("id").and_then(Value::as_str).unwrap_or(""),
            "name": f.and_then(|f| f.get("name")).and_then(Value::as_str).unwrap_or(""),
            "input": tool_input(arguments),
        }));
    }
    let finish = choice
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str);
    let usage = completion.get("usage");
    let count = |k: &str| {
        usage
            .and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let model = completion
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or(requested_model);
    let mut out = Object::new();
    out.insert("id".into(), json!(message_id(completion)));
    out.insert("type".into(), json!("message"));
    out.insert("role".into(), json!("assistant"));
    out.insert("model".into(), json!(model));
    out.insert("content".into(), Value::Array(content));
    out.insert("stop_reason".into(), json!(stop_reason(finish)));
    out.insert("stop_sequence".into(), Value::Null);
    out.insert(
        "usage".into(),
        json!({"input_tokens": count("prompt_tokens"), "output_tokens": count("completion_tokens")}),
    );
    out
}

/// The message id: the upstream's (`msg_…` from Anthropic, `chatcmpl-…` from OpenAI).
pub fn message_id(completion: &Object) -> String {
    completion
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .unwrap_or("msg_kt")
        .to_string()
}

/// Tool-call arguments (a string holding JSON) → a tool_use `input` object.
pub fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({}),
    }
}

/// OpenAI `finish_reason` → Anthropic `stop_reason`. A stop sequence and a natural end are
/// both `stop` in Chat Completions, so both read as `end_turn`.
pub fn stop_reason(finish_reason: Option<&str>) -> &'static str {
    match finish_reason {
        Some("length") => "max_tokens",
        Some("tool_calls" | "function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// Anthropic's error `type` for an answer: the one its status means when the status has
/// one of its own, else kt's type when it is already one of Anthropic's (an Anthropic
/// primary's error passes through), else `invalid_request_error` or `api_error`.
pub fn error_type(status: u16, kind: &str) -> &str {
    const ANTHROPIC_TYPES: &[&str] = &[
        "invalid_request_error",
        "authentication_error",
        "billing_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "rate_limit_error",
        "api_error",
        "timeout_error",
        "overloaded_error",
    ];
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ if ANTHROPIC_TYPES.contains(&kind) => kind,
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// Anthropic's error body: `{"type":"error","error":{"type","message"},"request_id"}`.
pub fn error_body(status: u16, kind: &str, message: &str, request_id: Option<&str>) -> Value {
    let mut body = json!({
        "type": "error",
        "error": {"type": error_type(status, kind), "message": message},
    });
    if let (Some(id), Some(obj)) = (request_id, body.as_object_mut()) {
        obj.insert("request_id".into(), json!(id));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Object {
        v.as_object().cloned().unwrap_or_default()
    }

    // Proves a tool-calling completion becomes text + tool_use blocks with parsed input,
    // stop_reason tool_use and Anthropic usage.
    #[test]
    fn completion_with_tool_calls_becomes_a_message() {
        let c = obj(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Checking.",
                "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
        }));
        let m = Value::Object(to_message(&c, "asked"));
        assert_eq!(
            m,
            json!({
                "id": "chatcmpl-1", "type": "message", "role": "assistant", "model": "gpt-4o-mini",
                "content": [{"type": "text", "text": "Checking."},
                            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": 7}
            })
        );
    }

    // Proves finish reasons map to Anthropic's stop reasons and broken arguments to `{}`.
    #[test]
    fn stop_reasons_and_bad_arguments() {
        assert_eq!(stop_reason(Some("stop")), "end_turn");
        assert_eq!(stop_reason(Some("length")), "max_tokens");
        assert_eq!(stop_reason(Some("content_filter")), "refusal");
        assert_eq!(stop_reason(None), "end_turn");
        assert_eq!(tool_input("not json"), json!({}));
        assert_eq!(tool_input("[1]"), json!({}));
    }

    // Proves error types follow the status unless kt already has an Anthropic type.
    #[test]
    fn error_types() {
        assert_eq!(error_type(429, "requests"), "rate_limit_error");
        assert_eq!(
            error_type(400, "invalid_request_error"),
            "invalid_request_error"
        );
        assert_eq!(error_type(502, "upstream_error"), "api_error");
        assert_eq!(error_type(503, "overloaded_error"), "overloaded_error");
        assert_eq!(
            error_type(401, "invalid_request_error"),
            "authentication_error"
        );
        let b = error_body(404, "x", "nope", Some("id1"));
        assert_eq!(
            b,
            json!({"type": "error", "error": {"type": "not_found_error", "message": "nope"}, "request_id": "id1"})
        );
    }
}
