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
        let id = call_id(
            call,
            &self.response_id,
            usize::try_from(k).unwrap_or(usize::MAX),
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MODEL: &str = "gemini-2.5-flash";

    /// Feeds `events` (SSE data texts) then the end of the stream; stops at the first error.
    fn run(events: &[Value]) -> (Vec<Map<String, Value>>, Option<UpstreamError>) {
        let mut tr = Translator::new(MODEL, 7);
        let mut out = Vec::new();
        for ev in events {
            match tr.on_event("", &ev.to_string()) {
                Ok(Step::Chunks(c) | Step::Done(c)) => out.extend(c),
                Err(e) => return (out, Some(e)),
            }
        }
        match tr.on_end() {
            Ok(c) => out.extend(c),
            Err(e) => return (out, Some(e)),
        }
        (out, None)
    }

    fn deltas(chunks: &[Map<String, Value>]) -> Vec<Value> {
        chunks
            .iter()
            .map(|c| c["choices"][0]["delta"].clone())
            .collect()
    }

    fn text_event(text: &str) -> Value {
        json!({"candidates":[{"content":{"role":"model","parts":[{"text":text}]},"index":0}],
        "usageMetadata":{"promptTokenCount":4,"totalTokenCount":4},"modelVersion":"gemini-2.5-flash","responseId":"s1"})
    }

    // Proves a text stream becomes role, content, finish and (at the end) usage chunks.
    #[test]
    fn text_stream_translates() {
        let last = json!({"candidates":[{"content":{"role":"model","parts":[{"text":"!"}]},"finishReason":"STOP","index":0}],
        "usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"thoughtsTokenCount":2,"totalTokenCount":9},
        "modelVersion":"gemini-2.5-flash","responseId":"s1"});
        let (chunks, err) = run(&[text_event("Hel"), text_event("lo"), last]);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            deltas(&chunks[..4]),
            vec![
                json!({"role":"assistant","content":""}),
                json!({"content":"Hel"}),
                json!({"content":"lo"}),
                json!({"content":"!"})
            ]
        );
        assert_eq!(chunks[4]["choices"][0]["finish_reason"], "stop");
        assert_eq!(chunks[5]["choices"], json!([]));
        assert_eq!(
            chunks[5]["usage"],
            json!({"prompt_tokens":4,"completion_tokens":5,"total_tokens":9,
            "prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":2}})
        );
        assert_eq!(chunks.len(), 6);
        for c in &chunks {
            assert_eq!(
                (c["id"].as_str(), c["model"].as_str(), c["created"].as_u64()),
                (Some("chatcmpl-s1"), Some("gemini-2.5-flash"), Some(7))
            );
            assert_eq!(c["object"], "chat.completion.chunk");
        }
    }

    // Proves whole function calls become a tool start plus one arguments chunk each, indexed in
    // order, thoughts are skipped, and the finish says tool_calls.
    #[test]
    fn function_call_stream_translates() {
        let (chunks, err) = run(&[
            json!({"candidates":[{"content":{"parts":[{"text":"hmm","thought":true}]}}],"responseId":"s2"}),
            json!({"candidates":[{"content":{"parts":[
            {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"x"},
            {"functionCall":{"id":"own","name":"now"}}]},"finishReason":"STOP"}],
            "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":6}}),
        ]);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            deltas(&chunks[1..5]),
            vec![
                json!({"tool_calls":[{"index":0,"id":"call_s2_0","type":"function","function":{"name":"get_weather","arguments":""}}]}),
                json!({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Paris\"}"}}]}),
                json!({"tool_calls":[{"index":1,"id":"own","type":"function","function":{"name":"now","arguments":""}}]}),
                json!({"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}),
            ]
        );
        assert_eq!(chunks[5]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(chunks[6]["usage"]["completion_tokens"], 6);
        assert_eq!(chunks[0]["model"], MODEL);
        assert_eq!(chunks.len(), 7);
    }

    // Proves a stream that ends after content without a finishReason still finishes, and that
    // no usage chunk is invented when Gemini sent none.
    #[test]
    fn end_without_finish_reason_finishes() {
        let mut ev = text_event("partial");
        ev.as_object_mut().unwrap().remove("usageMetadata");
        let (chunks, err) = run(&[ev]);
        assert!(err.is_none());
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[2]["choices"][0]["finish_reason"], "stop");
    }

    // Proves a stream with no events, or with no content and no finishReason, is a truncation error.
    #[test]
    fn empty_or_truncated_streams_are_errors() {
        let usage_only = json!({"usageMetadata":{"promptTokenCount":3},"responseId":"r"});
        for events in [vec![], vec![usage_only]] {
            match run(&events) {
                (_, Some(UpstreamError::Stream { kind, .. })) => assert_eq!(kind, "upstream_error"),
                other => panic!("{other:?}"),
            }
        }
    }

    // Proves an error event ends the stream with the mapped error type and Gemini's message.
    #[test]
    fn error_event_is_terminal() {
        let (chunks, err) = run(&[
            text_event("Hi"),
            json!({"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}),
        ]);
        assert_eq!(chunks.len(), 2);
        match err {
            Some(UpstreamError::Stream { kind, message }) => {
                assert_eq!(
                    (kind.as_str(), message.as_str()),
                    ("rate_limit_error", "Resource has been exhausted")
                );
            }
            other => panic!("{other:?}"),
        }
        let (_, err) = run(&[json!({"error":{"message":"boom"}})]);
        assert!(matches!(err, Some(UpstreamError::Stream { kind, .. }) if kind == "api_error"));
    }

    // Proves a blocked prompt streams as role plus a content_filter finish.
    #[test]
    fn blocked_prompt_stream() {
        let (chunks, err) = run(&[json!({"promptFeedback":{"blockReason":"SAFETY"},
        "usageMetadata":{"promptTokenCount":8,"totalTokenCount":8}})]);
        assert!(err.is_none());
        assert_eq!(chunks[1]["choices"][0]["finish_reason"], "content_filter");
        assert_eq!(chunks[2]["usage"]["prompt_tokens"], 8);
    }

    // Proves a failed function call with nothing sent is a stream error; after text it is a stop.
    #[test]
    fn failed_function_call_stream() {
        let failed = json!({"candidates":[{"content":{"parts":[]},"finishReason":"MALFORMED_FUNCTION_CALL"}]});
        let (_, err) = run(std::slice::from_ref(&failed));
        assert!(
            matches!(err, Some(UpstreamError::InvalidResponse(m)) if m.contains("MALFORMED_FUNCTION_CALL"))
        );
        let (chunks, err) = run(&[text_event("x"), failed]);
        assert!(err.is_none());
        assert_eq!(chunks[2]["choices"][0]["finish_reason"], "stop");
    }

    // Proves garbage data is an error, blank data is skipped, and a second finishReason is ignored.
    #[test]
    fn stream_garbage_and_repeats() {
        let mut tr = Translator::new(MODEL, 1);
        assert_eq!(tr.on_event("", "  ").unwrap(), Step::Chunks(vec![]));
        assert!(matches!(
            tr.on_event("", "not json"),
            Err(UpstreamError::InvalidResponse(_))
        ));
        assert!(matches!(
            tr.on_event("", "[1]"),
            Err(UpstreamError::InvalidResponse(_))
        ));
        let stop =
            json!({"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"}]})
                .to_string();
        let Ok(Step::Chunks(first)) = tr.on_event("", &stop) else {
            panic!()
        };
        let Ok(Step::Chunks(second)) = tr.on_event("", &stop) else {
            panic!()
        };
        assert_eq!((first.len(), second.len()), (3, 1));
        assert!(tr.on_end().unwrap().is_empty());
    }
}
