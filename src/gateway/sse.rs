//! Framing a relayed stream in the caller's dialect: OpenAI `data: {chunk}` frames ending in
//! `data: [DONE]`, or Anthropic's named events (`event: NAME` + `data: {…}`) ending in
//! `message_stop`. The relay (`stream.rs`) reads kt's internal chunks and asks this for bytes.

use axum::body::Bytes;
use serde_json::{Map, Value};

use super::dialect::Dialect;
use super::errors::ApiError;
use crate::ingress::anthropic_stream;
use crate::providers::is_usage_chunk;

/// The framing of one stream.
pub enum Encoder {
    OpenAi {
        /// The caller asked for the usage chunk (`stream_options.include_usage`).
        include_usage: bool,
    },
    Anthropic(Box<anthropic_stream::Encoder>),
}

impl Encoder {
    /// The framing for a caller of `dialect` who asked for `model`.
    pub fn new(dialect: Dialect, include_usage: bool, model: &str) -> Self {
        match dialect {
            Dialect::OpenAi => Self::OpenAi { include_usage },
            Dialect::Anthropic => Self::Anthropic(Box::new(anthropic_stream::Encoder::new(model))),
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
        }
    }

    /// The last bytes of a stream that failed mid-way: the dialect's error frame.
    pub fn error(&mut self, err: &ApiError) -> Bytes {
        match self {
            Self::OpenAi { .. } => sse_data(&err.body()),
            Self::Anthropic(_) => event("error", &err.anthropic_body(None)),
        }
    }

    /// The last bytes of a stream that ended cleanly.
    pub fn done(&mut self) -> Bytes {
        match self {
            Self::OpenAi { .. } => Bytes::from_static(b"data: [DONE]\n\n"),
            Self::Anthropic(e) => events(e.finish()).unwrap_or_default(),
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
