//! OpenAI's Responses API spoken natively (`openai` and `azure_openai` targets): a
//! `/v1/responses` caller's body is sent as is, and the `response` object or its event
//! stream is read for what kt records and compares (assembled output text, function calls,
//! usage, finish reason) while the caller gets the upstream's own bytes back.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::providers::stream::{ChunkStream, stream_error};
use crate::providers::{Completion, UpstreamError, canonical_tool_calls, token_count};

/// What a `response` object says: text, calls, usage and how it ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ResponseFacts {
    pub text: String,
    /// `(name, arguments)` of each `function_call` output item.
    pub calls: Vec<(String, String)>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// OpenAI Chat's finish reason for the response's status.
    pub finish_reason: Option<String>,
}

/// Reads a `response` object (a whole answer, or the one a `response.completed` event carries).
pub fn facts(response: &Value) -> ResponseFacts {
    let mut f = ResponseFacts::default();
    for item in response
        .get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                for part in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if part.get("type").and_then(Value::as_str) == Some("output_text") {
                        f.text
                            .push_str(part.get("text").and_then(Value::as_str).unwrap_or(""));
                    }
                }
            }
            Some("function_call") => f.calls.push((
                str_of(item, "name").to_string(),
                str_of(item, "arguments").to_string(),
            )),
            _ => {}
        }
    }
    let usage = response.get("usage");
    f.input_tokens = usage
        .and_then(|u| u.get("input_tokens"))
        .and_then(token_count);
    f.output_tokens = usage
        .and_then(|u| u.get("output_tokens"))
        .and_then(token_count);
    let reason = response
        .pointer("/incomplete_details/reason")
        .and_then(Value::as_str);
    f.finish_reason = match response.get("status").and_then(Value::as_str) {
        Some("completed") if !f.calls.is_empty() => Some("tool_calls".into()),
        Some("completed") => Some("stop".into()),
        Some("incomplete") if reason == Some("content_filter") => Some("content_filter".into()),
        Some("incomplete") => Some("length".into()),
        _ => None,
    };
    f
}

/// A 2xx `response` body → a [`Completion`] whose `body` is the response itself.
pub fn from_response_body(bytes: &[u8]) -> Result<Completion, UpstreamError> {
    let body = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(UpstreamError::InvalidResponse(
                "the body is JSON but not an object".into(),
            ));
        }
        Err(e) => {
            return Err(UpstreamError::InvalidResponse(format!(
                "the body is not JSON ({e})"
            )));
        }
    };
    if body.get("object").and_then(Value::as_str) != Some("response") {
        return Err(UpstreamError::InvalidResponse(
            "the body is not a `response` object".into(),
        ));
    }
    let f = facts(&Value::Object(body.clone()));
    Ok(Completion {
        tool_calls: canonical_tool_calls(f.calls.iter().map(|(n, a)| (n.as_str(), a.as_str()))),
        text: f.text,
        input_tokens: f.input_tokens,
        output_tokens: f.output_tokens,
        finish_reason: f.finish_reason,
        body,
    })
}

/// Whether a stream item is a native Responses event (rather than a Chat chunk).
pub fn is_event(item: &Map<String, Value>) -> bool {
    item.get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.starts_with("response.") || t == "error")
}

/// The event that ends a Responses stream.
fn is_terminal(kind: &str) -> bool {
    matches!(
        kind,
        "response.completed" | "response.incomplete" | "response.failed"
    )
}

/// A Responses SSE stream → its events, as they arrive. The stream ends after the terminal
/// event; an `error` event or `response.failed` ends it with an error after relaying it
/// (so the caller sees the upstream's own failure event). `idle` bounds each wait.
pub fn events(resp: reqwest::Response, idle: Duration) -> ChunkStream {
    let sse = resp.bytes_stream().eventsource();
    let stream = futures_util::stream::unfold(
        (Box::pin(sse), None::<UpstreamError>, false),
        move |(mut sse, pending, done)| async move {
            if let Some(e) = pending {
                return Some((Err(e), (sse, None, true)));
            }
            if done {
                return None;
            }
            loop {
                let ev = match tokio::time::timeout(idle, sse.next()).await {
                    Err(_) => {
                        let ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
                        return Some((Err(UpstreamError::Timeout(ms)), (sse, None, true)));
                    }
                    Ok(None) => {
                        let e = UpstreamError::Stream {
                            kind: "upstream_error".into(),
                            message: "the upstream closed the stream before `response.completed`"
                                .into(),
                        };
                        return Some((Err(e), (sse, None, true)));
                    }
                    Ok(Some(Err(e))) => {
                        let e = UpstreamError::Stream {
                            kind: "upstream_error".into(),
                            message: format!("the connection broke mid-stream: {e}"),
                        };
                        return Some((Err(e), (sse, None, true)));
                    }
                    Ok(Some(Ok(ev))) => ev,
                };
                let data = ev.data.trim();
                if data.is_empty() || data == "[DONE]" {
                    continue;
                }
                let Ok(Value::Object(event)) = serde_json::from_str::<Value>(data) else {
                    let e = UpstreamError::InvalidResponse(
                        "a Responses stream event is not a JSON object".into(),
                    );
                    return Some((Err(e), (sse, None, true)));
                };
                let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
                let failure = match kind {
                    "error" => Some(stream_error(&Value::Object(event.clone()))),
                    "response.failed" => Some(stream_error(
                        event
                            .get("response")
                            .and_then(|r| r.get("error"))
                            .unwrap_or(&Value::Null),
                    )),
                    _ => None,
                };
                let terminal = is_terminal(kind);
                return Some((Ok(event), (sse, failure, terminal)));
            }
        },
    );
    Box::pin(stream)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Proves a response object's text, calls, usage and status are read like a completion's.
    #[test]
    fn reads_a_response_object() {
        let body = json!({"id":"resp_1","object":"response","status":"completed","output":[
            {"type":"reasoning","id":"rs_1","summary":[]},
            {"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hi ","annotations":[]},{"type":"output_text","text":"there","annotations":[]}]},
            {"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{\"a\":1}"}],
            "usage":{"input_tokens":12,"output_tokens":7,"total_tokens":19}});
        let c = from_response_body(body.to_string().as_bytes()).unwrap();
        assert_eq!(c.text, "Hi there");
        assert_eq!((c.input_tokens, c.output_tokens), (Some(12), Some(7)));
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
        assert!(c.tool_calls.unwrap().contains("\"a\":1"));
        assert_eq!(c.body["id"], "resp_1");
        let cut = json!({"object":"response","status":"incomplete",
            "incomplete_details":{"reason":"max_output_tokens"},"output":[]});
        assert_eq!(facts(&cut).finish_reason.as_deref(), Some("length"));
        assert!(from_response_body(b"{\"object\":\"chat.completion\"}").is_err());
        assert!(from_response_body(b"<html>").is_err());
    }

    // Proves the other outcomes read right: content_filter, a refusal-only message (no
    // text, stop), a failed response (no finish reason, no usage), and a malformed
    // `output` read as empty instead of panicking.
    #[test]
    fn reads_other_outcomes() {
        let filtered = json!({"status":"incomplete",
            "incomplete_details":{"reason":"content_filter"}});
        assert_eq!(
            facts(&filtered).finish_reason.as_deref(),
            Some("content_filter")
        );
        let refused = json!({"status":"completed","output":[
            {"type":"message","content":[{"type":"refusal","refusal":"No."}]}]});
        let f = facts(&refused);
        assert_eq!(
            (f.text.as_str(), f.finish_reason.as_deref()),
            ("", Some("stop"))
        );
        let failed = json!({"status":"failed",
            "error":{"code":"server_error","message":"boom"},"usage":null});
        let f = facts(&failed);
        assert_eq!((f.finish_reason, f.input_tokens), (None, None));
        assert_eq!(facts(&json!({"output": 1})), ResponseFacts::default());
    }
}
