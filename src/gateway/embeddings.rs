//! `POST /v1/embeddings`: OpenAI's Embeddings API, answered by the primary (see
//! `providers::embeddings` for which kinds serve it) in OpenAI's shape plus kt's
//! `provider` field. Content policies apply to the input texts as to prompts.
//!
//! Recorded as an event like every answered request, with `ingress = 'embeddings'`,
//! `input_tokens` from `usage.prompt_tokens` and `mirror_state = 'not_eligible'`, so no
//! report counts it as mirrorable completion traffic. Never mirrored: vectors from two
//! embedding models live in different spaces and cannot be compared.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::body;
use super::errors::ApiError;
use super::handlers::{Scan, Unanswered, answer, elapsed_ms, new_row, policy_blocked};
use super::live::Live;
use super::request_id;
use super::state::AppState;
use crate::providers::{UpstreamError, token_count};
use crate::store::RequestRow;

type Object = Map<String, Value>;

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(live): State<Live>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let state = live.current();
    let started = Instant::now();
    let mut row = new_row(&state);
    row.ingress = "embeddings";
    row.client_request_id = request_id::from_caller(&headers);
    // A caller that disconnects still leaves its row (`client_closed`).
    let mut pending = Unanswered::new(&state, row, started);
    let mut scan = Scan::default();
    let result = embed(&state, body, pending.row_mut(), &mut scan).await;
    let mut row = pending.take();
    row.latency_ms = elapsed_ms(started);
    answer(&state, row, result, scan)
}

/// Checks the request, applies the content policies and asks the primary, filling `row`.
async fn embed(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
    row: &mut RequestRow,
    scan: &mut Scan,
) -> Result<Object, ApiError> {
    let body = body::read(body)?;
    let mut req = parse(&body)?;
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    row.model = Some(model.clone());
    apply_policies(state, &mut req, row, scan)?;

    let primary = &state.primary;
    let call = primary
        .plan_embeddings(&req, &model)
        .map_err(|e| ApiError::from_upstream(&primary.id, &e))?;
    let upstream_started = Instant::now();
    let result = tokio::select! {
        r = primary.embeddings(&call) => r,
        () = state.cancel.cancelled() => Err(UpstreamError::Cancelled),
    };
    row.upstream_latency_ms = Some(elapsed_ms(upstream_started));
    let answer = result.map_err(|e| ApiError::from_upstream(&primary.id, &e))?;
    row.input_tokens = answer
        .get("usage")
        .and_then(|u| u.get("prompt_tokens"))
        .and_then(token_count)
        // Gemini reports none (kt answers 0): unknown, not zero.
        .filter(|n| *n > 0);
    Ok(answer)
}

/// Parses and checks an Embeddings request: a JSON object with a `model` and an `input`,
/// and none of the fields that would pick an upstream host or key.
#[allow(clippy::result_large_err)]
fn parse(body: &[u8]) -> Result<Object, ApiError> {
    let req = body::json_object(body)?;
    body::refuse_upstream_choice(&req)?;
    if !matches!(req.get("model"), Some(Value::String(m)) if !m.is_empty()) {
        return Err(ApiError::bad_request(
            "you must provide a `model` parameter (a non-empty string)",
            Some("model"),
        ));
    }
    if req.get("input").is_none_or(Value::is_null) {
        return Err(ApiError::bad_request(
            "you must provide an `input` parameter",
            Some("input"),
        ));
    }
    Ok(req)
}

/// Content policies on the input texts (token-id input has no text to scan): `redact`
/// rewrites them, `block` refuses, and `flag` findings are recorded in the event (the
/// texts go to the off-path scan as one user message).
#[allow(clippy::result_large_err)]
fn apply_policies(
    state: &AppState,
    req: &mut Object,
    row: &mut RequestRow,
    scan: &mut Scan,
) -> Result<(), ApiError> {
    if state.filter.is_empty() {
        return Ok(());
    }
    let mut texts: Vec<&mut String> = match req.get_mut("input") {
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items
            .iter_mut()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if state.filter.has_redacting() {
        for text in texts.iter_mut() {
            let (redacted, found) = state.filter.redact(text, "request");
            if !found.is_empty() {
                **text = redacted;
                scan.redacted.extend(found);
            }
        }
    }
    let joined: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    let joined = joined.join("\n");
    let blocked = state.filter.blocking_findings(&joined);
    if !blocked.is_empty() {
        let err = policy_blocked(&blocked, "input");
        row.status = "blocked".into();
        scan.blocked = blocked;
        return Err(err);
    }
    if let Value::Object(m) = json!({"messages": [{"role": "user", "content": joined}]}) {
        scan.request = Some(m);
    }
    Ok(())
}
