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
                // A repeated start for the same block would restart the call: ignore it.
                if let (Some(index), Some(call)) = (index, v.pointer("/start/toolUse"))
                    && !self.tools.contains_key(&index)
                {
                    let k = self.tools.len() as u64;
                    self.tools.insert(index, k);
                    let (id, name) = (str_at(call, "toolUseId"), str_at(call, "name"));
                    out.push(self.out.tool_start(k, id, name));
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
    /// An `exception` frame (how ConverseStream reports `throttlingException` and the
    /// like after its 200): the OpenAI error type it corresponds to, AWS's name in the text.
    fn on_exception(&mut self, name: &str, message: String) -> UpstreamError {
        exception_error(name, message)
    }

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
    exception_error(name, message)
}

/// An AWS exception name and its message → the stream error: the OpenAI error type the
/// name corresponds to (`rate_limit_error`, `invalid_request_error`, else `api_error`),
/// and `{name}: {message}` so AWS's name stays visible.
fn exception_error(name: &str, message: String) -> UpstreamError {
    let kind = match name.to_ascii_lowercase().as_str() {
        "throttlingexception" | "servicequotaexceededexception" => "rate_limit_error",
        "validationexception" => "invalid_request_error",
        _ => "api_error",
    };
    UpstreamError::Stream {
        kind: kind.into(),
        message: format!("{name}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Feeds events to a fresh translator, then the end of the stream when none said Done.
    fn run(events: &[(&str, Value)]) -> (Vec<Map<String, Value>>, Option<UpstreamError>) {
        let mut tr = Translator::with_request_id("m", 7, Some("rid"));
        let mut out = Vec::new();
        for (name, data) in events {
            match tr.on_event(name, &data.to_string()) {
                Ok(Step::Chunks(c)) => out.extend(c),
                Ok(Step::Done(c)) => {
                    out.extend(c);
                    return (out, None);
                }
                Err(e) => return (out, Some(e)),
            }
        }
        match EventTranslator::on_end(&mut tr) {
            Ok(c) => {
                out.extend(c);
                (out, None)
            }
            Err(e) => (out, Some(e)),
        }
    }

    fn delta(c: &Map<String, Value>) -> &Value {
        &c["choices"][0]["delta"]
    }

    /// Start, text "Hel"+"lo" in block 0, a get_weather call in block 1, stop for tool use.
    fn reference_events() -> Vec<(&'static str, Value)> {
        vec![
            ("messageStart", json!({"role":"assistant"})),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex":0,"delta":{"text":"Hel"}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex":0,"delta":{"text":"lo"},"p":"abcdef"}),
            ),
            ("contentBlockStop", json!({"contentBlockIndex":0})),
            (
                "contentBlockStart",
                json!({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_2","name":"get_weather"}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":\"Par"}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex":1,"delta":{"toolUse":{"input":"is\"}"}}}),
            ),
            ("contentBlockStop", json!({"contentBlockIndex":1})),
            ("messageStop", json!({"stopReason":"tool_use"})),
        ]
    }

    // Proves the §2.6 sequence (text, then a tool use) becomes role, text, tool, finish and usage chunks.
    #[test]
    fn translates_text_and_tool_use() {
        let mut events = reference_events();
        events.push((
            "metadata",
            json!({"usage":{"inputTokens":120,"outputTokens":31,"totalTokens":151,"cacheReadInputTokens":4},
                "metrics":{"latencyMs":812}}),
        ));
        let (chunks, err) = run(&events);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(chunks.len(), 8);
        assert!(
            chunks
                .iter()
                .all(|c| c["id"] == "chatcmpl-rid" && c["model"] == "m")
        );
        assert_eq!(delta(&chunks[0]), &json!({"role":"assistant","content":""}));
        assert_eq!(delta(&chunks[1])["content"], "Hel");
        assert_eq!(delta(&chunks[2])["content"], "lo");
        assert_eq!(
            delta(&chunks[3])["tool_calls"],
            json!([{"index":0,"id":"tooluse_2","type":"function",
                "function":{"name":"get_weather","arguments":""}}])
        );
        assert_eq!(
            delta(&chunks[4])["tool_calls"],
            json!([{"index":0,"function":{"arguments":"{\"city\":\"Par"}}])
        );
        assert_eq!(
            delta(&chunks[5])["tool_calls"][0]["function"]["arguments"],
            "is\"}"
        );
        assert_eq!(chunks[6]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(chunks[7]["choices"], json!([]));
        assert_eq!(
            chunks[7]["usage"],
            json!({"prompt_tokens":124,"completion_tokens":31,"total_tokens":155,
                "prompt_tokens_details":{"cached_tokens":4}})
        );
    }

    // Proves tool-call indexes count tools only, whatever the contentBlockIndex.
    #[test]
    fn tool_indexes_count_tools_only() {
        let (chunks, _) = run(&[
            ("messageStart", json!({"role":"assistant"})),
            (
                "contentBlockStart",
                json!({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"a","name":"f"}}}),
            ),
            (
                "contentBlockStart",
                json!({"contentBlockIndex":3,"start":{"toolUse":{"toolUseId":"b","name":"g"}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex":3,"delta":{"toolUse":{"input":"{}"}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{}"}}}),
            ),
        ]);
        let index = |c: &Map<String, Value>| delta(c)["tool_calls"][0]["index"].clone();
        assert_eq!(
            [1, 2, 3, 4].map(|i| index(&chunks[i])),
            [json!(0), json!(1), json!(1), json!(0)]
        );
    }

    // Proves a stream cut after messageStop ends cleanly without a usage chunk (usage unknown).
    #[test]
    fn end_after_message_stop_without_metadata_is_clean() {
        let (chunks, err) = run(&reference_events());
        assert!(err.is_none(), "{err:?}");
        let last = chunks.last().unwrap();
        assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
        assert!(!crate::providers::is_usage_chunk(last));
    }

    // Proves a stream cut before messageStop is an error, not a complete answer.
    #[test]
    fn truncated_stream_is_an_error() {
        let (chunks, err) = run(&reference_events()[..5]);
        assert_eq!(chunks.len(), 4);
        match err {
            Some(UpstreamError::Stream { kind, message }) => {
                assert_eq!(kind, "upstream_error");
                assert!(message.contains("messageStop"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    // Proves metadata before messageStop is held, so usage still follows the finish chunk.
    #[test]
    fn early_metadata_waits_for_the_finish() {
        let (chunks, err) = run(&[
            ("messageStart", json!({"role":"assistant"})),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex":0,"delta":{"text":"hi"}}),
            ),
            (
                "metadata",
                json!({"usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4}}),
            ),
            ("messageStop", json!({"stopReason":"max_tokens"})),
        ]);
        assert!(err.is_none());
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks[2]["choices"][0]["finish_reason"], "length");
        assert_eq!(chunks[3]["usage"]["total_tokens"], 4);
    }

    // Proves each exception event ends the stream with its OpenAI type and AWS name.
    #[test]
    fn exceptions_are_stream_errors() {
        for (name, kind) in [
            ("throttlingException", "rate_limit_error"),
            ("validationException", "invalid_request_error"),
            ("modelStreamErrorException", "api_error"),
            ("internalServerException", "api_error"),
            ("serviceUnavailableException", "api_error"),
        ] {
            let (_, err) = run(&[(name, json!({"message":"boom","originalStatusCode":500}))]);
            match err {
                Some(UpstreamError::Stream { kind: k, message }) => {
                    assert_eq!(k, kind);
                    assert_eq!(message, format!("{name}: boom"));
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        let mut tr = Translator::new("m", 1);
        match tr.on_event("throttlingException", "slow down") {
            Err(UpstreamError::Stream { message, .. }) => {
                assert_eq!(message, "throttlingException: slow down");
            }
            other => panic!("{other:?}"),
        }
    }

    // Proves a malformed-output stop reason fails the stream instead of passing for a stop.
    #[test]
    fn malformed_stop_reason_is_an_error() {
        let (_, err) = run(&[
            ("messageStart", json!({"role":"assistant"})),
            ("messageStop", json!({"stopReason":"malformed_tool_use"})),
        ]);
        assert!(
            matches!(err, Some(UpstreamError::Stream { message, .. }) if message.contains("malformed_tool_use"))
        );
    }

    // Proves unknown events and deltas are skipped, garbage and orphan tool input are errors.
    #[test]
    fn tolerates_unknown_and_rejects_garbage() {
        let (c, e) = run(&[
            ("messageStart", json!({"role":"assistant"})),
            ("futureEvent", json!({"x":1})),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hm"}}}),
            ),
            ("messageStop", json!({"stopReason":"end_turn"})),
            ("metadata", json!({"metrics":{"latencyMs":1}})),
        ]);
        assert!(e.is_none());
        assert_eq!(c.len(), 2);
        assert_eq!(c[1]["choices"][0]["finish_reason"], "stop");
        let mut tr = Translator::new("m", 1);
        assert!(matches!(
            tr.on_event("messageStart", "not json"),
            Err(UpstreamError::InvalidResponse(_))
        ));
        let (_, e) = run(&[(
            "contentBlockDelta",
            json!({"contentBlockIndex":2,"delta":{"toolUse":{"input":"{}"}}}),
        )]);
        assert!(matches!(e, Some(UpstreamError::InvalidResponse(_))));
    }
}
