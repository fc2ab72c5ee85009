//! Caller authentication (`gateway.api_keys`), as route middleware: a request without a
//! valid key is answered 401 in its dialect's error shape and recorded.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::dialect::Dialect;
use super::errors::ApiError;
use super::handlers::{Scan, answer, new_row};
use super::live::Live;

/// Caller authentication (`gateway.api_keys`): `Authorization: Bearer KEY` (what the
/// OpenAI SDKs send) or `x-api-key: KEY`. A missing or wrong key is answered 401 before
/// any upstream is called, and recorded like every other request.
pub async fn authenticate(
    State(live): State<Live>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let state = live.current();
    if state.caller_keys.is_empty() {
        return next.run(req).await;
    }
    let headers = req.headers();
    let dialect = Dialect::of_route(req.uri().path(), headers);
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()));
    let ok = presented.is_some_and(|p| {
        state.caller_keys.iter().fold(false, |found, k| {
            found | constant_time_eq(p.trim().as_bytes(), k.0.as_bytes())
        })
    });
    if ok {
        return next.run(req).await;
    }
    let message = if presented.is_some() {
        "invalid gateway API key"
    } else {
        "missing gateway API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`"
    };
    let err = ApiError {
        code: Some("invalid_api_key".into()),
        class: "unauthenticated",
        ..ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            message,
            "unauthenticated",
        )
    };
    let mut row = new_row(&state);
    row.status = "rejected".into();
    row.ingress = dialect.as_str();
    answer(&state, row, Err(err), Scan::default())
}

/// Compares two byte strings in time that depends only on their lengths, so response
/// timing does not reveal how much of a guessed key was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
