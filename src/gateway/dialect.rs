//! The API dialect a caller speaks (OpenAI Chat Completions, Anthropic Messages or OpenAI's
//! Responses API): how its request becomes kt's internal request, and how answers and errors
//! are shaped for it. Everything between — policies, mirroring, the primary call, the event
//! row — is one path for all three (`handlers::complete`).

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::body;
use super::errors::ApiError;
use super::handlers::parse_request;
use crate::ingress::anthropic_request::to_chat_request;
use crate::ingress::anthropic_response::to_message;
use crate::ingress::{responses_request, responses_response};
use crate::providers::Native;

/// A caller's dialect; stored as `requests.ingress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `POST /v1/chat/completions` (and every other route unless said otherwise).
    OpenAi,
    /// `POST /v1/messages`, and `GET /v1/models` with an `anthropic-version` header.
    Anthropic,
    /// `POST /v1/responses` (OpenAI's Responses API) and its `GET`/`DELETE` companions.
    Responses,
}

/// A caller's request in kt's internal (Chat Completions) shape.
pub struct Inbound {
    pub req: Map<String, Value>,
    /// The caller's own body when it is not `req` (a translated dialect): `sample_by:
    /// field:…` reads the fields the caller sent, e.g. `metadata.user_id`.
    pub caller: Option<Map<String, Value>>,
    /// The caller's own body when its dialect has a native form (the Responses API), for
    /// targets that speak it; shared by the primary and every shadow.
    pub native: Option<Arc<Native>>,
}

impl Dialect {
    /// The `requests.ingress` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Responses => "responses",
        }
    }

    /// The dialect of a recorded request, from its `ingress` column value.
    pub fn of_ingress(ingress: &str) -> Self {
        match ingress {
            "anthropic" => Self::Anthropic,
            "responses" => Self::Responses,
            _ => Self::OpenAi,
        }
    }

    /// The dialect a request to `path` expects its errors in (authentication, 404, 405):
    /// Anthropic's for every `/v1/messages` path (`/count_tokens`, and ones kt does not
    /// serve such as `/batches`), and for `/v1/models` paths asked with `anthropic-version`.
    pub fn of_route(path: &str, headers: &HeaderMap) -> Self {
        let under = |root: &str| {
            path.strip_prefix(root)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under("/v1/messages")
            || (under("/v1/models") && headers.contains_key("anthropic-version"))
        {
            Self::Anthropic
        } else if under("/v1/responses") {
            Self::Responses
        } else {
            Self::OpenAi
        }
    }

    /// Parses and checks a request body, translating it into the internal shape.
    // The error is built once per rejected request and answered at once; boxing it would
    // only add an allocation.
    #[allow(clippy::result_large_err)]
    pub fn parse(self, body: &[u8]) -> Result<Inbound, ApiError> {
        match self {
            Self::OpenAi => Ok(Inbound {
                req: parse_request(body)?,
                caller: None,
                native: None,
            }),
            Self::Anthropic => {
                let caller = body::json_object(body)?;
                let req = to_chat_request(&caller).map_err(|e| {
                    ApiError::bad_request(format!("{}: {}", e.field, e.message), Some(&e.field))
                })?;
                Ok(Inbound {
                    req,
                    caller: Some(caller),
                    native: None,
                })
            }
            Self::Responses => {
                let caller = body::json_object(body)?;
                let t = responses_request::to_chat_request(&caller).map_err(|e| {
                    ApiError::bad_request(format!("{}: {}", e.field, e.message), Some(&e.field))
                })?;
                let native = Native {
                    body: caller.clone(),
                    unexpressible: t.unexpressible,
                };
                Ok(Inbound {
                    req: t.chat,
                    caller: Some(caller),
                    native: Some(Arc::new(native)),
                })
            }
        }
    }

    /// The 200 answer for a completion body; `provider` names the target that answered and
    /// `model` is the requested one (an Anthropic message needs a model if the body has none).
    pub fn success(self, mut body: Map<String, Value>, provider: &str, model: &str) -> Response {
        match self {
            Self::Anthropic => body = to_message(&body, model),
            // A primary that speaks the Responses API answered in it; any other answered a
            // Chat completion, which becomes a `response` object.
            Self::Responses if !responses_response::is_response(&body) => {
                body = responses_response::to_response(&body, model);
            }
            _ => {}
        }
        body.insert("provider".into(), Value::String(provider.to_string()));
        (StatusCode::OK, axum::Json(Value::Object(body))).into_response()
    }

    /// The error answer; `request_id` is the event id (Anthropic's body carries it).
    pub fn error(self, err: ApiError, request_id: &str) -> Response {
        match self {
            // The Responses API answers errors in the same shape as Chat Completions.
            Self::OpenAi | Self::Responses => err.into_response(),
            Self::Anthropic => err.into_anthropic_response(request_id),
        }
    }
}
