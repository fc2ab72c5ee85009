//! Anthropic Messages answers and errors → OpenAI shape (provider-apis.md §3).

use serde_json::Value;

use crate::providers::translate::answer::{Answer, ToolCall, Usage, arguments_text};
use crate::providers::translate::str_at;
use crate::providers::{Completion, UpstreamError, parse_error_body};

/// Anthropic Messages response body (2xx) → OpenAI-shaped [`Completion`].
///
/// The `msg_` id is kept as-is and `created` is `now_unix_secs`, since Anthropic sends no
/// timestamp. A body that is not JSON or has no `content` array is an
/// [`UpstreamError::InvalidResponse`] with a short reason (never the body itself).
pub fn from_messages_response(
    body: &[u8],
    now_unix_secs: u64,
) -> Result<Completion, UpstreamError> {
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|e| UpstreamError::InvalidResponse(format!("body is not JSON ({e})")))?;
    let blocks = parsed
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| UpstreamError::InvalidResponse("no `content` array".into()))?;

    let mut answer = Answer {
        id: str_at(&parsed, "id").to_string(),
        model: str_at(&parsed, "model").to_string(),
        finish_reason: finish_reason(parsed.get("stop_reason").and_then(Value::as_str)),
        usage: parsed
            .get("usage")
            .filter(|u| u.is_object())
            .map(openai_usage),
        ..Answer::default()
    };
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => answer.text.push_str(str_at(block, "text")),
            // OpenAI clients expect `arguments` as a string holding JSON, not an object.
            Some("tool_use") => answer.tool_calls.push(ToolCall {
                id: str_at(block, "id").to_string(),
                name: str_at(block, "name").to_string(),
                arguments: arguments_text(block.get("input")),
            }),
            // Thinking, redacted thinking and server-tool blocks have no Chat Completions field.
            _ => {}
        }
    }
    answer.into_completion(now_unix_secs)
}

/// Anthropic error response → [`UpstreamError::Status`] with OpenAI-style fields (§3.3).
///
/// 529 (overloaded, not a standard code) becomes 503 so OpenAI clients retry it; `kind` and
/// `code` both carry the upstream `error.type`. `retry_after` is kept only on 429/503/529.
pub fn error_from_response(status: u16, body: &[u8], retry_after: Option<String>) -> UpstreamError {
    let b = parse_error_body(status, body);
    let (message, upstream_code, mut kind) = (b.message, b.code, b.kind);
    let upstream_type = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v.pointer("/error/type")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    if upstream_type.is_none() && status == 529 {
        // `default_error_type` knows nothing of 529; say what Anthropic means by it.
        kind = "overloaded_error".to_string();
    }
    let code = upstream_code.or(upstream_type);
    let retry_after = retry_after.filter(|_| matches!(status, 429 | 503 | 529));
    UpstreamError::Status {
        status: if status == 529 { 503 } else { status },
        kind,
        code,
        // Anthropic names the field inside its message (`messages.0.content: …`).
        param: None,
        message,
        retry_after,
    }
}

// --- Response helpers

/// Anthropic `stop_reason` → OpenAI `finish_reason` (§3.1; unknown and null read as a normal stop).
fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}

/// Anthropic usage → OpenAI usage; the prompt size includes both cache counters (§2.2).
fn openai_usage(usage: &Value) -> Usage {
    let count = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
    let cache_read = count("cache_read_input_tokens");
    // Saturating: an absurd count from an upstream must not crash the gateway.
    let prompt = count("input_tokens")
        .saturating_add(count("cache_creation_input_tokens"))
        .saturating_add(cache_read);
    Usage {
        input: prompt,
        output: count("output_tokens"),
        cached: Some(cache_read),
        reasoning: None,
    }
}
