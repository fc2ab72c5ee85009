//! An OpenAI Responses request (what `POST /v1/responses` receives) → kt's internal Chat
//! Completions request, plus the list of what Chat Completions cannot carry (server-side
//! state, built-in tools, reasoning items, …), so the gateway can choose per target: an
//! OpenAI-kind target gets the caller's own body, any other refuses naming the first.

use serde_json::{Map, Value, json};

use super::IngressError;
use super::responses_options::{reasoning_config, text_config, tool_choice, tools};

pub(super) type Object = Map<String, Value>;

/// A Responses request in the internal Chat Completions shape, plus what Chat Completions
/// cannot carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    /// The request as kt's internal Chat Completions body.
    pub chat: Map<String, Value>,
    /// Fields (top-level names, or e.g. `input[3]` for a reasoning item, `tools[1]` for a
    /// built-in tool) that have no Chat Completions equivalent, each with why: a non-OpenAI
    /// target refuses the request naming the first one; an OpenAI-kind target receives the
    /// original Responses body instead, so nothing is lost.
    pub unexpressible: Vec<(String, String)>,
}

/// Top-level fields Chat Completions has under the same name and meaning, with the JSON
/// type each must have (checked so a malformed value is the caller's 400, not the upstream's).
const SAME_NAMED: &[(&str, Kind)] = &[
    ("temperature", Kind::Number),
    ("top_p", Kind::Number),
    ("top_logprobs", Kind::Integer),
    ("metadata", Kind::Object),
    ("store", Kind::Bool),
    ("user", Kind::String),
    ("safety_identifier", Kind::String),
    ("service_tier", Kind::String),
    ("prompt_cache_key", Kind::String),
    ("prompt_cache_retention", Kind::String),
    ("prompt_cache_options", Kind::Object),
    ("moderation", Kind::Object),
];

/// Top-level fields that only mean something at OpenAI, with why; `null` and the listed
/// neutral value ask for nothing and are not reported.
const OPENAI_ONLY: &[(&str, &str)] = &[
    (
        "previous_response_id",
        "continues a response stored at OpenAI (server-side conversation state)",
    ),
    (
        "conversation",
        "continues a conversation stored at OpenAI (server-side state)",
    ),
    (
        "background",
        "runs the response in the background at OpenAI, to be polled later",
    ),
    ("prompt", "uses a prompt template stored at OpenAI"),
    (
        "include",
        "asks OpenAI for extra output data (encrypted reasoning, logprobs, tool results)",
    ),
    (
        "truncation",
        "lets OpenAI drop earlier input items to fit the context window",
    ),
    ("max_tool_calls", "limits OpenAI's built-in tool calls"),
    (
        "context_management",
        "asks OpenAI to compact the context server-side",
    ),
];

/// Fields read by the translation itself (or, for `stream_options`, deliberately ignored:
/// its only option, obfuscation, pads events kt writes itself).
const HANDLED: &[&str] = &[
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "text",
    "reasoning",
    "max_output_tokens",
    "stream",
    "stream_options",
    "parallel_tool_calls",
];

/// The JSON type a copied field must have.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Number,
    Integer,
    Bool,
    String,
    Object,
}

impl Kind {
    fn accepts(self, v: &Value) -> bool {
        match self {
            Kind::Number => v.is_number(),
            Kind::Integer => v.is_u64(),
            Kind::Bool => v.is_boolean(),
            Kind::String => v.is_string(),
            Kind::Object => v.is_object(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Number => "must be a number",
            Kind::Integer => "must be a non-negative integer",
            Kind::Bool => "must be a boolean",
            Kind::String => "must be a string",
            Kind::Object => "must be an object",
        }
    }
}

/// Translation state: the Chat messages built so far and what could not be expressed.
#[derive(Default)]
pub(super) struct Cx {
    messages: Vec<Value>,
    unexpressible: Vec<(String, String)>,
}

impl Cx {
    pub(super) fn skip(&mut self, field: impl Into<String>, why: impl Into<String>) {
        self.unexpressible.push((field.into(), why.into()));
    }
}

/// Responses request body → Chat Completions request body and the unexpressible fields.
///
/// `instructions` becomes a leading system message; `input` items become messages
/// (function calls merge into the preceding assistant message, outputs become `tool`
/// messages); function tools are nested under `function`; `text.format` becomes
/// `response_format`; `max_output_tokens` becomes `max_completion_tokens`;
/// `reasoning.effort` becomes `reasoning_effort`. Malformed shapes are an error naming the
/// field (`input[2].content`); well-formed fields kt cannot express are listed instead.
pub fn to_chat_request(body: &Object) -> Result<Translated, IngressError> {
    let mut cx = Cx::default();
    let mut out = Object::new();
    match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => out.insert("model".into(), json!(m)),
        Some(_) => return Err(IngressError::new("model", "must be a non-empty string")),
        None => return Err(IngressError::new("model", "Field required")),
    };
    // A placeholder keeps `messages` second; it is filled in once the input is read.
    out.insert("messages".into(), Value::Null);
    if let Some(instructions) = present(body, "instructions") {
        let text = instructions
            .as_str()
            .ok_or_else(|| IngressError::new("instructions", "must be a string"))?;
        cx.messages.push(json!({"role": "system", "content": text}));
    }
    match present(body, "input") {
        None => {}
        Some(Value::String(s)) => cx.messages.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                input_item(item, i, &mut cx)?;
            }
        }
        Some(_) => {
            return Err(IngressError::new(
                "input",
                "must be a string or an array of input items",
            ));
        }
    }
    let tools = match present(body, "tools") {
        Some(t) => tools(t, &mut cx)?,
        None => Vec::new(),
    };
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        // Chat Completions refuses a tool choice or parallelism setting without tools.
        if let Some(choice) = present(body, "tool_choice")
            && let Some(mapped) = tool_choice(choice, &mut cx)?
        {
            out.insert("tool_choice".into(), mapped);
        }
        if let Some(p) = present(body, "parallel_tool_calls") {
            if !p.is_boolean() {
                return Err(IngressError::new(
                    "parallel_tool_calls",
                    "must be a boolean",
                ));
            }
            out.insert("parallel_tool_calls".into(), p.clone());
        }
    } else if let Some(choice) = present(body, "tool_choice") {
        // Still checked: a built-in tool choice is unexpressible even without tools.
        tool_choice(choice, &mut cx)?;
    }
    if let Some(text) = present(body, "text") {
        text_config(text, &mut out, &mut cx)?;
    }
    if let Some(reasoning) = present(body, "reasoning") {
        reasoning_config(reasoning, &mut out, &mut cx)?;
    }
    if let Some(n) = present(body, "max_output_tokens") {
        if !n.is_u64() {
            return Err(IngressError::new(
                "max_output_tokens",
                "must be a non-negative integer",
            ));
        }
        out.insert("max_completion_tokens".into(), n.clone());
    }
    match present(body, "stream") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            out.insert("stream".into(), json!(true));
        }
        Some(_) => return Err(IngressError::new("stream", "must be a boolean")),
    }
    for (key, value) in body {
        let k = key.as_str();
        if value.is_null() || HANDLED.contains(&k) {
            continue;
        }
        if let Some((_, kind)) = SAME_NAMED.iter().find(|(f, _)| *f == k) {
            if !kind.accepts(value) {
                return Err(IngressError::new(k, kind.describe()));
            }
            out.insert(k.into(), value.clone());
        } else if let Some((_, why)) = OPENAI_ONLY.iter().find(|(f, _)| *f == k) {
            if !neutral(k, value) {
                cx.skip(k, *why);
            }
        } else {
            cx.skip(
                k,
                format!("`{k}` is not a Responses field kt can translate to Chat Completions"),
            );
        }
    }
    if cx.messages.is_empty() && cx.unexpressible.is_empty() {
        return Err(IngressError::new(
            "input",
            "at least one input item (or `instructions`) is required",
        ));
    }
    out.insert("messages".into(), Value::Array(cx.messages));
    Ok(Translated {
        chat: out,
        unexpressible: cx.unexpressible,
    })
}

/// Whether an OpenAI-only field's value asks for nothing (`background: false`, an empty
/// `include`, `truncation: "disabled"`).
fn neutral(key: &str, v: &Value) -> bool {
    match key {
        "background" => v == &json!(false),
        "include" | "context_management" => v.as_array().is_some_and(Vec::is_empty),
        "truncation" => v == &json!("disabled"),
        _ => false,
    }
}

/// One `input` item → zero or more Chat messages appended to `cx.messages`.
fn input_item(item: &Value, i: usize, cx: &mut Cx) -> Result<(), IngressError> {
    let at = format!("input[{i}]");
    let obj = item
        .as_object()
        .ok_or_else(|| IngressError::new(&at, "must be an object"))?;
    let kind = match obj.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.as_str()),
        Some(_) => return Err(IngressError::new(format!("{at}.type"), "must be a string")),
    };
    match kind {
        // An item with only an `id` is an item reference (its `type` is optional).
        None if !obj.contains_key("role") && obj.contains_key("id") => {
            cx.skip(at, "refers to an item stored at OpenAI");
            Ok(())
        }
        None | Some("message") => message(obj, &at, cx),
        Some("function_call") => function_call(obj, &at, cx),
        Some("function_call_output") => function_call_output(obj, &at, cx),
        Some("reasoning") => {
            cx.skip(
                at,
                "a reasoning item (OpenAI's, possibly encrypted) has no Chat Completions form",
            );
            Ok(())
        }
        Some("item_reference") => {
            cx.skip(at, "refers to an item stored at OpenAI");
            Ok(())
        }
        Some(other) => {
            cx.skip(
                at,
                format!("`{other}` items (built-in tools and other OpenAI features) have no Chat Completions form"),
            );
            Ok(())
        }
    }
}

/// A `message` item (or an easy message without `type`).
fn message(obj: &Object, at: &str, cx: &mut Cx) -> Result<(), IngressError> {
    let role = match obj.get("role") {
        Some(Value::String(r)) => r.as_str(),
        Some(_) => return Err(IngressError::new(format!("{at}.role"), "must be a string")),
        None => return Err(IngressError::new(format!("{at}.role"), "Field required")),
    };
    if !matches!(role, "user" | "assistant" | "system" | "developer") {
        return Err(IngressError::new(
            format!("{at}.role"),
            format!("`{role}` is not a valid role: use user, assistant, system or developer"),
        ));
    }
    let content = match obj.get("content") {
        Some(Value::String(s)) => {
            cx.messages.push(json!({"role": role, "content": s}));
            return Ok(());
        }
        Some(Value::Array(parts)) => parts,
        Some(_) => {
            return Err(IngressError::new(
                format!("{at}.content"),
                "must be a string or an array of content parts",
            ));
        }
        None => return Err(IngressError::new(format!("{at}.content"), "Field required")),
    };
    let mut parts = Vec::new();
    let mut refusal = String::new();
    for (j, part) in content.iter().enumerate() {
        let pat = format!("{at}.content[{j}]");
        let kind = part.get("type").and_then(Value::as_str);
        match kind {
            Some("input_text" | "output_text") => {
                parts.push(json!({"type": "text", "text": string_field(part, "text", &pat)?}));
            }
            Some("refusal") if role == "assistant" => {
                refusal.push_str(string_field(part, "refusal", &pat)?);
            }
            Some("input_image") if role == "user" => {
                if let Some(p) = image_part(part, &pat, cx)? {
                    parts.push(p);
                }
            }
            Some("input_file") => cx.skip(pat, "files have no Chat Completions form kt translates"),
            Some(other) => cx.skip(
                pat,
                format!("`{other}` content in a `{role}` message has no Chat Completions form"),
            ),
            None => return Err(IngressError::new(format!("{pat}.type"), "Field required")),
        }
    }
    if role == "assistant" {
        // Assistant history is text (and a refusal): joined, as Chat carries one string.
        let text: String = parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect();
        let mut msg = Object::new();
        msg.insert("role".into(), json!("assistant"));
        let empty = text.is_empty() && !refusal.is_empty();
        msg.insert(
            "content".into(),
            if empty { Value::Null } else { json!(text) },
        );
        if !refusal.is_empty() {
            msg.insert("refusal".into(), json!(refusal));
        }
        cx.messages.push(Value::Object(msg));
        return Ok(());
    }
    match parts.as_slice() {
        // Nothing expressible was left (each part was reported): no message to send.
        [] => {}
        [only] if only["type"] == "text" => {
            cx.messages
                .push(json!({"role": role, "content": only["text"]}));
        }
        _ => cx.messages.push(json!({"role": role, "content": parts})),
    }
    Ok(())
}

/// An `input_image` part → an `image_url` part; a stored file (`file_id`) or a detail
/// Chat Completions lacks is reported instead.
fn image_part(part: &Value, at: &str, cx: &mut Cx) -> Result<Option<Value>, IngressError> {
    let url = match part.get("image_url") {
        Some(Value::String(u)) => u,
        Some(Value::Null) | None => {
            if part.get("file_id").is_some_and(|f| !f.is_null()) {
                cx.skip(
                    at,
                    "an image stored as an OpenAI file has no Chat Completions form",
                );
                return Ok(None);
            }
            return Err(IngressError::new(
                format!("{at}.image_url"),
                "Field required (or `file_id`)",
            ));
        }
        Some(_) => {
            return Err(IngressError::new(
                format!("{at}.image_url"),
                "must be a string",
            ));
        }
    };
    if !(url.starts_with("data:") || url.starts_with("https://") || url.starts_with("http://")) {
        return Err(IngressError::new(
            format!("{at}.image_url"),
            "must be a data URL or an http(s) URL",
        ));
    }
    let mut image = Object::new();
    image.insert("url".into(), json!(url));
    match part.get("detail") {
        None | Some(Value::Null) => {}
        Some(Value::String(d)) if matches!(d.as_str(), "auto" | "low" | "high") => {
            image.insert("detail".into(), json!(d));
        }
        Some(Value::String(d)) => cx.skip(
            format!("{at}.detail"),
            format!("image detail `{d}` has no Chat Completions equivalent"),
        ),
        Some(_) => {
            return Err(IngressError::new(
                format!("{at}.detail"),
                "must be a string",
            ));
        }
    }
    Ok(Some(json!({"type": "image_url", "image_url": image})))
}

/// A `function_call` item → a tool call on the preceding assistant message, or a new one.
fn function_call(obj: &Object, at: &str, cx: &mut Cx) -> Result<(), IngressError> {
    let call_id = required_str(obj.get("call_id"), || format!("{at}.call_id"))?;
    let name = required_str(obj.get("name"), || format!("{at}.name"))?;
    let arguments = match obj.get("arguments") {
        Some(Value::String(a)) => a,
        Some(_) => {
            return Err(IngressError::new(
                format!("{at}.arguments"),
                "must be a string (JSON text)",
            ));
        }
        None => {
            return Err(IngressError::new(
                format!("{at}.arguments"),
                "Field required",
            ));
        }
    };
    let call = json!({"id": call_id, "type": "function",
                      "function": {"name": name, "arguments": arguments}});
    // Responses lists an assistant turn's text and calls as separate items; Chat wants
    // them on one assistant message, as the model produced them.
    if let Some(last) = cx
        .messages
        .last_mut()
        .and_then(Value::as_object_mut)
        .filter(|m| m.get("role") == Some(&json!("assistant")))
    {
        match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
            Some(calls) => calls.push(call),
            None => {
                last.insert("tool_calls".into(), json!([call]));
            }
        }
        return Ok(());
    }
    cx.messages
        .push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
    Ok(())
}

/// A `function_call_output` item → a `tool` message (text only: Chat tool messages carry
/// no images or files).
fn function_call_output(obj: &Object, at: &str, cx: &mut Cx) -> Result<(), IngressError> {
    let call_id = required_str(obj.get("call_id"), || format!("{at}.call_id"))?;
    let content = match obj.get("output") {
        Some(Value::String(s)) => json!(s),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                let pat = format!("{at}.output[{j}]");
                match part.get("type").and_then(Value::as_str) {
                    Some("input_text") => texts.push(string_field(part, "text", &pat)?),
                    Some(other) => cx.skip(
                        pat,
                        format!("`{other}` in a function call output has no Chat Completions form"),
                    ),
                    None => {
                        return Err(IngressError::new(format!("{pat}.type"), "Field required"));
                    }
                }
            }
            match texts.as_slice() {
                [] => json!(""),
                [only] => json!(only),
                _ => Value::Array(
                    texts
                        .iter()
                        .map(|t| json!({"type": "text", "text": t}))
                        .collect(),
                ),
            }
        }
        Some(_) => {
            return Err(IngressError::new(
                format!("{at}.output"),
                "must be a string or an array of content parts",
            ));
        }
        None => return Err(IngressError::new(format!("{at}.output"), "Field required")),
    };
    cx.messages
        .push(json!({"role": "tool", "tool_call_id": call_id, "content": content}));
    Ok(())
}

/// A required string field of an object; the error names `{at}.{key}`.
pub(super) fn string_field<'a>(v: &'a Value, key: &str, at: &str) -> Result<&'a str, IngressError> {
    required_str(v.get(key), || format!("{at}.{key}"))
}

/// A value that must be a string; `field` names it in the error (built only on failure).
fn required_str(found: Option<&Value>, field: impl Fn() -> String) -> Result<&str, IngressError> {
    match found {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(IngressError::new(field(), "must be a string")),
        None => Err(IngressError::new(field(), "Field required")),
    }
}

/// A field, treating explicit `null` like an absent one.
fn present<'a>(body: &'a Object, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| !v.is_null())
}

#[cfg(test)]
#[path = "responses_request_tests.rs"]
mod tests;
