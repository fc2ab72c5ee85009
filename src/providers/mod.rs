//! Upstream providers: one folder per provider kind (request translation, answer and
//! stream reading, credentials), a shared translation core, and the `Provider` the gateway calls.
//!
//! Every provider takes an OpenAI Chat Completions request body (a JSON object) and
//! returns an OpenAI Chat Completions response, so the gateway and the mirror never
//! care which wire format a target speaks.

pub mod anthropic;
pub mod auth;
pub mod azure;
pub mod bedrock;
mod client;
pub mod count_tokens;
pub mod embeddings;
pub mod gemini;
mod http;
pub mod openai;
pub mod simulated;
pub(crate) mod stream;
pub mod translate;
pub mod vertex;

pub use auth::Secret;
pub use client::{Format, Native, Prepared, Provider, Wire, http_client};
pub use count_tokens::CountPlan;
pub use embeddings::EmbedCall;
pub use stream::{ChunkStream, EventTranslator, Step, StreamSummary, collect, is_usage_chunk};

use serde_json::{Map, Value};

/// A successful answer, already in OpenAI Chat Completions shape.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The `chat.completion` object to return to the caller (without kt's `provider` field).
    pub body: Map<String, Value>,
    /// Assistant text of the first choice (empty when there is none, e.g. tool calls only).
    pub text: String,
    /// Prompt tokens as the upstream counted them (None when it sent no usage).
    pub input_tokens: Option<u64>,
    /// Completion tokens as the upstream counted them.
    pub output_tokens: Option<u64>,
    /// `finish_reason` of the first choice.
    pub finish_reason: Option<String>,
    /// The first choice's tool calls in canonical form (see [`canonical_tool_calls`]).
    pub tool_calls: Option<String>,
}

impl Completion {
    /// Builds a completion from an OpenAI-shaped body, reading text, usage and finish reason.
    pub fn from_openai_body(body: Map<String, Value>) -> Result<Self, UpstreamError> {
        let choices = body
            .get("choices")
            .and_then(Value::as_array)
            .ok_or_else(|| UpstreamError::InvalidResponse("no `choices` array".into()))?;
        let first = choices.first();
        let text = first
            .and_then(|c| c.get("message"))
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let finish_reason = first
            .and_then(|c| c.get("finish_reason"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let usage = body.get("usage");
        let count = |k: &str| usage.and_then(|u| u.get(k)).and_then(token_count);
        let tool_calls = first
            .and_then(|c| c.get("message"))
            .and_then(|m| m.get("tool_calls"))
            .and_then(Value::as_array)
            .and_then(|calls| {
                canonical_tool_calls(calls.iter().map(|c| {
                    let f = c.get("function");
                    (
                        f.and_then(|f| f.get("name"))
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                        f.and_then(|f| f.get("arguments"))
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                    )
                }))
            });
        Ok(Self {
            tool_calls,
            input_tokens: count("prompt_tokens"),
            output_tokens: count("completion_tokens"),
            text,
            finish_reason,
            body,
        })
    }
}

/// All message text of a request, in order (string contents and text parts): what the
/// simulator answers to and what the content filter scans.
pub fn prompt_text(req: &Map<String, Value>) -> String {
    let mut out = String::new();
    for m in req
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match m.get("content") {
            Some(Value::String(s)) => out.push_str(s),
            Some(Value::Array(parts)) => {
                for p in parts {
                    if let Some(t) = p.get("text").and_then(Value::as_str) {
                        out.push_str(t);
                        out.push(' ');
                    }
                }
            }
            _ => {}
        }
        out.push('\n');
    }
    out
}

/// Tool calls as one comparable string: `[{"arguments":…,"name":…}]` with the arguments
/// parsed and every object's keys sorted, so two answers that call the same tools with the
/// same arguments compare equal however each model spaced or ordered its JSON. Arguments
/// that are not JSON are kept as their string. `None` when there are no calls.
pub fn canonical_tool_calls<'a>(calls: impl Iterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let list: Vec<Value> = calls
        .map(|(name, args)| {
            let args = serde_json::from_str::<Value>(args)
                .map_or_else(|_| Value::String(args.to_string()), |v| sorted(&v));
            serde_json::json!({"arguments": args, "name": name})
        })
        .collect();
    if list.is_empty() {
        return None;
    }
    serde_json::to_string(&sorted(&Value::Array(list))).ok()
}

/// A copy of `v` with every object's keys in sorted order.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// A token count as an upstream reported it; values SQLite cannot store (above
/// `i64::MAX`) are nonsense from a broken upstream and count as absent.
pub fn token_count(v: &Value) -> Option<u64> {
    v.as_u64().filter(|n| i64::try_from(*n).is_ok())
}

/// Why an upstream call failed. Messages never contain API keys (see `redact`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answered with a non-2xx status.
    #[error("upstream returned HTTP {status}: {message}")]
    Status {
        status: u16,
        /// OpenAI-style error `type` (Anthropic's `error.type` is carried over).
        kind: String,
        /// OpenAI-style error `code`, if any.
        code: Option<String>,
        /// The request field the upstream blamed (OpenAI's `error.param`), if any. Boxed:
        /// it keeps the error (returned on every path) small.
        param: Option<Box<str>>,
        message: String,
        /// `retry-after` header to forward on 429/503.
        retry_after: Option<String>,
    },
    /// No answer within the target's (or the mirror's) timeout.
    #[error("upstream timed out after {0} ms")]
    Timeout(u64),
    /// Connecting or sending failed (refused, reset, DNS, TLS).
    #[error("upstream unreachable: {0}")]
    Connect(String),
    /// A 2xx answer that is not the JSON shape the provider documents.
    #[error("invalid upstream response: {0}")]
    InvalidResponse(String),
    /// `secret_key_ref.env` names a variable that was not set when kt started.
    #[error("no API key: environment variable {0} is not set")]
    MissingKey(String),
    /// kt's own configuration cannot be used for this call (e.g. a key with a newline).
    #[error("gateway configuration error: {0}")]
    Config(String),
    /// The gateway shut down before the call finished.
    #[error("gateway shut down before the upstream answered")]
    Cancelled,
    /// The upstream reported an error after its 200 status, in the middle of a stream.
    #[error("upstream stream failed: {message}")]
    Stream { kind: String, message: String },
    /// The request cannot be expressed in the target's wire format (e.g. `n > 1` for Anthropic).
    #[error("{message}")]
    Untranslatable {
        message: String,
        param: Option<String>,
    },
}

impl UpstreamError {
    /// Short class used in events and reports: `http_4xx`, `http_5xx`, `timeout`, ...
    pub fn class(&self) -> &'static str {
        match self {
            Self::Status {
                status: 400..=499, ..
            } => "http_4xx",
            Self::Status { status: 500.., .. } => "http_5xx",
            Self::Status { .. } => "http_other",
            Self::Timeout(_) => "timeout",
            Self::Connect(_) => "connect",
            Self::InvalidResponse(_) => "invalid_response",
            Self::MissingKey(_) => "missing_key",
            Self::Untranslatable { .. } => "untranslatable",
            Self::Stream { .. } => "stream_error",
            Self::Config(_) => "config",
            Self::Cancelled => "cancelled",
        }
    }

    /// The upstream HTTP status, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Replaces every occurrence of a secret in `text` with `[REDACTED]`; upstream error
/// messages sometimes echo part of the key they were sent.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(*s, "[REDACTED]");
    }
    out
}

/// What an upstream's JSON error body says (see [`parse_error_body`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub message: String,
    /// `error.type`, or the type the status means when there is none.
    pub kind: String,
    pub code: Option<String>,
    /// `error.param`: the request field at fault (OpenAI's shape only).
    pub param: Option<String>,
}

/// Reads the JSON error body of a non-2xx answer in either dialect
/// (`{"error":{"message","type","param","code"}}` or Anthropic's
/// `{"type":"error","error":{...}}`).
pub fn parse_error_body(status: u16, body: &[u8]) -> ErrorBody {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let err = parsed.as_ref().and_then(|v| v.get("error"));
    let message = err
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let snippet: String = String::from_utf8_lossy(body).chars().take(200).collect();
            if snippet.trim().is_empty() {
                format!("HTTP {status} with an empty body")
            } else {
                format!("HTTP {status}: {snippet}")
            }
        });
    let kind = err
        .and_then(|e| e.get("type"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| default_error_type(status).to_string());
    let text = |key: &str| {
        err.and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    ErrorBody {
        message,
        kind,
        code: text("code"),
        param: text("param"),
    }
}

/// OpenAI's error `type` for a status, used when the upstream gave none.
pub fn default_error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves redaction removes every copy of a key and ignores too-short secrets.
    #[test]
    fn redact_removes_keys() {
        let msg = "bad key sk-abcdef123 (sk-abcdef123)";
        assert_eq!(
            redact(msg, &["sk-abcdef123"]),
            "bad key [REDACTED] ([REDACTED])"
        );
        assert_eq!(redact("abc", &["ab"]), "abc");
    }

    // Proves tool calls compare equal across key order and spacing, and differ by argument.
    #[test]
    fn canonical_tool_calls_ignore_formatting() {
        let a = canonical_tool_calls(
            [("get_weather", r#"{"city": "Paris", "unit": "c"}"#)].into_iter(),
        );
        let b =
            canonical_tool_calls([("get_weather", r#"{"unit":"c","city":"Paris"}"#)].into_iter());
        let c =
            canonical_tool_calls([("get_weather", r#"{"unit":"c","city":"Rome"}"#)].into_iter());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(canonical_tool_calls(std::iter::empty()), None);
        assert!(
            canonical_tool_calls([("f", "not json")].into_iter())
                .unwrap()
                .contains("not json")
        );
    }

    // Proves an error body's param and code are read (regression: param was dropped), and
    // an Anthropic body, which has neither, still gives its message and type.
    #[test]
    fn error_body_keeps_param() {
        let b = parse_error_body(
            400,
            br#"{"error":{"message":"bad","type":"invalid_request_error","param":"messages[0].content","code":"invalid_value"}}"#,
        );
        assert_eq!(b.param.as_deref(), Some("messages[0].content"));
        assert_eq!(b.code.as_deref(), Some("invalid_value"));
        let b = parse_error_body(
            400,
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"m"}}"#,
        );
        assert_eq!(
            (b.message.as_str(), b.kind.as_str()),
            ("m", "invalid_request_error")
        );
        assert_eq!((b.param, b.code), (None, None));
    }

    // Proves token counts SQLite cannot store are treated as absent (review B1).
    #[test]
    fn absurd_token_counts_are_absent() {
        assert_eq!(token_count(&serde_json::json!(12)), Some(12));
        assert_eq!(
            token_count(&serde_json::json!(9_223_372_036_854_775_808u64)),
            None
        );
        assert_eq!(token_count(&serde_json::json!(-1)), None);
    }
}
