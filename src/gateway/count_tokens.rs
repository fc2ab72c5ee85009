//! `POST /v1/messages/count_tokens`: Anthropic's token counting, answered by the primary's
//! own counting API (see `providers::count_tokens`) as `{"input_tokens": N}`, errors in
//! Anthropic's shape. The model is the caller's, as the primary gets it for `/v1/messages`.
//!
//! Content policies apply as on the completion routes (the prompt leaves kt here too):
//! `block` refuses, `redact` rewrites the text before it is counted. Not mirrored (a
//! shadow's count answers nothing the report compares) and not recorded as an event: a
//! count is not a completion, costs nothing, and clients such as Claude Code send one
//! before many requests, so rows would swell the request counts, `mirror_states` shares
//! and failure figures of every report. Each count is logged (`kt::request`, `count_tokens`).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::body;
use super::errors::ApiError;
use super::handlers::policy_blocked;
use super::live::Live;
use super::request_id;
use super::state::AppState;
use crate::ingress::anthropic_request::to_chat_request;
use crate::providers::{CountPlan, UpstreamError};

type Object = Map<String, Value>;

/// `POST /v1/messages/count_tokens`.
pub async fn count_tokens(
    State(live): State<Live>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let state = live.current();
    // Keeps the shutdown drain waiting for this call, like a completion.
    let _in_flight = state.tracker.token();
    let started = Instant::now();
    // No event row, so no event id: the id names the log line.
    let id = uuid::Uuid::now_v7().to_string();
    let caller_id = request_id::from_caller(&headers);
    let mut model = String::new();
    let result = count(&state, body, &mut model).await;
    let status = match &result {
        Ok(_) => StatusCode::OK,
        Err(e) => e.status,
    };
    tracing::info!(
        target: "kt::request",
        request_id = %id,
        client_request_id = caller_id.as_deref().unwrap_or(""),
        target_id = %state.primary.id,
        model = %model,
        http_status = status.as_u16(),
        latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "count_tokens"
    );
    let mut response = match result {
        Ok(n) => (StatusCode::OK, axum::Json(json!({"input_tokens": n}))).into_response(),
        Err(e) => e.into_anthropic_response(&id),
    };
    if let Ok(v) = HeaderValue::from_str(caller_id.as_deref().unwrap_or(&id)) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// Checks the body, applies the content policies and asks the primary; `model` is filled
/// in as soon as it is known, for the log line.
async fn count(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
    model: &mut String,
) -> Result<u64, ApiError> {
    let body = body::read(body)?;
    let mut caller = body::json_object(&body)?;
    match caller.get("model") {
        Some(Value::String(m)) if !m.is_empty() => model.clone_from(m),
        _ => {
            return Err(ApiError::bad_request(
                "must be a non-empty string",
                Some("model"),
            ));
        }
    }
    apply_policies(state, &mut caller)?;

    let primary = &state.primary;
    let plan = primary
        .plan_count(&caller, model, || chat_request(&caller))
        .map_err(|e| ApiError::from_upstream(&primary.id, &e))?;
    let wire = match plan {
        CountPlan::Counted(n) => return Ok(n),
        CountPlan::Unsupported => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found_error",
                format!(
                    "the primary `{}` ({}) has no token-count API: kt counts tokens through \
                     an anthropic, bedrock, gemini or vertex primary",
                    primary.id,
                    primary.kind.as_str()
                ),
                "not_found",
            ));
        }
        CountPlan::Call(w) => w,
    };
    let result = tokio::select! {
        r = primary.count_tokens(&wire) => r,
        () = state.cancel.cancelled() => Err(UpstreamError::Cancelled),
    };
    result.map_err(|e| ApiError::from_upstream(&primary.id, &e))
}

/// `action: block` policies refuse a prompt with a finding (400, as on `/v1/messages`);
/// `action: redact` policies rewrite the prompt's text before anything is sent.
// Built once per refused request and answered at once (as in `Dialect::parse`).
#[allow(clippy::result_large_err)]
fn apply_policies(state: &AppState, caller: &mut Object) -> Result<(), ApiError> {
    if state.filter.has_redacting() {
        for text in prompt_texts(caller) {
            let (redacted, found) = state.filter.redact(text, "request");
            if !found.is_empty() {
                *text = redacted;
            }
        }
    }
    if state.filter.has_blocking() {
        let prompt: Vec<String> = prompt_texts(caller)
            .into_iter()
            .map(|s| s.clone())
            .collect();
        let blocked = state.filter.blocking_findings(&prompt.join("\n"));
        if !blocked.is_empty() {
            return Err(policy_blocked(&blocked, "messages"));
        }
    }
    Ok(())
}

/// Every prompt text of an Anthropic body: `system` (a string or text blocks) and each
/// message's content (a string, text blocks, and the text of `tool_result` blocks).
fn prompt_texts(body: &mut Object) -> Vec<&mut String> {
    let mut out = Vec::new();
    for (key, value) in body.iter_mut() {
        match (key.as_str(), value) {
            ("system", v) => content_texts(v, &mut out),
            ("messages", Value::Array(turns)) => {
                for turn in turns {
                    if let Some(content) = turn.get_mut("content") {
                        content_texts(content, &mut out);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The texts of a content value: itself when a string, else each block's `text` and a
/// `tool_result` block's own content.
fn content_texts<'a>(content: &'a mut Value, out: &mut Vec<&'a mut String>) {
    match content {
        Value::String(s) => out.push(s),
        Value::Array(blocks) => {
            for block in blocks.iter_mut().filter_map(Value::as_object_mut) {
                for (k, v) in block.iter_mut() {
                    match (k.as_str(), v) {
                        ("text", Value::String(s)) => out.push(s),
                        ("content", v) => content_texts(v, out),
                        _ => {}
                    }
                }
            }
        }
        _ => {}
    }
}

/// kt's internal request for a counting body, for the primaries whose counting body is a
/// translation: the body as a Messages request (`max_tokens`, which counting bodies lack,
/// set to 1: it changes no input token).
fn chat_request(caller: &Object) -> Result<Object, UpstreamError> {
    let mut messages = caller.clone();
    messages.remove("stream");
    messages.insert("max_tokens".into(), json!(1));
    to_chat_request(&messages).map_err(|e| UpstreamError::Untranslatable {
        message: format!("{}: {}", e.field, e.message),
        param: Some(e.field),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves every prompt text is found: system blocks, string and block contents, and
    // tool_result contents, but not tool names or inputs.
    #[test]
    fn prompt_texts_cover_system_messages_and_tool_results() {
        let mut body = json!({
            "system": [{"type": "text", "text": "sys"}],
            "messages": [
                {"role": "user", "content": "plain"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {"text": "no"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "result"}]},
                    {"type": "text", "text": "block"}]}]
        });
        let texts: Vec<String> = prompt_texts(body.as_object_mut().unwrap())
            .into_iter()
            .map(|s| s.clone())
            .collect();
        assert_eq!(texts, ["sys", "plain", "result", "block"]);
    }
}
