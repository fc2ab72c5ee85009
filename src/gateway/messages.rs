//! `POST /v1/messages`: Anthropic's Messages API in front of any primary. The request is
//! translated into kt's internal Chat Completions request and takes exactly the path of
//! `/v1/chat/completions` (policies, mirroring, spend guard, event row with
//! `ingress = 'anthropic'`); the answer, stream and errors come back in Anthropic's shapes.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;

use super::dialect::Dialect;
use super::handlers::complete;
use super::live::Live;

/// `POST /v1/messages`.
pub async fn messages(
    State(live): State<Live>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    complete(&live, &headers, body, Dialect::Anthropic).await
}
