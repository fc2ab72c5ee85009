//! Answers outside the known routes: an unknown route (404), a known route with the wrong
//! method (405), and the backstop for a handler that panicked (500). Each is recorded like
//! any answered request (the panic backstop excepted: it has no row to finish).

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::dialect::Dialect;
use super::errors::ApiError;
use super::handlers::{Scan, answer, new_row};
use super::live::Live;

/// The answer when a handler panicked (see the catch-panic layer in `router`).
pub fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked; answered 500");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "internal gateway error",
        "internal",
    )
    .into_response()
}

/// Unknown route: 404 in the route's error shape (Anthropic's under `/v1/messages`, e.g.
/// `/v1/messages/batches`, which kt does not serve), recorded like any answered request.
pub async fn not_found(
    State(live): State<Live>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let state = live.current();
    let mut row = new_row(&state);
    row.ingress = Dialect::of_route(uri.path(), &headers).as_str();
    // Bounded: the message is stored in the event row. The query is left out (it may hold
    // a caller's key).
    let path: String = uri.path().chars().take(200).collect();
    let err = ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        format!(
            "unknown route `{method} {path}`: kt serves POST /v1/chat/completions, \
             POST /v1/messages, POST /v1/messages/count_tokens, POST /v1/responses, \
             POST /v1/embeddings, GET /v1/models, \
             GET /v1/models/{{id}}, GET /healthz and GET /metrics"
        ),
        "not_found",
    );
    answer(&state, row, Err(err), Scan::default())
}

/// Known route, wrong method: 405 in the route's error shape, recorded.
pub async fn method_not_allowed(
    State(live): State<Live>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let state = live.current();
    let mut row = new_row(&state);
    row.ingress = Dialect::of_route(uri.path(), &headers).as_str();
    let err = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        "method not allowed on this route",
        "bad_request",
    );
    answer(&state, row, Err(err), Scan::default())
}
