//! ConverseStream answers: the `application/vnd.amazon.eventstream` binary framing
//! (provider-apis-more.md §2.6) decoded into messages, and driven through an
//! [`EventTranslator`] into OpenAI chunks like `sse_chunks` does for SSE.
//!
//! Frames are decoded by aws-smithy-eventstream (both CRCs checked); [`FrameReader`] adds
//! the incremental buffering, size limits and an early prelude check around it.

use std::collections::VecDeque;
use std::time::Duration;

use aws_smithy_types::event_stream::Message as RawMessage;
use bytes::{Buf, Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::Value;

use crate::providers::UpstreamError;
use crate::providers::stream::{ChunkStream, EventTranslator, Step};

/// Largest headers section accepted (botocore's limit).
pub const MAX_HEADERS_LEN: u32 = 128 * 1024;
/// Largest payload accepted (botocore's limit).
pub const MAX_PAYLOAD_LEN: u32 = 24 * 1024 * 1024;
/// total length, headers length, prelude CRC.
const PRELUDE_LEN: usize = 12;
/// Prelude plus the trailing message CRC: the size of an empty message.
const MIN_FRAME_LEN: u32 = 16;

/// One decoded event-stream message: the headers kt dispatches on, and the payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `:message-type`: `event`, `exception` or `error`.
    pub message_type: String,
    /// `:event-type` (events): `messageStart`, `contentBlockDelta`, `metadata`, …
    pub event_type: Option<String>,
    /// `:exception-type` (exceptions): `throttlingException`, …
    pub exception_type: Option<String>,
    /// `:error-code` (errors).
    pub error_code: Option<String>,
    /// `:error-message` (errors).
    pub error_message: Option<String>,
    /// The payload: JSON text for Bedrock's events and exceptions.
    pub payload: Bytes,
}

impl Message {
    /// Reads the dispatch headers of a decoded frame. Header names may appear only once
    /// per message, so the first of each is taken; a missing `:message-type` or a
    /// non-string value for one of these names is an invalid frame.
    fn from_raw(raw: RawMessage) -> Result<Self, UpstreamError> {
        let text = |name: &str| -> Result<Option<String>, UpstreamError> {
            match raw.headers().iter().find(|h| h.name().as_str() == name) {
                None => Ok(None),
                Some(h) => h
                    .value()
                    .as_string()
                    .map(|s| Some(s.as_str().to_string()))
                    .map_err(|_| invalid(&format!("header `{name}` is not a string"))),
            }
        };
        Ok(Self {
            message_type: text(":message-type")?
                .ok_or_else(|| invalid("a message has no `:message-type` header"))?,
            event_type: text(":event-type")?,
            exception_type: text(":exception-type")?,
            error_code: text(":error-code")?,
            error_message: text(":error-message")?,
            payload: raw.payload().clone(),
        })
    }

    /// The payload as UTF-8 text.
    pub fn payload_text(&self) -> Result<&str, UpstreamError> {
        std::str::from_utf8(&self.payload).map_err(|_| invalid("a payload is not UTF-8"))
    }
}

/// An incremental frame decoder: [`push`](Self::push) bytes as they arrive, then take
/// complete messages with [`next_message`](Self::next_message). A bad CRC, an impossible
/// length or a malformed header is an error, never a panic; after one the reader stays
/// failed, since the frame boundaries behind it are lost.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: BytesMut,
    failed: bool,
}

impl FrameReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes received from the network.
    pub fn push(&mut self, bytes: &[u8]) {
        if !self.failed {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes held that do not yet form a whole message (non-zero at the end of a stream
    /// means it was cut mid-frame).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message, `Ok(None)` when more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Message>, UpstreamError> {
        if self.failed {
            return Err(invalid("the event stream already failed"));
        }
        let r = self.decode();
        if r.is_err() {
            self.failed = true;
            self.buf.clear();
        }
        r
    }

    fn decode(&mut self) -> Result<Option<Message>, UpstreamError> {
        if self.buf.len() < PRELUDE_LEN {
            return Ok(None);
        }
        let mut prelude = &self.buf[..PRELUDE_LEN];
        let total = prelude.get_u32();
        let headers = prelude.get_u32();
        let crc = prelude.get_u32();
        // Checked now rather than when the whole frame is in: a corrupted length would
        // otherwise have kt wait for (and buffer) bytes that never come.
        if crc32fast::hash(&self.buf[..8]) != crc {
            return Err(invalid("prelude CRC mismatch"));
        }
        let payload = total
            .checked_sub(MIN_FRAME_LEN)
            .and_then(|rest| rest.checked_sub(headers))
            .ok_or_else(|| invalid("frame lengths are inconsistent"))?;
        if headers > MAX_HEADERS_LEN || payload > MAX_PAYLOAD_LEN {
            return Err(invalid("a frame exceeds the size limits"));
        }
        let total = usize::try_from(total).map_err(|_| invalid("frame too large"))?;
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame = self.buf.split_to(total).freeze();
        let raw = aws_smithy_eventstream::frame::read_message_from(frame)
            .map_err(|e| invalid(&e.to_string()))?;
        Message::from_raw(raw).map(Some)
    }
}

fn invalid(what: &str) -> UpstreamError {
    UpstreamError::InvalidResponse(format!("invalid event stream: {what}"))
}

/// Feeds one message to the translator. Events go to `tr.on_event(:event-type, payload)`;
/// an `exception` or `error` message ends the stream with the error
/// `tr.on_exception(name, message)` makes of it (by default [`UpstreamError::Stream`] with
/// the name as its kind); unknown message types are skipped (the protocol may grow).
pub fn dispatch<T: EventTranslator>(tr: &mut T, msg: &Message) -> Result<Step, UpstreamError> {
    match msg.message_type.as_str() {
        "event" => {
            let name = msg
                .event_type
                .as_deref()
                .ok_or_else(|| invalid("an event has no `:event-type` header"))?;
            tr.on_event(name, msg.payload_text()?)
        }
        "exception" => Err(tr.on_exception(
            msg.exception_type.as_deref().unwrap_or("exception"),
            exception_message(&msg.payload),
        )),
        "error" => Err(tr.on_exception(
            msg.error_code.as_deref().unwrap_or("error"),
            msg.error_message
                .clone()
                .unwrap_or_else(|| "the upstream reported an error mid-stream".into()),
        )),
        _ => Ok(Step::Chunks(Vec::new())),
    }
}

/// The `message` of an exception payload (`Message` in some services); the raw text,
/// shortened, when it is not that JSON.
fn exception_message(payload: &[u8]) -> String {
    let v: Option<Value> = serde_json::from_slice(payload).ok();
    let field = |k: &str| v.as_ref().and_then(|v| v.get(k)).and_then(Value::as_str);
    match field("message").or_else(|| field("Message")) {
        Some(m) => m.to_string(),
        None => {
            let text: String = String::from_utf8_lossy(payload).chars().take(200).collect();
            if text.trim().is_empty() {
                "the upstream reported an exception mid-stream".into()
            } else {
                text
            }
        }
    }
}

/// An event-stream response → OpenAI chunks through `tr`; the event-stream twin of
/// `sse_chunks`. `idle` bounds each wait for more bytes; a broken connection or a stream
/// cut inside a frame is [`UpstreamError::Stream`]; a clean end without [`Step::Done`]
/// asks `tr.on_end()` (Bedrock has no end marker: `metadata` is simply last).
pub fn chunks<T: EventTranslator>(resp: reqwest::Response, idle: Duration, tr: T) -> ChunkStream {
    let body = Box::pin(resp.bytes_stream());
    let init = (body, FrameReader::new(), tr, VecDeque::new(), false);
    let stream = futures_util::stream::unfold(
        init,
        move |(mut body, mut reader, mut tr, mut queue, mut done)| async move {
            loop {
                if let Some(c) = queue.pop_front() {
                    return Some((Ok(c), (body, reader, tr, queue, done)));
                }
                if done {
                    return None;
                }
                // Messages already buffered first: one network read may hold several.
                let step = match reader.next_message() {
                    Ok(Some(msg)) => dispatch(&mut tr, &msg),
                    Ok(None) => match tokio::time::timeout(idle, body.next()).await {
                        Err(_) => Err(UpstreamError::Timeout(millis(idle))),
                        Ok(None) if reader.buffered() > 0 => Err(broken(
                            "the upstream closed the stream in the middle of a frame",
                        )),
                        Ok(None) => tr.on_end().map(Step::Done),
                        Ok(Some(Err(e))) => {
                            Err(broken(&format!("the connection broke mid-stream: {e}")))
                        }
                        Ok(Some(Ok(bytes))) => {
                            reader.push(&bytes);
                            continue;
                        }
                    },
                    Err(e) => Err(e),
                };
                match step {
                    Ok(Step::Chunks(cs)) => queue.extend(cs),
                    Ok(Step::Done(cs)) => {
                        queue.extend(cs);
                        done = true;
                    }
                    Err(e) => return Some((Err(e), (body, reader, tr, queue, true))),
                }
            }
        },
    );
    Box::pin(stream)
}

fn broken(message: &str) -> UpstreamError {
    UpstreamError::Stream {
        kind: "upstream_error".into(),
        message: message.into(),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[path = "eventstream_tests.rs"]
mod tests;
