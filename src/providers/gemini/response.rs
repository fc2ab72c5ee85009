//! Gemini `generateContent` answers and `google.rpc.Status` errors → OpenAI shape
//! (provider-apis-more.md §3.3, §3.5, §3.7). The finish-reason, usage, id and error-type
//! rules here are shared with the stream translator.

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::providers::http::retry_after;
use crate::providers::translate::answer::{Answer, ToolCall, Usage, arguments_text};
use crate::providers::translate::str_at;
use crate::providers::{Completion, UpstreamError, parse_error_body};

/// Gemini response body (2xx) → OpenAI-shaped [`Completion`].
///
/// Reads the first candidate: text parts (thoughts skipped) and function calls, whose
/// missing ids are minted. `model` is the upstream model, used when the answer names no
/// `modelVersion`; `created` is `now_unix_secs`, since Gemini sends no timestamp. A blocked
/// prompt (no candidates, `promptFeedback.blockReason`) is an empty answer with
/// `content_filter`, as Gemini itself answers 200. A body that is not JSON, has neither
/// candidates nor a block reason, or ends in a failed function call with nothing usable is
/// an [`UpstreamError::InvalidResponse`] (never the body itself).
pub fn from_gemini_response(
    body: &[u8],
    model: &str,
    now_unix_secs: u64,
) -> Result<Completion, UpstreamError> {
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|e| UpstreamError::InvalidResponse(format!("body is not JSON ({e})")))?;
    if !parsed.is_object() {
        return Err(UpstreamError::InvalidResponse(
            "the body is JSON but not an object".into(),
        ));
    }
    let response_id = str_at(&parsed, "responseId");
    let mut answer = Answer {
        id: completion_id(response_id),
        model: model_name(&parsed, model),
        usage: parsed
            .get("usageMetadata")
            .filter(|u| u.is_object())
            .map(usage),
        ..Answer::default()
    };
    let Some(candidate) = first_candidate(&parsed) else {
        if block_reason(&parsed).is_some() {
            answer.finish_reason = "content_filter";
            return answer.into_completion(now_unix_secs);
        }
        return Err(UpstreamError::InvalidResponse(
            "no `candidates` and no `promptFeedback.blockReason`".into(),
        ));
    };
    for p in parts(candidate) {
        if let Some(call) = p.get("functionCall") {
            let k = answer.tool_calls.len();
            answer.tool_calls.push(ToolCall {
                id: call_id(call, response_id, k),
                name: str_at(call, "name").to_string(),
                arguments: arguments_text(call.get("args")),
            });
        } else if let Some(t) = visible_text(p) {
            answer.text.push_str(t);
        }
    }
    let reason = candidate.get("finishReason").and_then(Value::as_str);
    let usable = !answer.text.is_empty() || !answer.tool_calls.is_empty();
    if let Some(r) = reason.filter(|r| is_tool_failure(r) && !usable) {
        return Err(tool_failure(r));
    }
    answer.finish_reason = finish_reason(reason, !answer.tool_calls.is_empty());
    answer.into_completion(now_unix_secs)
}

/// Gemini error response → [`UpstreamError::Status`] with OpenAI-style fields (§3.5).
///
/// The HTTP status is kept; `kind` follows the `google.rpc` status (`RESOURCE_EXHAUSTED` →
/// `rate_limit_error`, `INVALID_ARGUMENT` → `invalid_request_error`, …, and an
/// `API_KEY_INVALID` reason → `authentication_error`, since Gemini reports a bad key as a
/// 400), `code` is the status string, and `retry_after` is the `retry-after` header or else
/// the `RetryInfo` detail's `retryDelay` in whole seconds (`"30s"` → `"30"`).
pub fn error_from_response(status: u16, headers: &HeaderMap, body: &[u8]) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    // `streamGenerateContent` without `alt=sse` wraps everything, errors too, in an array.
    let err = parsed
        .as_ref()
        .map(|v| v.get(0).unwrap_or(v))
        .and_then(|v| v.get("error"))
        .filter(|e| e.is_object());
    let message = match err.and_then(|e| e.get("message")).and_then(Value::as_str) {
        Some(m) => m.to_string(),
        None => parse_error_body(status, body).message,
    };
    let rpc_status = err.and_then(|e| e.get("status")).and_then(Value::as_str);
    let details = err.and_then(|e| e.get("details")).and_then(Value::as_array);
    let bad_key = details
        .into_iter()
        .flatten()
        .any(|d| is_detail(d, "ErrorInfo") && str_at(d, "reason") == "API_KEY_INVALID");
    let kind = if bad_key {
        "authentication_error"
    } else {
        error_kind(status, rpc_status)
    };
    let retry_after = retry_after(headers).or_else(|| {
        details
            .into_iter()
            .flatten()
            .find(|d| is_detail(d, "RetryInfo"))
            .and_then(|d| d.get("retryDelay"))
            .and_then(Value::as_str)
            .and_then(delay_seconds)
    });
    UpstreamError::Status {
        status,
        kind: kind.to_string(),
        code: rpc_status.filter(|s| !s.is_empty()).map(str::to_string),
        // Field paths in Google's and AWS's errors name their wire format's fields, not
        // the caller's: no `param`.
        param: None,
        message,
        retry_after,
    }
}

// --- Shared with the stream translator

/// OpenAI's error `type` for a `google.rpc` status, else for the HTTP status.
pub(super) fn error_kind(http: u16, rpc_status: Option<&str>) -> &'static str {
    match rpc_status {
        Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE") => {
            "invalid_request_error"
        }
        Some("UNAUTHENTICATED") => "authentication_error",
        Some("PERMISSION_DENIED") => "permission_error",
        Some("NOT_FOUND") => "not_found_error",
        Some("RESOURCE_EXHAUSTED") => "rate_limit_error",
        Some("INTERNAL" | "UNAVAILABLE" | "DEADLINE_EXCEEDED" | "UNKNOWN" | "DATA_LOSS") => {
            "api_error"
        }
        _ => crate::providers::default_error_type(http),
    }
}

/// The first candidate (Gemini numbers them; kt asks for one).
pub(super) fn first_candidate(v: &Value) -> Option<&Value> {
    let candidates = v.get("candidates")?.as_array()?;
    candidates
        .iter()
        .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
        .or_else(|| candidates.first())
}

/// A candidate's parts (none when it has no content, e.g. after a safety stop).
pub(super) fn parts(candidate: &Value) -> impl Iterator<Item = &Value> {
    candidate
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A part's answer text: `None` for thoughts (Chat Completions has no place for them) and
/// for parts that carry no text (inline data, code execution).
pub(super) fn visible_text(part: &Value) -> Option<&str> {
    if part.get("thought").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    part.get("text").and_then(Value::as_str)
}

/// `promptFeedback.blockReason`, when the prompt itself was blocked.
pub(super) fn block_reason(v: &Value) -> Option<&str> {
    v.pointer("/promptFeedback/blockReason")
        .and_then(Value::as_str)
}

/// Gemini `finishReason` → OpenAI `finish_reason` (§3.7). Gemini says `STOP` after function
/// calls too, so those are told from the parts; reasons with no OpenAI value read as `stop`.
pub(super) fn finish_reason(reason: Option<&str>, tool_calls: bool) -> &'static str {
    match reason {
        Some("MAX_TOKENS") => "length",
        Some(
            "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
            | "IMAGE_RECITATION"
            | "MODEL_ARMOR",
        ) => "content_filter",
        _ if tool_calls => "tool_calls",
        _ => "stop",
    }
}

/// Finish reasons meaning the model's function call failed: with nothing else in the answer
/// there is no usable output, and an empty `stop` would hide the failure.
pub(super) fn is_tool_failure(reason: &str) -> bool {
    matches!(
        reason,
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS"
    )
}

/// The error for a failed function call with no usable output.
pub(super) fn tool_failure(reason: &str) -> UpstreamError {
    UpstreamError::InvalidResponse(format!("Gemini ended with `{reason}` and no usable output"))
}

/// `usageMetadata` → usage. Gemini's `candidatesTokenCount` excludes thinking, while
/// OpenAI's `completion_tokens` includes reasoning, so thoughts are added to the output;
/// the prompt count already includes cached tokens. Gemini omits zero counts.
pub(super) fn usage(meta: &Value) -> Usage {
    let count = |k: &str| meta.get(k).and_then(Value::as_u64).unwrap_or(0);
    let thoughts = count("thoughtsTokenCount");
    Usage {
        input: count("promptTokenCount"),
        // Saturating: an absurd count from an upstream must not crash the gateway.
        output: count("candidatesTokenCount").saturating_add(thoughts),
        cached: Some(count("cachedContentTokenCount")),
        reasoning: Some(thoughts),
    }
}

/// The OpenAI id of an answer: `responseId` behind OpenAI's prefix.
pub(super) fn completion_id(response_id: &str) -> String {
    if response_id.is_empty() {
        format!("chatcmpl-{}", uuid::Uuid::now_v7().simple())
    } else {
        format!("chatcmpl-{response_id}")
    }
}

/// A tool call's id: Gemini's own when it sent one, else minted from the response id and
/// the call's position, so each is unique and callers can answer it.
pub(super) fn call_id(call: &Value, response_id: &str, k: usize) -> String {
    match call.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ if response_id.is_empty() => format!("call_{}", uuid::Uuid::now_v7().simple()),
        _ => format!("call_{response_id}_{k}"),
    }
}

/// The answering model: `modelVersion` when given, else the requested one.
pub(super) fn model_name(v: &Value, requested: &str) -> String {
    match str_at(v, "modelVersion") {
        "" => requested.to_string(),
        version => version.to_string(),
    }
}

// --- Error helpers

/// Whether `detail` is the `google.rpc.<kind>` error detail.
fn is_detail(detail: &Value, kind: &str) -> bool {
    str_at(detail, "@type")
        .rsplit('.')
        .next()
        .is_some_and(|t| t == kind)
}

/// A `google.protobuf.Duration` (`"30s"`, `"1.5s"`) → whole seconds, rounded up, as text.
fn delay_seconds(delay: &str) -> Option<String> {
    let secs: f64 = delay.trim().strip_suffix('s')?.parse().ok()?;
    // A year at most: anything longer is nonsense, not a hint worth forwarding.
    if !(0.0..=86_400.0 * 365.0).contains(&secs) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((secs.ceil() as u64).to_string())
}
