//! kt's internal answer (a `chat.completion`) → an OpenAI Responses `response` object for
//! callers of `POST /v1/responses`. The object builders here are shared with the stream
//! encoder, so a streamed answer ends with the same object a non-streamed one returns.
//! A native Responses object (from a passthrough primary) is read by
//! `providers::openai::responses`, not here.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

type Object = Map<String, Value>;

/// A `chat.completion` body → a Responses `response` object (first choice only).
///
/// The text becomes one `message` item with an `output_text` part (a refusal a `refusal`
/// part), each tool call a `function_call` item whose `call_id` is the tool call's id;
/// `finish_reason` `length` and `content_filter` make the response `incomplete`. Every
/// field the SDK's `Response` type requires is present; request echoes (`tools`,
/// `temperature`, …) carry neutral values, as kt does not keep the request here.
pub fn to_response(completion: &Object, requested_model: &str) -> Object {
    let suffix = id_suffix(completion.get("id").and_then(Value::as_str));
    let choice = completion
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first());
    let message = choice.and_then(|c| c.get("message"));
    let finish = choice
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str);
    let (status, reason) = outcome(finish);
    let item_status = item_status(status);
    let mut parts = Vec::new();
    let field = |k: &str| {
        message
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    };
    if let Some(text) = field("content") {
        parts.push(text_part(text));
    }
    if let Some(refusal) = field("refusal") {
        parts.push(refusal_part(refusal));
    }
    let calls: Vec<&Value> = message
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    // An answer with neither text nor calls still has its (empty) message, so clients
    // reading `output[0].content[0].text` find one, as the streamed form also gives.
    if parts.is_empty() && calls.is_empty() {
        parts.push(text_part(""));
    }
    let mut output = Vec::new();
    if !parts.is_empty() {
        output.push(message_item(&message_id(&suffix, 0), item_status, parts));
    }
    for (k, call) in calls.into_iter().enumerate() {
        let f = call.get("function");
        let arguments = match f.and_then(|f| f.get("arguments")) {
            Some(Value::String(a)) => a.clone(),
            None | Some(Value::Null) => String::new(),
            Some(other) => other.to_string(),
        };
        let call_id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
            .map_or_else(|| format!("call_{suffix}_{k}"), str::to_string);
        let name = f
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        output.push(function_call_item(
            &call_id_item(&suffix, k),
            &call_id,
            name,
            &arguments,
            item_status,
        ));
    }
    let model = completion
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or(requested_model);
    let created_at = completion
        .get("created")
        .and_then(Value::as_u64)
        .unwrap_or_else(now);
    Envelope {
        suffix: &suffix,
        created_at,
        model,
        status,
        incomplete_reason: reason,
        error: None,
        output,
        usage: completion.get("usage").and_then(Usage::from_chat),
    }
    .into_object()
}

/// Whether a body already is a Responses object (a passthrough primary's answer), which
/// is returned to the caller as it is.
pub fn is_response(body: &Object) -> bool {
    body.get("object").and_then(Value::as_str) == Some("response")
}

/// Token counts as Chat Completions usage carries them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub input: u64,
    pub output: u64,
    pub total: Option<u64>,
    pub cached: u64,
    pub reasoning: u64,
}

impl Usage {
    /// A Chat Completions `usage` object's counts (`None` when it is not an object).
    pub(crate) fn from_chat(u: &Value) -> Option<Self> {
        if !u.is_object() {
            return None;
        }
        let count = |path: &[&str]| {
            path.iter()
                .try_fold(u, |v, k| v.get(k))
                .and_then(Value::as_u64)
        };
        Some(Self {
            input: count(&["prompt_tokens"]).unwrap_or(0),
            output: count(&["completion_tokens"]).unwrap_or(0),
            total: count(&["total_tokens"]),
            cached: count(&["prompt_tokens_details", "cached_tokens"]).unwrap_or(0),
            reasoning: count(&["completion_tokens_details", "reasoning_tokens"]).unwrap_or(0),
        })
    }

    /// The Responses `usage` object. `cache_write_tokens` is required by the SDK's type
    /// and has no Chat Completions source, so it is 0.
    fn to_value(self) -> Value {
        json!({
            "input_tokens": self.input,
            "input_tokens_details": {"cached_tokens": self.cached, "cache_write_tokens": 0},
            "output_tokens": self.output,
            "output_tokens_details": {"reasoning_tokens": self.reasoning},
            "total_tokens": self.total.unwrap_or(self.input + self.output),
        })
    }
}

/// The parts of a `response` object that vary; [`Envelope::into_object`] adds the rest.
pub(crate) struct Envelope<'a> {
    /// The id suffix shared by the response and its items ([`id_suffix`]).
    pub suffix: &'a str,
    pub created_at: u64,
    pub model: &'a str,
    /// `in_progress`, `completed`, `incomplete` or `failed`.
    pub status: &'a str,
    pub incomplete_reason: Option<&'a str>,
    /// `{code, message}` for a failed response.
    pub error: Option<Value>,
    pub output: Vec<Value>,
    pub usage: Option<Usage>,
}

impl Envelope<'_> {
    /// The whole object, with every field `Response` requires (`parallel_tool_calls`,
    /// `tool_choice`, `tools`, …) and the optional ones real responses carry, neutral.
    pub(crate) fn into_object(self) -> Object {
        let completed_at = if self.status == "completed" {
            json!(now())
        } else {
            Value::Null
        };
        let incomplete = self
            .incomplete_reason
            .map_or(Value::Null, |r| json!({"reason": r}));
        let body = json!({
            "id": format!("resp_{}", self.suffix),
            "object": "response",
            "created_at": self.created_at,
            "status": self.status,
            "background": false,
            "completed_at": completed_at,
            "error": self.error,
            "incomplete_details": incomplete,
            "instructions": null,
            "max_output_tokens": null,
            "max_tool_calls": null,
            "model": self.model,
            "output": self.output,
            "parallel_tool_calls": true,
            "previous_response_id": null,
            "reasoning": {"effort": null, "summary": null},
            "temperature": null,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": null,
            "truncation": "disabled",
            "usage": self.usage.map(Usage::to_value),
            "user": null,
            "metadata": {},
        });
        match body {
            Value::Object(m) => m,
            _ => Object::new(),
        }
    }
}

/// The response status and incomplete reason a Chat `finish_reason` means.
pub(crate) fn outcome(finish_reason: Option<&str>) -> (&'static str, Option<&'static str>) {
    match finish_reason {
        Some("length") => ("incomplete", Some("max_output_tokens")),
        Some("content_filter") => ("incomplete", Some("content_filter")),
        _ => ("completed", None),
    }
}

/// The status of an output item in a response of `status`.
pub(crate) fn item_status(status: &str) -> &'static str {
    match status {
        "completed" => "completed",
        "in_progress" => "in_progress",
        _ => "incomplete",
    }
}

/// The suffix of kt's Responses ids (`resp_…`, `msg_…`, `fc_…`), from the upstream's
/// completion id without its own prefix; only id-safe characters are kept.
pub(crate) fn id_suffix(completion_id: Option<&str>) -> String {
    let id = completion_id.unwrap_or("");
    let bare = ["chatcmpl-", "chatcmpl_", "msg_", "resp_"]
        .iter()
        .find_map(|p| id.strip_prefix(p))
        .unwrap_or(id);
    let safe: String = bare
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(96)
        .collect();
    if safe.is_empty() {
        "kt".to_string()
    } else {
        safe
    }
}

/// The id of the `n`th message item of a response (a text after tool calls opens another).
pub(crate) fn message_id(suffix: &str, n: usize) -> String {
    if n == 0 {
        format!("msg_{suffix}")
    } else {
        format!("msg_{suffix}_{n}")
    }
}

/// The item id of the `k`th function call (distinct from its `call_id`).
pub(crate) fn call_id_item(suffix: &str, k: usize) -> String {
    format!("fc_{suffix}_{k}")
}

/// An assistant `message` output item.
pub(crate) fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({"id": id, "type": "message", "role": "assistant", "status": status, "content": content})
}

/// An `output_text` content part (no annotations or logprobs: Chat Completions has none
/// kt relays, and the SDK expects the lists).
pub(crate) fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// A `refusal` content part.
pub(crate) fn refusal_part(refusal: &str) -> Value {
    json!({"type": "refusal", "refusal": refusal})
}

/// A `function_call` output item.
pub(crate) fn function_call_item(
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({"id": id, "type": "function_call", "status": status, "call_id": call_id,
           "name": name, "arguments": arguments})
}

/// The Responses error code for kt's error code: the SDK types `error.code` as a closed
/// list, so a code outside it becomes `rate_limit_exceeded` (rate limits) or `server_error`.
pub(crate) fn failure_code(code: Option<&str>) -> &'static str {
    const CODES: &[&str] = &[
        "server_error",
        "rate_limit_exceeded",
        "invalid_prompt",
        "vector_store_timeout",
        "invalid_image",
        "invalid_image_format",
        "invalid_base64_image",
        "invalid_image_url",
        "image_too_large",
        "image_too_small",
        "image_parse_error",
        "image_content_policy_violation",
        "invalid_image_mode",
        "image_file_too_large",
        "unsupported_image_media_type",
        "empty_image_file",
        "failed_to_download_image",
        "image_file_not_found",
    ];
    match code {
        Some(c) => {
            CODES
                .iter()
                .find(|k| **k == c)
                .copied()
                .unwrap_or(if c.contains("rate_limit") {
                    "rate_limit_exceeded"
                } else {
                    "server_error"
                })
        }
        None => "server_error",
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
#[path = "responses_response_tests.rs"]
mod tests;
