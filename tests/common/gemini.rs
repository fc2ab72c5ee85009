//! Fake Gemini answers in the real wire shapes (provider-apis-more.md §3), as [`Reply`]s for
//! [`super::fake_upstream`]: `generateContent` bodies (`candidates`, `usageMetadata`,
//! `modelVersion`, `responseId`), `streamGenerateContent?alt=sse` streams (every `data:` a
//! whole GenerateContentResponse carrying only the new parts, no event names, CRLF line
//! ends as Google sends them, no terminal event: the last one has the `finishReason` and the
//! final usage) and `google.rpc.Status` errors (with `RetryInfo` / `ErrorInfo` details).
//! Gemini on Vertex AI serves the same bodies, so its tests use these too. Readers of a
//! received request (`model_in_path`, `is_streamed`, `user_text`, `function_responses`)
//! let a handler pick its answer.
// Test helpers panic on purpose: a failed setup step is a failed test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};

use super::{Call, Reply};

/// The `responseId` of every answer built here (kt's ids are `chatcmpl-` + it).
pub const RESPONSE_ID: &str = "gemResp-0123abcd";
/// The `thoughtSignature` fake function calls carry, as thinking models send one.
pub const SIGNATURE: &str = "Q2lReWNuQm9kR1Z6ZEMxemFXZHVZWFIxY21V";

/// An answer's token counts (`usageMetadata`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub prompt: u64,
    /// `candidatesTokenCount`: the visible answer, without thinking.
    pub candidates: u64,
    pub thoughts: u64,
    pub cached: u64,
}

impl Tokens {
    pub fn new(prompt: u64, candidates: u64) -> Self {
        Self {
            prompt,
            candidates,
            ..Self::default()
        }
    }
    pub fn thoughts(mut self, n: u64) -> Self {
        self.thoughts = n;
        self
    }
    pub fn cached(mut self, n: u64) -> Self {
        self.cached = n;
        self
    }
    /// The `usageMetadata` object; zero counts are left out, as Gemini leaves them out.
    pub fn metadata(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("promptTokenCount".into(), json!(self.prompt));
        for (k, v) in [
            ("candidatesTokenCount", self.candidates),
            ("thoughtsTokenCount", self.thoughts),
            ("cachedContentTokenCount", self.cached),
        ] {
            if v > 0 {
                m.insert(k.into(), json!(v));
            }
        }
        m.insert(
            "totalTokenCount".into(),
            json!(self.prompt + self.candidates + self.thoughts),
        );
        m.insert(
            "promptTokensDetails".into(),
            json!([{"modality": "TEXT", "tokenCount": self.prompt}]),
        );
        Value::Object(m)
    }
}

/// A text part.
pub fn text_part(text: &str) -> Value {
    json!({ "text": text })
}

/// A thought summary part (`includeThoughts`): never part of the answer's text.
pub fn thought_part(text: &str) -> Value {
    json!({ "text": text, "thought": true })
}

/// A function call part, signed as thinking models sign them; Gemini sends no `id`.
pub fn call_part(name: &str, args: Value) -> Value {
    json!({ "functionCall": { "name": name, "args": args }, "thoughtSignature": SIGNATURE })
}

/// One GenerateContentResponse: a single candidate with `parts`, its `finishReason` when
/// given, and the usage when given.
pub fn response(
    model: &str,
    parts: Vec<Value>,
    finish: Option<&str>,
    tokens: Option<Tokens>,
) -> Value {
    let mut candidate = json!({ "content": { "role": "model", "parts": parts }, "index": 0 });
    if let Some(f) = finish {
        candidate["finishReason"] = json!(f);
    }
    let mut body = json!({
        "candidates": [candidate],
        "modelVersion": model,
        "responseId": RESPONSE_ID,
    });
    if let Some(t) = tokens {
        body["usageMetadata"] = t.metadata();
    }
    body
}

/// A 200 `generateContent` answer with these parts and finish reason.
pub fn gemini_answer(model: &str, parts: Vec<Value>, finish: &str, tokens: Tokens) -> Reply {
    Reply::json(200, response(model, parts, Some(finish), Some(tokens)))
}

/// A 200 `generateContent` text answer, `STOP`.
pub fn gemini_ok(model: &str, text: &str, prompt: u64, candidates: u64) -> Reply {
    gemini_answer(
        model,
        vec![text_part(text)],
        "STOP",
        Tokens::new(prompt, candidates),
    )
}

/// A 200 `generateContent` answer calling `name(args)`: Gemini says `STOP` here too.
pub fn gemini_tool_call(model: &str, name: &str, args: Value, tokens: Tokens) -> Reply {
    gemini_answer(model, vec![call_part(name, args)], "STOP", tokens)
}

/// One Gemini SSE frame, CRLF-terminated as Google's servers send them.
pub fn gemini_frame(data: &Value) -> String {
    format!("data: {data}\r\n\r\n")
}

/// A text stream: one frame per piece, each with the usage so far (the prompt only until
/// the last), the last with `finishReason: STOP` and the final usage.
pub fn gemini_sse(model: &str, pieces: &[&str], tokens: Tokens) -> Vec<String> {
    let last = pieces.len().saturating_sub(1);
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (finish, usage) = if i == last {
                (Some("STOP"), tokens)
            } else {
                (None, Tokens::new(tokens.prompt, 0))
            };
            gemini_frame(&response(model, vec![text_part(p)], finish, Some(usage)))
        })
        .collect()
}

/// A stream calling `name(args)`: a thought summary first, then the whole call with
/// `finishReason: STOP` and the usage.
pub fn gemini_tool_sse(model: &str, name: &str, args: Value, tokens: Tokens) -> Vec<String> {
    vec![
        gemini_frame(&response(
            model,
            vec![thought_part("Looking up the weather.")],
            None,
            Some(Tokens::new(tokens.prompt, 0)),
        )),
        gemini_frame(&response(
            model,
            vec![call_part(name, args)],
            Some("STOP"),
            Some(tokens),
        )),
    ]
}

/// A 200 SSE reply of Gemini frames, `gap` apart.
pub fn gemini_stream(frames: Vec<String>, gap: Duration) -> Reply {
    Reply::sse(frames, gap)
}

/// A `google.rpc.Status` error body.
pub fn rpc_status(code: u16, status: &str, message: &str, details: Vec<Value>) -> Value {
    let mut err = json!({ "code": code, "message": message, "status": status });
    if !details.is_empty() {
        err["details"] = Value::Array(details);
    }
    json!({ "error": err })
}

/// A Gemini error answer.
pub fn gemini_error(http: u16, status: &str, message: &str) -> Reply {
    Reply::json(http, rpc_status(http, status, message, vec![]))
}

/// A Gemini error answer with `details`.
pub fn gemini_error_with(http: u16, status: &str, message: &str, details: Vec<Value>) -> Reply {
    Reply::json(http, rpc_status(http, status, message, details))
}

/// A `google.rpc.RetryInfo` detail (`delay` like `"20s"` or `"19.5s"`).
pub fn retry_info(delay: &str) -> Value {
    json!({ "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay })
}

/// A `google.rpc.ErrorInfo` detail with `reason` (`API_KEY_INVALID`, …).
pub fn error_info(reason: &str) -> Value {
    json!({ "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
            "domain": "googleapis.com",
            "metadata": { "service": "generativelanguage.googleapis.com" } })
}

/// The free tier's 429 as Google sends it: `RESOURCE_EXHAUSTED` with a `QuotaFailure`, a
/// `Help` link and `RetryInfo` with `delay`, and no `retry-after` header.
pub fn gemini_rate_limited(model: &str, delay: &str) -> Reply {
    gemini_error_with(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        vec![
            json!({ "@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                "quotaDimensions": { "location": "global", "model": model },
                "quotaValue": "10" }] }),
            json!({ "@type": "type.googleapis.com/google.rpc.Help", "links": [{
                "description": "Learn more about Gemini API quotas",
                "url": "https://ai.google.dev/gemini-api/docs/rate-limits" }] }),
            retry_info(delay),
        ],
    )
}

/// Gemini's answer to a bad key: 400 `INVALID_ARGUMENT` with reason `API_KEY_INVALID`.
pub fn gemini_bad_key() -> Reply {
    gemini_error_with(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        vec![error_info("API_KEY_INVALID")],
    )
}

/// A mid-stream error frame: a `google.rpc.Status` after the 200 status.
pub fn gemini_error_frame(code: u16, status: &str, message: &str) -> String {
    gemini_frame(&rpc_status(code, status, message, vec![]))
}

// --- Readers of a received request

/// The model of a Gemini call's path (`…/models/{model}:{method}`, AI Studio or Vertex).
pub fn model_in_path(call: &Call) -> String {
    let tail = call.path.rsplit("/models/").next().unwrap_or_default();
    tail.split(':').next().unwrap_or_default().to_string()
}

/// The method of a Gemini call's path (`generateContent`, `streamGenerateContent`).
pub fn method(call: &Call) -> String {
    call.path.rsplit(':').next().unwrap_or_default().to_string()
}

/// Whether the call asked for an SSE stream (`:streamGenerateContent?alt=sse`).
pub fn is_streamed(call: &Call) -> bool {
    method(call) == "streamGenerateContent" && call.query == "alt=sse"
}

/// The text parts of the last `user` content, joined with spaces.
pub fn user_text(call: &Call) -> String {
    call.body["contents"]
        .as_array()
        .and_then(|cs| cs.iter().rev().find(|c| c["role"] == "user"))
        .map(|c| {
            c["parts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The text parts of the first `user` content, joined with spaces.
pub fn first_user_text(call: &Call) -> String {
    call.body["contents"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["role"] == "user"))
        .map(|c| {
            c["parts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Every `functionResponse` of the request, in order.
pub fn function_responses(call: &Call) -> Vec<Value> {
    call.body["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["parts"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.get("functionResponse").cloned())
        .collect()
}
