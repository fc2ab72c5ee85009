//! Bedrock Converse answers and errors → OpenAI shape (provider-apis-more.md §2.5, §2.7),
//! plus the stop-reason and usage readings the stream translator shares.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;

use crate::providers::translate::answer::{Answer, ToolCall, Usage, arguments_text};
use crate::providers::translate::str_at;
use crate::providers::{Completion, UpstreamError, default_error_type, parse_error_body};

/// Converse response body (2xx) → OpenAI-shaped [`Completion`].
///
/// Converse sends neither an id nor a model nor a timestamp, so the id comes from
/// [`completion_id`] (the `x-amzn-RequestId` header when given), the model is the mapped
/// upstream `model` and `created` is `now_unix_secs`. A body that is not JSON or has no
/// `output.message.content` array, or a stop reason saying the model's output was
/// malformed, is an [`UpstreamError::InvalidResponse`] with a short reason.
pub fn from_converse_response(
    body: &[u8],
    model: &str,
    now_unix_secs: u64,
    request_id: Option<&str>,
) -> Result<Completion, UpstreamError> {
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|e| UpstreamError::InvalidResponse(format!("body is not JSON ({e})")))?;
    let blocks = parsed
        .pointer("/output/message/content")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            UpstreamError::InvalidResponse("no `output.message.content` array".into())
        })?;
    let stop = parsed.get("stopReason").and_then(Value::as_str);
    let mut answer = Answer {
        id: completion_id(request_id),
        model: model.to_string(),
        finish_reason: finish_reason(stop).map_err(UpstreamError::InvalidResponse)?,
        usage: parsed
            .get("usage")
            .filter(|u| u.is_object())
            .map(openai_usage),
        ..Answer::default()
    };
    for block in blocks {
        if let Some(text) = block.get("text").and_then(Value::as_str) {
            answer.text.push_str(text);
        } else if let Some(call) = block.get("toolUse") {
            // OpenAI clients expect `arguments` as a string holding JSON, not an object.
            answer.tool_calls.push(ToolCall {
                id: str_at(call, "toolUseId").to_string(),
                name: str_at(call, "name").to_string(),
                arguments: arguments_text(call.get("input")),
            });
        }
        // reasoningContent, citationsContent, images: no Chat Completions field.
    }
    answer.into_completion(now_unix_secs)
}

/// The OpenAI id of a Bedrock answer: `chatcmpl-` and the `x-amzn-RequestId` when known
/// (so the id leads to AWS's logs), else a fresh UUID.
pub fn completion_id(request_id: Option<&str>) -> String {
    match request_id.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!("chatcmpl-{r}"),
        None => format!("chatcmpl-{}", uuid::Uuid::now_v7().simple()),
    }
}

/// Bedrock error response → [`UpstreamError::Status`] with OpenAI-style fields (§2.7).
///
/// The AWS error name comes from the `x-amzn-ErrorType` header, else the body's
/// `code`/`Code`/`__type`; it is kept as `code` and decides the status (see `status_of` for where kt departs from AWS).
/// The message is the body's `message` or `Message`. `retry_after` is the `retry-after`
/// header, kept only on 429 and 503.
pub fn error_from_response(status: u16, headers: &HeaderMap, body: &[u8]) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let from_body = |key: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    let name = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .and_then(error_name)
        .or_else(|| {
            ["code", "Code", "__type"]
                .into_iter()
                .find_map(|k| from_body(k).and_then(error_name))
        });
    let message = from_body("message")
        .or_else(|| from_body("Message"))
        .map_or_else(|| parse_error_body(status, body).message, str::to_string);
    let status = status_of(name, status);
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|_| matches!(status, 429 | 503));
    UpstreamError::Status {
        status,
        kind: default_error_type(status).to_string(),
        code: name.map(str::to_string),
        // Field paths in Google's and AWS's errors name their wire format's fields, not
        // the caller's: no `param`.
        param: None,
        message,
        retry_after,
    }
}

/// `ThrottlingException:http://internal.amazon.com/…` or `com.amazon.coral#Throttling…`
/// → `ThrottlingException`, as botocore reads it; `None` when nothing is left.
fn error_name(raw: &str) -> Option<&str> {
    let before_colon = raw.split(':').next().unwrap_or(raw);
    let name = before_colon
        .rsplit('#')
        .next()
        .unwrap_or(before_colon)
        .trim();
    (!name.is_empty()).then_some(name)
}

/// The status kt reports for an AWS error name (`received` for names it does not know).
///
/// - `ServiceQuotaExceededException` is a 400 in AWS's model but a quota, which OpenAI
///   clients know as 429.
/// - `ModelTimeoutException` is a 408 in AWS's model, but the model timed out, not the
///   caller: 504 keeps it out of the caller's-fault 4xx class.
/// - `ModelNotReadyException` is a 429 in AWS's model, but means "retry shortly", not a
///   rate limit: 503.
/// - `ModelErrorException` (424: the model behind Bedrock failed) is a bad gateway, 502.
/// - The signature and credential errors of AWS's front door are kt's credentials being
///   refused, which OpenAI and Anthropic report as 401.
fn status_of(name: Option<&str>, received: u16) -> u16 {
    match name {
        Some("ThrottlingException" | "ServiceQuotaExceededException") => 429,
        Some("ValidationException") => 400,
        Some(
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "IncompleteSignatureException"
            | "ExpiredTokenException"
            | "MissingAuthenticationTokenException",
        ) => 401,
        Some("AccessDeniedException") => 403,
        Some("ResourceNotFoundException") => 404,
        Some("InternalServerException") => 500,
        Some("ModelErrorException") => 502,
        Some("ServiceUnavailableException" | "ModelNotReadyException") => 503,
        Some("ModelTimeoutException") => 504,
        _ => received,
    }
}

/// Converse `stopReason` → OpenAI `finish_reason` (§2.9); `Err` with a reason for the stops
/// that mean the output is unusable (`malformed_model_output`, `malformed_tool_use`).
/// A missing or unknown reason reads as a normal stop: the union grows.
pub(super) fn finish_reason(stop: Option<&str>) -> Result<&'static str, String> {
    match stop {
        Some("max_tokens" | "model_context_window_exceeded") => Ok("length"),
        Some("tool_use") => Ok("tool_calls"),
        Some("guardrail_intervened" | "content_filtered") => Ok("content_filter"),
        Some(bad @ ("malformed_model_output" | "malformed_tool_use")) => Err(format!(
            "Bedrock stopped with `{bad}`: the model's output could not be parsed"
        )),
        _ => Ok("stop"),
    }
}

/// Converse usage → OpenAI usage. Bedrock counts cache reads and writes apart from
/// `inputTokens`, so the prompt total adds them; the cache reads are the cached tokens.
pub(super) fn openai_usage(usage: &Value) -> Usage {
    let count = |k: &str| usage.get(k).and_then(Value::as_u64);
    let cache_read = count("cacheReadInputTokens");
    // Saturating: an absurd count from an upstream must not crash the gateway.
    let input = count("inputTokens")
        .unwrap_or(0)
        .saturating_add(count("cacheWriteInputTokens").unwrap_or(0))
        .saturating_add(cache_read.unwrap_or(0));
    Usage {
        input,
        output: count("outputTokens").unwrap_or(0),
        cached: cache_read,
        reasoning: None,
    }
}
