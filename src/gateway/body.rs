//! Reading a request body, shared by every route that takes one (completions in all three
//! dialects, token counts, embeddings), so a body that cannot be read, is not a JSON object
//! or tries to pick an upstream is refused the same way on each.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::errors::ApiError;

// The errors here are built once per rejected request and answered at once; boxing them
// would only add an allocation.

/// The body axum read, or the caller's error: 413 past `MAX_BODY_BYTES`, 400 otherwise.
#[allow(clippy::result_large_err)]
pub(super) fn read(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "request body is larger than the gateway accepts",
                "bad_request",
            )
        } else {
            ApiError::bad_request(format!("cannot read the request body: {rejection}"), None)
        }
    })
}

/// A body that must be a JSON object (every API kt serves takes one).
#[allow(clippy::result_large_err)]
pub(super) fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request(
            "the request body must be a JSON object",
            None,
        )),
        Err(e) => Err(ApiError::bad_request(
            format!("the request body is not valid JSON: {e}"),
            None,
        )),
    }
}

/// Upstream hosts come only from kt's config; a client that tries to pick one (the way
/// some gateways let `api_base` redirect a call, and leak the key with it) is told so.
#[allow(clippy::result_large_err)]
pub(super) fn refuse_upstream_choice(req: &Map<String, Value>) -> Result<(), ApiError> {
    for field in ["api_base", "base_url", "api_key", "api_version"] {
        if req.contains_key(field) {
            return Err(ApiError::bad_request(
                format!(
                    "`{field}` is not accepted: upstream hosts and keys come only from kt's config"
                ),
                Some(field),
            ));
        }
    }
    Ok(())
}
