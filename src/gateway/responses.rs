//! OpenAI's Responses API: `POST /v1/responses` takes the shared completion path
//! (`handlers::complete`, ingress `responses`): passed through to a primary that speaks the
//! API, translated for any other. `GET`/`DELETE /v1/responses/{id}`,
//! `GET /v1/responses/{id}/input_items`, `POST /v1/responses/{id}/cancel` and
//! `POST /v1/responses/input_tokens` work on objects and counts kept at OpenAI, so they are
//! forwarded to an OpenAI-kind primary as they are, and answered 404 for any other.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::dialect::Dialect;
use super::errors::ApiError;
use super::handlers::{Scan, answer, complete, new_row, record};
use super::live::Live;

/// `POST /v1/responses`.
pub async fn create(
    State(live): State<Live>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    complete(&live, &headers, body, Dialect::Responses).await
}

/// `GET` or `DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`,
/// `POST /v1/responses/{id}/cancel` and `POST /v1/responses/input_tokens`.
pub async fn stored(State(live): State<Live>, method: Method, uri: Uri, body: Bytes) -> Response {
    let state = live.current();
    let mut row = new_row(&state);
    row.ingress = Dialect::Responses.as_str();
    let rest = uri
        .path_and_query()
        .map_or("", |pq| pq.as_str())
        .strip_prefix("/v1/responses")
        .unwrap_or_default()
        .to_string();
    let id = rest
        .trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_string();
    let started = std::time::Instant::now();
    let Some(result) = state
        .primary
        .forward_responses(method.clone(), &rest, (!body.is_empty()).then_some(body))
        .await
    else {
        let err = ApiError {
            code: Some("not_found".into()),
            ..ApiError::new(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                format!(
                    "No response found with id '{id}': responses are stored at OpenAI, and the primary `{}` ({}) does not speak the Responses API",
                    state.primary.id,
                    state.primary.kind.as_str()
                ),
                "not_found",
            )
        };
        return answer(&state, row, Err(err), Scan::default());
    };
    row.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok((status, headers, bytes)) => {
            row.http_status = status;
            row.status = if (200..300).contains(&status) {
                "success"
            } else {
                "error"
            }
            .into();
            let mut resp = Response::new(Body::from(bytes));
            *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let ct = headers
                .get("content-type")
                .cloned()
                .unwrap_or(HeaderValue::from_static("application/json"));
            resp.headers_mut().insert("content-type", ct);
            super::request_id::set(resp.headers_mut(), &row.id, None);
            state
                .answered
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let bg = state.clone();
            state.tracker.spawn(record(bg, row, Scan::default()));
            resp.into_response()
        }
        Err(e) => answer(
            &state,
            row,
            Err(ApiError::from_upstream(&state.primary.id, &e)),
            Scan::default(),
        ),
    }
}
