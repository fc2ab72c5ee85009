//! Framing a relayed stream in the caller's dialect: OpenAI `data: {chunk}` frames ending in
//! `data: [DONE]`, Anthropic's named events (`event: NAME` + `data: {…}`) ending in
//! `message_stop`, or the Responses API's events ending in `response.completed`. The relay
//! (`stream.rs`) reads kt's internal chunks (or, from a primary that speaks the Responses
//! API, its own events, relayed as they are) and asks this for bytes.

use axum::body::Bytes;
use serde_json::{Map, Value};

use super::dialect::Dialect;
use super::errors::ApiError;
use crate::ingress::{anthropic_stream, responses_stream};
use crate::providers::is_usage_chunk;
use crate::providers::openai::responses::is_event;

/// The framing of one stream.
pub enum Encoder {
    OpenAi {
        /// The caller asked for the usage chunk (`stream_options.include_usage`).
        include_usage: bool,
    },
    Anthropic(Box<anthropic_stream::Encoder>),
    Responses {
        /// Translates Chat chunks from a primary that does not speak the Responses API.
        encoder: Box<responses_stream::Encoder>,
        /// The primary's own Responses events are being relayed: nothing to add at the end.
        native: bool,
    },
}

impl Encoder {
    /// The framing for a caller of `dialect` who asked for `model`.
    pub fn new(dialect: Dialect, include_usage: bool, model: &str) -> Self {
        match dialect {
            Dialect::OpenAi => Self::OpenAi { include_usage },
            Dialect::Anthropic => Self::Anthropic(Box::new(anthropic_stream::Encoder::new(model))),
            Dialect::Responses => Self::Responses {
                encoder: Box::new(responses_stream::Encoder::new(model)),
                native: false,
            },
        }
    }

    /// The bytes one upstream chunk gives the caller; `None` when it gives nothing.
    pub fn chunk(&mut self, mut chunk: Map<String, Value>) -> Option<Bytes> {
        match self {
            Self::OpenAi { include_usage } => {
                if !*include_usage {
                    // kt asked the upstream for usage; the caller did not.
                    if is_usage_chunk(&chunk) {
                        return None;
                    }
                    chunk.remove("usage");
                }
                Some(sse_data(&Value::Object(chunk)))
            }
            Self::Anthropic(e) => events(e.on_chunk(&chunk)),
            Self::Responses { encoder, native } => {
                if is_event(&chunk) {
                    *native = true;
                    return Some(responses_events(&[Value::Object(chunk)]));
                }
                let list = encoder.on_chunk(&chunk);
                (!list.is_empty()).then(|| responses_events(&list))
            }
        }
    }

    /// The last bytes of a stream that failed mid-way: the dialect's error frame.
    pub fn error(&mut self, err: &ApiError) -> Bytes {
        match self {
            Self::OpenAi { .. } => sse_data(&err.body()),
            Self::Anthropic(_) => event("error", &err.anthropic_body(None)),
            // A relayed native stream already carried the upstream's own failure event.
            Self::Responses { native: true, .. } => Bytes::new(),
            Self::Responses { encoder, .. } => {
                responses_events(&encoder.fail(&err.message, err.code.as_deref()))
            }
        }
    }

    /// The last bytes of a stream that ended cleanly.
    pub fn done(&mut self) -> Bytes {
        match self {
            Self::OpenAi { .. } => Bytes::from_static(b"data: [DONE]\n\n"),
            Self::Anthropic(e) => events(e.finish()).unwrap_or_default(),
            Self::Responses { native: true, .. } => Bytes::new(),
            Self::Responses { encoder, .. } => responses_events(&encoder.finish()),
        }
    }
}

/// One SSE frame: `data: {json}` and a blank line.
fn sse_data(v: &Value) -> Bytes {
    let json = serde_json::to_string(v).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("data: {json}\n\n"))
}

/// One named SSE event.
fn event(name: &str, data: &Value) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

/// Several named events in one write (`None` when there are none).
fn events(list: Vec<anthropic_stream::Event>) -> Option<Bytes> {
    if list.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (name, data) in list {
        let json = serde_json::to_string(&data).unwrap_or_else(|_| "{}".into());
        out.push_str(&format!("event: {name}\ndata: {json}\n\n"));
    }
    Some(Bytes::from(out))
}

/// Responses API events, each framed `event: {type}` + `data: {json}`.
fn responses_events(list: &[Value]) -> Bytes {
    let mut out = String::new();
    for ev in list {
        out.push_str(&responses_stream::sse_frame(ev));
    }
    Bytes::from(out)
}
