//! ConverseStream events → OpenAI chunks (provider-apis-more.md §2.6, §2.9): `messageStart`
//! gives the role chunk, text and tool-input deltas become content and tool-call chunks,
//! `messageStop` the finish chunk, and `metadata` (which follows it) the usage chunk and
//! the end. Unknown events are skipped; exception events end the stream with an error.
//! The event-stream frame decoder drives this with each frame's `:event-type` and payload.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::response::{completion_id, finish_reason, openai_usage};
use crate::providers::UpstreamError;
use crate::providers::stream::{EventTranslator, Step};
use crate::providers::translate::{ChunkBuilder, Usage, str_at};

/// Translation state for one stream.
#[derive(Debug)]
pub struct Translator {
    out: ChunkBuilder,
    /// The role chunk went out.
    started: bool,
    /// Converse `contentBlockIndex` → OpenAI tool-call index (tool blocks only: the block
    /// index counts text blocks too).
    tools: HashMap<u64, u64>,
    /// `messageStop` arrived and its finish chunk went out.
    finished: bool,
    /// Usage from a `metadata` event that came before `messageStop` (not seen in practice).
    usage: Option<Usage>,
}

impl Translator {
    /// A translator whose chunks carry `model` (the mapped upstream model) and `created`,
    /// with a fresh `chatcmpl-` id.
    pub fn new(model: &str, created: u64) -> Self {
        Self::with_request_id(model, created, None)
    }

    /// Like [`Translator::new`], with the id taken from the `x-amzn-RequestId` header.
    pub fn with_request_id(model: &str, created: u64, request_id: Option<&str>) -> Self {
        Self {
            out: ChunkBuilder::new(completion_id(request_id), model, created),
            started: false,
            tools: HashMap::new(),
            finished: false,
            usage: None,
        }
    }

    /// Translates one event: its `:event-type` (or `:exception-type`) and JSON payload.
    pub fn on_event(&mut self, name: &str, data: &str) -> Result<Step, UpstreamError> {
        if name.to_ascii_lowercase().ends_with("exception") {
            return Err(exception(name, data));
        }
        if !matches!(
            name,
            "messageStart"
                | "contentBlockStart"
                | "contentBlockDelta"
                | "contentBlockStop"
                | "messageStop"
                | "metadata"
        ) {
            // The union grows; a new event type must not fail a stream.
            return Ok(Step::Chunks(vec![]));
        }
        let v: Value = serde_json::from_str(data).map_err(|_| {
            UpstreamError::InvalidResponse(format!("`{name}` event data is not JSON"))
        })?;
        let mut out = Vec::new();
        if name != "metadata" && !self.started {
            // A role chunk first, even if a delta came before `messageStart`.
            self.started = true;
            out.push(self.out.role());
        }
        let index = v.get("contentBlockIndex").and_then(Value::as_u64);
        match name {
            "contentBlockStart" => {
                if let (Some(index), Some(call)) = (index, v.pointer("/start/toolUse")) {
                    if !self.tools.contains_key(&index) {
                        let k = self.tools.len() as u64;
                        self.tools.insert(index, k);
                        let (id, name) = (str_at(call, "toolUseId"), str_at(call, "name"));
                        out.push(self.out.tool_start(k, id, name));
                    }
                }
            }
            "contentBlockDelta" => {
                let delta = v.get("delta").unwrap_or(&Value::Null);
                if let Some(text) = delta.get("text").and_then(Value::as_str) {
                    if !text.is_empty() {
                        out.push(self.out.text(text));
                    }
                } else if let Some(input) = delta.pointer("/toolUse/input").and_then(Value::as_str)
                {
                    let k = index.and_then(|i| self.tools.get(&i)).ok_or_else(|| {
                        UpstreamError::InvalidResponse(
                            "tool input arrived for a block that never started as a tool use"
                                .into(),
                        )
                    })?;
                    if !input.is_empty() {
                        out.push(self.out.tool_arguments(*k, input));
                    }
                }
                // reasoningContent, citation and other deltas have no Chat Completions field.
            }
            "messageStop" => {
                let stop = v.get("stopReason").and_then(Value::as_str);
                let reason = finish_reason(stop).map_err(|message| UpstreamError::Stream {
                    kind: "upstream_error".into(),
                    message,
                })?;
                if !self.finished {
                    self.finished = true;
                    out.push(self.out.finish(reason));
                }
                if let Some(u) = self.usage.take() {
                    out.push(self.out.usage(u));
                    return Ok(Step::Done(out));
                }
            }
            "metadata" => {
                let usage = v.get("usage").filter(|u| u.is_object()).map(openai_usage);
                if !self.finished {
                    // Usage is due after the finish chunk; keep it until `messageStop`.
                    self.usage = usage;
                    return Ok(Step::Chunks(out));
                }
                out.extend(usage.map(|u| self.out.usage(u)));
                return Ok(Step::Done(out));
            }
            // messageStart (the role chunk above) and contentBlockStop.
            _ => {}
        }
        Ok(Step::Chunks(out))
    }
}

impl EventTranslator for Translator {
    fn on_event(&mut self, name: &str, data: &str) -> Result<Step, UpstreamError> {
        Translator::on_event(self, name, data)
    }

    /// After `messageStop` the answer is whole: a stream cut before `metadata` only lacks
    /// usage, which the gateway then counts as unknown (and estimates), rather than a zero
    /// usage chunk that would pass for a real count. Before `messageStop` it is an error.
    fn on_end(&mut self) -> Result<Vec<Map<String, Value>>, UpstreamError> {
        if self.finished {
            return Ok(Vec::new());
        }
        Err(UpstreamError::Stream {
            kind: "upstream_error".into(),
            message: "the upstream closed the stream before `messageStop`".into(),
        })
    }
}

/// An exception event (`throttlingException`, `modelStreamErrorException`, …) → a stream
/// error with the OpenAI error type it corresponds to and AWS's name in the message.
fn exception(name: &str, data: &str) -> UpstreamError {
    let kind = match name.to_ascii_lowercase().as_str() {
        "throttlingexception" | "servicequotaexceededexception" => "rate_limit_error",
        "validationexception" => "invalid_request_error",
        _ => "api_error",
    };
    let parsed: Option<Value> = serde_json::from_str(data).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message").or_else(|| v.get("Message")))
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| {
            let snippet: String = data.chars().take(200).collect();
            if parsed.is_none() && !snippet.trim().is_empty() {
                snippet
            } else {
                "the upstream reported an error mid-stream".into()
            }
        });
    UpstreamError::Stream {
        kind: kind.into(),
        message: format!("{name}: {message}"),
    }
}
