//! Gemini `streamGenerateContent?alt=sse` → OpenAI chunks (provider-apis-more.md §3.4).
//! Every SSE `data:` is a whole `GenerateContentResponse` carrying only new parts and no
//! event name: the first gives the role chunk, text parts become content chunks, each
//! function call (sent whole) a tool-call start plus one arguments chunk, and a
//! `finishReason` the finish chunk. The stream has no terminal event, so its end emits the
//! usage chunk from the last `usageMetadata` seen. An `{"error":…}` event ends it with an error.

use std::time::Duration;

use serde_json::{Map, Value};

use super::response::{
    block_reason, call_id, completion_id, error_kind, finish_reason, first_candidate,
    is_tool_failure, model_name, parts, tool_failure, usage, visible_text,
};
use crate::providers::UpstreamError;
use crate::providers::stream::{ChunkStream, EventTranslator, Step, sse_chunks};
use crate::providers::translate::answer::{ChunkBuilder, Usage, arguments_text};
use crate::providers::translate::str_at;

/// Translation state for one stream.
#[derive(Debug, Default)]
pub struct Translator {
    /// Id, model and timestamp of every chunk; id and model are set by the first event.
    chunks: ChunkBuilder,
    /// The model asked for, named when the answer gives no `modelVersion`.
    requested_model: String,
    /// Gemini's `responseId`, from which missing tool-call ids are minted.
    response_id: String,
    /// Whether the first event (and so the role chunk) has arrived.
    started: bool,
    /// Whether any answer text was sent.
    text: bool,
    /// Tool calls sent so far (the next one's OpenAI index).
    tools: u64,
    /// Whether the finish chunk was sent.
    finished: bool,
    /// The latest `usageMetadata` (Gemini's counts are cumulative; the last event has all).
    usage: Option<Usage>,
}

impl Translator {
    /// A translator for a stream from `model`, stamped `created`.
    pub fn new(model: &str, created: u64) -> Self {
        Self {
            chunks: ChunkBuilder::new("", model, created),
            requested_model: model.to_string(),
            ..Self::default()
        }
    }

    /// Translates one SSE event (Gemini names none, so `_name` is ignored).
    pub fn on_event(&mut self, _name: &str, data: &str) -> Result<Step, UpstreamError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(Step::Chunks(vec![]));
        }
        let v: Value = serde_json::from_str(data).map_err(|_| {
            UpstreamError::InvalidResponse("a Gemini stream event is not JSON".into())
        })?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(stream_error(err));
        }
        if !v.is_object() {
            return Err(UpstreamError::InvalidResponse(
                "a Gemini stream event is not a JSON object".into(),
            ));
        }
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            self.response_id = str_at(&v, "responseId").to_string();
            self.chunks.id = completion_id(&self.response_id);
            self.chunks.model = model_name(&v, &self.requested_model);
            out.push(self.chunks.role());
        }
        if let Some(u) = v.get("usageMetadata").filter(|u| u.is_object()) {
            self.usage = Some(usage(u));
        }
        match first_candidate(&v) {
            Some(candidate) => {
                for p in parts(candidate) {
                    if let Some(call) = p.get("functionCall") {
                        out.extend(self.tool_call(call));
                    } else if let Some(t) = visible_text(p).filter(|t| !t.is_empty()) {
                        self.text = true;
                        out.push(self.chunks.text(t));
                    }
                }
                // Unspecified means "not finished yet", not a reason.
                let reason = candidate
                    .get("finishReason")
                    .and_then(Value::as_str)
                    .filter(|r| *r != "FINISH_REASON_UNSPECIFIED");
                if let Some(r) = reason {
                    out.extend(self.finish(r)?);
                }
            }
            // A blocked prompt: Gemini sends no candidate at all.
            None if block_reason(&v).is_some() => out.extend(self.finish("SAFETY")?),
            // Usage-only and other candidate-less events are tolerated (§7).
            None => {}
        }
        Ok(Step::Chunks(out))
    }

    /// A whole function call → its start chunk and one arguments chunk.
    fn tool_call(&mut self, call: &Value) -> Vec<Map<String, Value>> {
        let k = self.tools;
        self.tools += 1;
        let id = call_id(call, &self.response_id, usize::try_from(k).unwrap_or(usize::MAX));
        vec![
            self.chunks.tool_start(k, &id, str_at(call, "name")),
            self.chunks
                .tool_arguments(k, &arguments_text(call.get("args"))),
        ]
    }

    /// The finish chunk for Gemini's `reason`, once.
    fn finish(&mut self, reason: &str) -> Result<Vec<Map<String, Value>>, UpstreamError> {
        if self.finished {
            return Ok(vec![]);
        }
        if is_tool_failure(reason) && !self.text && self.tools == 0 {
            return Err(tool_failure(reason));
        }
        self.finished = true;
        Ok(vec![
            self.chunks
                .finish(finish_reason(Some(reason), self.tools > 0)),
        ])
    }

    /// The stream ended (Gemini's normal end): the finish chunk if none came, then usage.
    pub fn on_end(&mut self) -> Result<Vec<Map<String, Value>>, UpstreamError> {
        let truncated = |message: &str| UpstreamError::Stream {
            kind: "upstream_error".into(),
            message: message.into(),
        };
        if !self.started {
            return Err(truncated(
                "the upstream closed the stream without sending any event",
            ));
        }
        let mut out = Vec::new();
        if !self.finished {
            if !self.text && self.tools == 0 {
                return Err(truncated(
                    "the upstream closed the stream with no content and no finishReason",
                ));
            }
            self.finished = true;
            out.push(self.chunks.finish(finish_reason(None, self.tools > 0)));
        }
        if let Some(u) = self.usage {
            out.push(self.chunks.usage(u));
        }
        Ok(out)
    }
}

/// A `google.rpc.Status` received after the 200 status.
fn stream_error(err: &Value) -> UpstreamError {
    let code = err
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(500);
    let status = err.get("status").and_then(Value::as_str);
    UpstreamError::Stream {
        kind: error_kind(code, status).to_string(),
        message: err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the upstream reported an error mid-stream")
            .to_string(),
    }
}

/// Gemini SSE response → OpenAI chunk stream; `idle` bounds each wait for an event.
pub fn chunks(resp: reqwest::Response, idle: Duration, model: &str, created: u64) -> ChunkStream {
    sse_chunks(resp, idle, Translator::new(model, created))
}

impl EventTranslator for Translator {
    fn on_event(&mut self, name: &str, data: &str) -> Result<Step, UpstreamError> {
        Translator::on_event(self, name, data)
    }

    fn on_end(&mut self) -> Result<Vec<Map<String, Value>>, UpstreamError> {
        Translator::on_end(self)
    }
}
