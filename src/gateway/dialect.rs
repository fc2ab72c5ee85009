//! The API dialect a caller speaks (OpenAI Chat Completions or Anthropic Messages): how its
//! request becomes kt's internal request, and how answers and errors are shaped for it.
//! Everything between — policies, mirroring, the primary call, the event row — is one
//! path for both (`handlers::complete`).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::errors::ApiError;
use super::handlers::parse_request;
use crate::ingress::anthropic_request::to_chat_request;
use crate::ingress::anthropic_response::to_message;

/// A caller's dialect; stored as `requests.ingress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `POST /v1/chat/completions` (and every other route unless said otherwise).
    OpenAi,
    /// `POST /v1/messages`, and `GET /v1/models` with an `anthropic-version` header.
    Anthropic,
}

/// A caller's request in kt's internal (Chat Completions) shape.
pub struct Inbound {
    pub req: Map<String, Value>,
    /// The caller's own body when it is not `req` (a translated dialect): `sample_by:
    /// field:…` reads the fields the caller sent, e.g. `metadata.user_id`.
    pub caller: Option<Map<String, Value>>,
}

impl Dialect {
    /// The `requests.ingress` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }

    /// The dialect of a recorded request, from its `ingress` column value.
    pub fn of_ingress(ingress: &str) -> Self {
        if ingress == "anthropic" {
            Self::Anthropic
        } else {
            Self::OpenAi
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
            }),
            Self::Anthropic => {
                let caller = match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(m)) => m,
                    Ok(_) => {
                        return Err(ApiError::bad_request(
                            "the request body must be a JSON object",
                            None,
                        ));
                    }
                    Err(e) => {
                        return Err(ApiError::bad_request(
                            format!("the request body is not valid JSON: {e}"),
                            None,
                        ));
                    }
                };
                let req = to_chat_request(&caller).map_err(|e| {
                    ApiError::bad_request(format!("{}: {}", e.field, e.message), Some(&e.field))
                })?;
                Ok(Inbound {
                    req,
                    caller: Some(caller),
                })
            }
        }
    }

    /// The 200 answer for a completion body; `provider` names the target that answered and
    /// `model` is the requested one (an Anthropic message needs a model if the body has none).
    pub fn success(self, mut body: Map<String, Value>, provider: &str, model: &str) -> Response {
        if self == Self::Anthropic {
            body = to_message(&body, model);
        }
        body.insert("provider".into(), Value::String(provider.to_string()));
        (StatusCode::OK, axum::Json(Value::Object(body))).into_response()
    }

    /// The error answer; `request_id` is the event id (Anthropic's body carries it).
    pub fn error(self, err: ApiError, request_id: &str) -> Response {
        match self {
            Self::OpenAi => err.into_response(),
            Self::Anthropic => err.into_anthropic_response(request_id),
        }
    }
}
