//! Errors returned to callers, with a status that fits: in the OpenAI error shape
//! (`{"error":{"message","type","param","code"}}`), or for callers of `/v1/messages` in
//! Anthropic's (`{"type":"error","error":{"type","message"}}`).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::providers::UpstreamError;

/// An error answer to a caller.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub kind: String,
    pub param: Option<String>,
    pub code: Option<String>,
    pub retry_after: Option<String>,
    /// Error class stored in the event (`bad_request`, `http_5xx`, `timeout`, ...).
    pub class: &'static str,
}

impl ApiError {
    /// A malformed request: 400 `invalid_request_error`.
    pub fn bad_request(message: impl Into<String>, param: Option<&str>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error".into(),
            param: param.map(str::to_string),
            code: None,
            retry_after: None,
            class: "bad_request",
        }
    }

    /// Any status with an explicit type and class (404, 405, 413, ...).
    pub fn new(
        status: StatusCode,
        kind: &str,
        message: impl Into<String>,
        class: &'static str,
    ) -> Self {
        Self {
            status,
            message: message.into(),
            kind: kind.into(),
            param: None,
            code: None,
            retry_after: None,
            class,
        }
    }

    /// Maps an upstream failure of target `target`: 4xx passed through, 5xx and
    /// unreachable → 502, timeout → 504.
    pub fn from_upstream(target: &str, e: &UpstreamError) -> Self {
        let class = e.class();
        match e {
            UpstreamError::Status {
                status: status @ 400..=499,
                kind,
                code,
                param,
                message,
                retry_after,
            } => Self {
                status: StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
                message: message.clone(),
                kind: kind.clone(),
                param: param.as_deref().map(str::to_string),
                code: code.clone(),
                retry_after: retry_after.clone(),
                class,
            },
            UpstreamError::Status {
                status,
                message,
                retry_after,
                ..
            } => Self {
                status: StatusCode::BAD_GATEWAY,
                message: format!("upstream `{target}` failed with HTTP {status}: {message}"),
                kind: "upstream_error".into(),
                param: None,
                code: Some(format!("upstream_http_{status}")),
                retry_after: retry_after.clone(),
                class,
            },
            UpstreamError::Timeout(ms) => Self {
                status: StatusCode::GATEWAY_TIMEOUT,
                message: format!("upstream `{target}` did not answer within {ms} ms"),
                kind: "timeout_error".into(),
                param: None,
                code: Some("upstream_timeout".into()),
                retry_after: None,
                class,
            },
            UpstreamError::Connect(m) => Self {
                status: StatusCode::BAD_GATEWAY,
                message: format!("upstream `{target}` is unreachable: {m}"),
                kind: "upstream_error".into(),
                param: None,
                code: Some("upstream_unreachable".into()),
                retry_after: None,
                class,
            },
            UpstreamError::InvalidResponse(m) => Self {
                status: StatusCode::BAD_GATEWAY,
                message: format!("upstream `{target}` sent an invalid response: {m}"),
                kind: "upstream_error".into(),
                param: None,
                code: Some("upstream_invalid_response".into()),
                retry_after: None,
                class,
            },
            UpstreamError::Stream { kind, message } => Self {
                status: StatusCode::BAD_GATEWAY,
                message: format!("upstream `{target}` failed mid-stream: {message}"),
                kind: kind.clone(),
                param: None,
                code: Some("upstream_stream_error".into()),
                retry_after: None,
                class,
            },
            UpstreamError::Config(m) => Self {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: m.clone(),
                kind: "server_error".into(),
                param: None,
                code: Some("gateway_misconfigured".into()),
                retry_after: None,
                class,
            },
            UpstreamError::Cancelled => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "the gateway is shutting down".into(),
                kind: "server_error".into(),
                param: None,
                code: Some("shutting_down".into()),
                retry_after: None,
                class,
            },
            UpstreamError::MissingKey(env) => Self {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: format!(
                    "target `{target}` has no API key: environment variable {env} was not set when the gateway started"
                ),
                kind: "server_error".into(),
                param: None,
                code: Some("missing_api_key".into()),
                retry_after: None,
                class,
            },
            UpstreamError::Untranslatable { message, param } => Self {
                param: param.clone(),
                class,
                ..Self::bad_request(message.clone(), None)
            },
        }
    }

    /// The JSON body, as callers see it.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
    }

    /// The answer in Anthropic's error shape; `request_id` is kt's event id.
    pub fn into_anthropic_response(self, request_id: &str) -> Response {
        let body = self.anthropic_body(Some(request_id));
        self.respond(body)
    }

    /// The JSON body in Anthropic's error shape (also the data of a mid-stream `error` event).
    /// That shape has no `param`: the field goes in front of the message, as Anthropic
    /// writes its own (`messages.0.content: Field required`).
    pub fn anthropic_body(&self, request_id: Option<&str>) -> serde_json::Value {
        let message = match &self.param {
            Some(p) if !self.message.starts_with(&format!("{p}:")) => {
                format!("{p}: {}", self.message)
            }
            _ => self.message.clone(),
        };
        crate::ingress::anthropic_response::error_body(
            self.status.as_u16(),
            &self.kind,
            &message,
            request_id,
        )
    }

    fn respond(self, body: serde_json::Value) -> Response {
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(v) = self
            .retry_after
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            resp.headers_mut().insert("retry-after", v);
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        self.respond(body)
    }
}
