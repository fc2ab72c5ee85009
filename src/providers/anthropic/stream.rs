//! Anthropic Messages streaming → OpenAI chunks (provider-apis.md §3.2): `message_start`
//! gives the role chunk, text and tool-input deltas become content and tool-call chunks,
//! `message_delta` the finish chunk, `message_stop` the usage chunk; `ping` and unknown
//! events are skipped; an `error` event ends the stream with an error.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::providers::UpstreamError;
use crate::providers::stream::{
    ChunkStream, EventTranslator, Step, chunk, sse_chunks, stream_error, usage_chunk,
};

/// Translation state for one stream.
#[derive(Debug, Default)]
pub struct Translator {
    id: String,
    model: String,
    created: u64,
    input_tokens: u64,
    output_tokens: u64,
    /// Anthropic content-block index → OpenAI tool-call index (tool blocks only).
    tools: HashMap<u64, u64>,
    finished: bool,
}

impl Translator {
    pub fn new(created: u64) -> Self {
        Self {
            created,
            ..Self::default()
        }
    }

    /// Translates one SSE event (`event:` name and `data:` text).
    pub fn on_event(&mut self, name: &str, data: &str) -> Result<Step, UpstreamError> {
        let v: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            // A ping or an unknown event with odd data is not worth failing a stream over.
            Err(_) if name == "ping" || data.trim().is_empty() => return Ok(Step::Chunks(vec![])),
            Err(_) => {
                return Err(UpstreamError::InvalidResponse(format!(
                    "`{name}` event data is not JSON"
                )));
            }
        };
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(name);
        let out = match kind {
            "message_start" => {
                let msg = v.get("message").unwrap_or(&Value::Null);
                self.id = msg
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("msg")
                    .to_string();
                self.model = msg
                    .get("model")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if let Some(u) = msg.get("usage") {
                    self.input_tokens = prompt_tokens(u);
                    self.output_tokens =
                        u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0);
                }
                vec![self.chunk(json!({"role": "assistant", "content": ""}), None)]
            }
            "content_block_start" => {
                let block = v.get("content_block").unwrap_or(&Value::Null);
                if block.get("type").and_then(Value::as_str) == Some("tool_use") {
                    let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let k = self.tools.len() as u64;
                    self.tools.insert(index, k);
                    vec![self.chunk(
                        json!({"tool_calls": [{
                            "index": k,
                            "id": block.get("id").cloned().unwrap_or(Value::Null),
                            "type": "function",
                            "function": {"name": block.get("name").cloned().unwrap_or(Value::Null), "arguments": ""}
                        }]}),
                        None,
                    )]
                } else {
                    vec![]
                }
            }
            "content_block_delta" => {
                let delta = v.get("delta").unwrap_or(&Value::Null);
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        let text = delta
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        vec![self.chunk(json!({"content": text}), None)]
                    }
                    Some("input_json_delta") => {
                        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                        let partial = delta
                            .get("partial_json")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        match self.tools.get(&index) {
                            Some(k) => vec![self.chunk(
                                json!({"tool_calls": [{"index": k, "function": {"arguments": partial}}]}),
                                None,
                            )],
                            None => vec![],
                        }
                    }
                    // thinking, signature, citations: not part of an OpenAI answer.
                    _ => vec![],
                }
            }
            "message_delta" => {
                if let Some(out) = v
                    .get("usage")
                    .and_then(|u| u.get("output_tokens"))
                    .and_then(Value::as_u64)
                {
                    self.output_tokens = out;
                }
                match v
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str)
                {
                    Some(reason) if !self.finished => {
                        self.finished = true;
                        vec![self.chunk(json!({}), Some(finish_reason(reason)))]
                    }
                    _ => vec![],
                }
            }
            "message_stop" => {
                let mut out = Vec::new();
                if !self.finished {
                    self.finished = true;
                    out.push(self.chunk(json!({}), Some("stop")));
                }
                out.push(usage_chunk(
                    &self.id,
                    &self.model,
                    self.created,
                    self.input_tokens,
                    self.output_tokens,
                ));
                return Ok(Step::Done(out));
            }
            "error" => return Err(stream_error(v.get("error").unwrap_or(&Value::Null))),
            // ping, content_block_stop, and event kinds added after this was written.
            _ => vec![],
        };
        Ok(Step::Chunks(out))
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Map<String, Value> {
        chunk(&self.id, &self.model, self.created, delta, finish)
    }
}

/// Input tokens including the cached parts (the OpenAI `prompt_tokens` meaning).
fn prompt_tokens(u: &Value) -> u64 {
    [
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ]
    .iter()
    .filter_map(|k| u.get(*k).and_then(Value::as_u64))
    .fold(0, u64::saturating_add)
}

fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
}

/// Anthropic SSE response → OpenAI chunk stream; `idle` bounds each wait for an event.
pub fn chunks(resp: reqwest::Response, idle: Duration, created: u64) -> ChunkStream {
    sse_chunks(resp, idle, Translator::new(created))
}

impl EventTranslator for Translator {
    fn on_event(&mut self, name: &str, data: &str) -> Result<Step, UpstreamError> {
        Translator::on_event(self, name, data)
    }

    fn on_end(&mut self) -> Result<Vec<Map<String, Value>>, UpstreamError> {
        Err(UpstreamError::Stream {
            kind: "upstream_error".into(),
            message: "the upstream closed the stream before `message_stop`".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(events: &[(&str, &str)]) -> (Vec<Map<String, Value>>, Option<UpstreamError>) {
        let mut tr = Translator::new(7);
        let mut out = Vec::new();
        for (name, data) in events {
            match tr.on_event(name, data) {
                Ok(Step::Chunks(c)) => out.extend(c),
                Ok(Step::Done(c)) => {
                    out.extend(c);
                    return (out, None);
                }
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    // Proves the §3.2 example stream becomes role, content, finish and usage chunks.
    #[test]
    fn translates_the_reference_stream() {
        let (chunks, err) = run(&[
            (
                "message_start",
                r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            ("ping", r#"{"type":"ping"}"#),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":0}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ]);
        assert!(err.is_none());
        assert_eq!(chunks.len(), 4);
        assert_eq!(
            chunks[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert_eq!(chunks[0]["id"], "msg_1");
        assert_eq!(chunks[0]["object"], "chat.completion.chunk");
        assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "Hello");
        assert_eq!(chunks[2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(chunks[3]["choices"], json!([]));
        assert_eq!(
            chunks[3]["usage"],
            json!({"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21})
        );
    }

    // Proves tool_use blocks become tool-call chunks indexed among tools only.
    #[test]
    fn translates_tool_use() {
        let (chunks, _) = run(&[
            (
                "message_start",
                r#"{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1}}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\":"}}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":5}}"#,
            ),
        ]);
        assert_eq!(
            chunks[1]["choices"][0]["delta"]["tool_calls"][0]["index"],
            0
        );
        assert_eq!(
            chunks[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
            "get_weather"
        );
        assert_eq!(
            chunks[2]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
            "{\"city\":"
        );
        assert_eq!(chunks[3]["choices"][0]["finish_reason"], "tool_calls");
    }

    // Proves an `error` event after 200 ends the stream with the upstream's type.
    #[test]
    fn error_event_is_terminal() {
        let (_, err) = run(&[(
            "error",
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        )]);
        match err {
            Some(UpstreamError::Stream { kind, message }) => {
                assert_eq!(
                    (kind.as_str(), message.as_str()),
                    ("overloaded_error", "Overloaded")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    // Proves garbage data is an error, not a panic, and unknown events are skipped.
    #[test]
    fn tolerates_unknown_and_rejects_garbage() {
        let (c, e) = run(&[("future_event", r#"{"type":"future_event"}"#)]);
        assert!(c.is_empty() && e.is_none());
        let (_, e) = run(&[("message_start", "not json")]);
        assert!(matches!(e, Some(UpstreamError::InvalidResponse(_))));
    }
}
