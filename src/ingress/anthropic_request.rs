//! An Anthropic Messages request (what `POST /v1/messages` receives) → kt's internal Chat
//! Completions request, which then takes the same path as `/v1/chat/completions`: policies,
//! mirroring, the primary (re-translated when it speaks Anthropic), the event row.

use serde_json::{Map, Value, json};

use super::IngressError;

type Object = Map<String, Value>;

/// Top-level fields that have no Chat Completions equivalent and are dropped (logged at
/// debug level) rather than refused: sampling and caching hints a caller of a gateway
/// should not have to strip to get an answer.
const DROPPED_FIELDS: &[&str] = &[
    "top_k",
    "thinking",
    "service_tier",
    "cache_control",
    "container",
    "output_config",
    "context_management",
    "mcp_servers",
    "inference_geo",
];

/// Anthropic Messages request body → Chat Completions request body.
///
/// `system` becomes a leading system message; `tool_result` blocks become `tool`
/// messages placed before the rest of their user turn (Chat Completions wants them right
/// after the assistant's tool calls); `tool_use` blocks become the assistant's
/// `tool_calls` with `input` as a JSON string; `max_tokens` (required, as Anthropic
/// requires it) becomes `max_completion_tokens`; `metadata.user_id` becomes `user`.
pub fn to_chat_request(body: &Object) -> Result<Object, IngressError> {
    let mut out = Object::new();
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(_) => return Err(IngressError::new("model", "must be a non-empty string")),
        None => return Err(IngressError::new("model", "Field required")),
    };
    out.insert("model".into(), json!(model));

    let mut messages = Vec::new();
    if let Some(system) = present(body, "system") {
        let text = system_text(system)?;
        if !text.is_empty() {
            messages.push(json!({"role": "system", "content": text}));
        }
    }
    let turns = match body.get("messages") {
        Some(Value::Array(turns)) if !turns.is_empty() => turns,
        Some(Value::Array(_)) => {
            return Err(IngressError::new(
                "messages",
                "at least one message is required",
            ));
        }
        Some(_) => return Err(IngressError::new("messages", "must be an array")),
        None => return Err(IngressError::new("messages", "Field required")),
    };
    for (i, turn) in turns.iter().enumerate() {
        translate_turn(turn, i, &mut messages)?;
    }
    out.insert("messages".into(), Value::Array(messages));

    match body.get("max_tokens") {
        Some(n) if n.as_u64().is_some_and(|n| n >= 1) => {
            out.insert("max_completion_tokens".into(), n.clone());
        }
        Some(_) => {
            return Err(IngressError::new(
                "max_tokens",
                "must be an integer of at least 1",
            ));
        }
        None => return Err(IngressError::new("max_tokens", "Field required")),
    }
    if let Some(stop) = present(body, "stop_sequences") {
        let list = stop
            .as_array()
            .filter(|l| l.iter().all(Value::is_string))
            .ok_or_else(|| IngressError::new("stop_sequences", "must be an array of strings"))?;
        if !list.is_empty() {
            out.insert("stop".into(), Value::Array(list.clone()));
        }
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = present(body, key) {
            if !v.is_number() {
                return Err(IngressError::new(key, "must be a number"));
            }
            out.insert(key.into(), v.clone());
        }
    }
    let tools = tools(body)?;
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = present(body, "tool_choice") {
            tool_choice(choice, &mut out)?;
        }
    }
    if let Some(user) = present(body, "metadata")
        .and_then(|m| m.get("user_id"))
        .filter(|u| !u.is_null())
    {
        let user = user
            .as_str()
            .ok_or_else(|| IngressError::new("metadata.user_id", "must be a string"))?;
        out.insert("user".into(), json!(user));
    }
    match present(body, "stream") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            out.insert("stream".into(), json!(true));
        }
        Some(_) => return Err(IngressError::new("stream", "must be a boolean")),
    }
    let dropped: Vec<&str> = DROPPED_FIELDS
        .iter()
        .copied()
        .filter(|k| body.contains_key(*k))
        .collect();
    if !dropped.is_empty() {
        tracing::debug!(
            ?dropped,
            "Messages fields with no Chat Completions equivalent were dropped"
        );
    }
    Ok(out)
}

/// `system`: a string, or text blocks joined with blank lines (as kt joins several system
/// messages in the other direction, so a round trip keeps the text).
fn system_text(system: &Value) -> Result<String, IngressError> {
    match system {
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => blocks
            .iter()
            .enumerate()
            .map(
                |(j, b)| match (kind(b), b.get("text").and_then(Value::as_str)) {
                    (Some("text"), Some(t)) => Ok(t.to_string()),
                    _ => Err(IngressError::new(
                        format!("system.{j}"),
                        "system blocks must be text blocks",
                    )),
                },
            )
            .collect::<Result<Vec<_>, _>>()
            .map(|texts| texts.join("\n\n")),
        _ => Err(IngressError::new(
            "system",
            "must be a string or an array of text blocks",
        )),
    }
}

/// One Anthropic turn → one or more Chat Completions messages, appended to `out`.
fn translate_turn(turn: &Value, i: usize, out: &mut Vec<Value>) -> Result<(), IngressError> {
    let at = format!("messages.{i}");
    let role = turn.get("role").and_then(Value::as_str);
    let content = turn.get("content").unwrap_or(&Value::Null);
    match role {
        Some("user") => user_turn(content, &at, out),
        Some("assistant") => assistant_turn(content, &at, out),
        Some(other) => Err(IngressError::new(
            format!("{at}.role"),
            format!(
                "`{other}` is not a valid role: use user or assistant (system is a top-level field)"
            ),
        )),
        None => Err(IngressError::new(format!("{at}.role"), "Field required")),
    }
}

/// The blocks of a turn: a string is one text block.
fn blocks_of<'a>(content: &'a Value, at: &str) -> Result<Vec<&'a Value>, IngressError> {
    match content {
        Value::String(_) => Ok(vec![content]),
        Value::Array(blocks) => Ok(blocks.iter().collect()),
        _ => Err(IngressError::new(
            format!("{at}.content"),
            "must be a string or an array of content blocks",
        )),
    }
}

/// A user turn: its `tool_result` blocks become `tool` messages first, the rest one user
/// message (a plain string when it is a single text).
fn user_turn(content: &Value, at: &str, out: &mut Vec<Value>) -> Result<(), IngressError> {
    if let Value::String(s) = content {
        out.push(json!({"role": "user", "content": s}));
        return Ok(());
    }
    let mut parts = Vec::new();
    for (j, block) in blocks_of(content, at)?.into_iter().enumerate() {
        let bat = format!("{at}.content.{j}");
        match kind(block) {
            Some("text") => parts.push(json!({"type": "text", "text": text_of(block, &bat)?})),
            Some("image") => parts.push(image_part(block, &bat)?),
            Some("tool_result") => out.push(tool_message(block, &bat)?),
            Some(other) => {
                return Err(IngressError::new(
                    format!("{bat}.type"),
                    format!("`{other}` blocks are not supported by kt's translation"),
                ));
            }
            None => return Err(IngressError::new(format!("{bat}.type"), "Field required")),
        }
    }
    match parts.as_slice() {
        [] => {}
        [only] if only["type"] == "text" => {
            out.push(json!({"role": "user", "content": only["text"]}));
        }
        _ => out.push(json!({"role": "user", "content": parts})),
    }
    Ok(())
}

/// An assistant turn: texts joined into `content`, `tool_use` blocks into `tool_calls`;
/// thinking blocks have no Chat Completions field and are dropped.
fn assistant_turn(content: &Value, at: &str, out: &mut Vec<Value>) -> Result<(), IngressError> {
    if let Value::String(s) = content {
        out.push(json!({"role": "assistant", "content": s}));
        return Ok(());
    }
    let mut text = String::new();
    let mut calls = Vec::new();
    for (j, block) in blocks_of(content, at)?.into_iter().enumerate() {
        let bat = format!("{at}.content.{j}");
        match kind(block) {
            Some("text") => text.push_str(text_of(block, &bat)?),
            Some("tool_use") => {
                let id = block.get("id").and_then(Value::as_str);
                let name = block.get("name").and_then(Value::as_str);
                let (Some(id), Some(name)) = (id, name) else {
                    return Err(IngressError::new(
                        bat,
                        "a tool_use block needs a string `id` and `name`",
                    ));
                };
                let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
                calls.push(json!({
                    "id": id, "type": "function",
                    "function": {"name": name, "arguments": input.to_string()},
                }));
            }
            Some("thinking" | "redacted_thinking") => {}
            Some(other) => {
                return Err(IngressError::new(
                    format!("{bat}.type"),
                    format!("`{other}` blocks are not supported by kt's translation"),
                ));
            }
            None => return Err(IngressError::new(format!("{bat}.type"), "Field required")),
        }
    }
    let mut msg = Object::new();
    msg.insert("role".into(), json!("assistant"));
    let content = if text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        json!(text)
    };
    msg.insert("content".into(), content);
    if !calls.is_empty() {
        msg.insert("tool_calls".into(), Value::Array(calls));
    }
    out.push(Value::Object(msg));
    Ok(())
}

/// A `tool_result` block → a `tool` message. Its content must be text: Chat Completions
/// tool messages carry no images. `is_error` has no equivalent and is dropped.
fn tool_message(block: &Value, at: &str) -> Result<Value, IngressError> {
    let id = block
        .get("tool_use_id")
        .and_then(Value::as_str)
        .ok_or_else(|| IngressError::new(format!("{at}.tool_use_id"), "Field required"))?;
    let content = match block.get("content") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::new();
            for (k, p) in parts.iter().enumerate() {
                let pat = format!("{at}.content.{k}");
                match kind(p) {
                    Some("text") => texts.push(text_of(p, &pat)?.to_string()),
                    _ => {
                        return Err(IngressError::new(
                            pat,
                            "only text blocks can be translated inside a tool_result",
                        ));
                    }
                }
            }
            texts.join("\n")
        }
        Some(_) => {
            return Err(IngressError::new(
                format!("{at}.content"),
                "must be a string or an array of text blocks",
            ));
        }
    };
    Ok(json!({"role": "tool", "tool_call_id": id, "content": content}))
}

/// An `image` block → an `image_url` part (base64 sources become a data URL).
fn image_part(block: &Value, at: &str) -> Result<Value, IngressError> {
    let source = block.get("source").unwrap_or(&Value::Null);
    let url = match kind(source) {
        Some("base64") => {
            let media = source.get("media_type").and_then(Value::as_str);
            let data = source.get("data").and_then(Value::as_str);
            match (media, data) {
                (Some(m), Some(d)) => format!("data:{m};base64,{d}"),
                _ => {
                    return Err(IngressError::new(
                        format!("{at}.source"),
                        "a base64 source needs `media_type` and `data`",
                    ));
                }
            }
        }
        Some("url") => source
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| IngressError::new(format!("{at}.source.url"), "Field required"))?
            .to_string(),
        _ => {
            return Err(IngressError::new(
                format!("{at}.source"),
                "only base64 and url image sources are supported",
            ));
        }
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// `tools[]{name, description?, input_schema}` → function tools. Server tools (a `type`
/// such as `web_search_20250305`) run at Anthropic and have no Chat Completions form.
fn tools(body: &Object) -> Result<Vec<Value>, IngressError> {
    let Some(tools) = present(body, "tools") else {
        return Ok(Vec::new());
    };
    let tools = tools
        .as_array()
        .ok_or_else(|| IngressError::new("tools", "must be an array"))?;
    tools
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let at = format!("tools.{k}");
            if let Some(other) = kind(t).filter(|k| *k != "custom") {
                return Err(IngressError::new(
                    format!("{at}.type"),
                    format!(
                        "`{other}` tools are not supported by kt's translation; use client tools"
                    ),
                ));
            }
            let name = t
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| IngressError::new(format!("{at}.name"), "Field required"))?;
            let schema = match t.get("input_schema") {
                Some(s @ Value::Object(_)) => s.clone(),
                Some(_) => {
                    return Err(IngressError::new(
                        format!("{at}.input_schema"),
                        "must be a JSON Schema object",
                    ));
                }
                None => {
                    return Err(IngressError::new(
                        format!("{at}.input_schema"),
                        "Field required",
                    ));
                }
            };
            let mut function = json!({"name": name, "parameters": schema});
            if let (Some(d), Some(f)) = (
                t.get("description").and_then(Value::as_str),
                function.as_object_mut(),
            ) {
                f.insert("description".into(), json!(d));
            }
            Ok(json!({"type": "function", "function": function}))
        })
        .collect()
}

/// `tool_choice` → `tool_choice` (+ `parallel_tool_calls: false` for
/// `disable_parallel_tool_use`).
fn tool_choice(choice: &Value, out: &mut Object) -> Result<(), IngressError> {
    let mapped = match kind(choice) {
        Some("auto") => json!("auto"),
        Some("any") => json!("required"),
        Some("none") => json!("none"),
        Some("tool") => {
            let name = choice
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| IngressError::new("tool_choice.name", "Field required"))?;
            json!({"type": "function", "function": {"name": name}})
        }
        _ => {
            return Err(IngressError::new(
                "tool_choice.type",
                "must be auto, any, tool or none",
            ));
        }
    };
    out.insert("tool_choice".into(), mapped);
    if choice.get("disable_parallel_tool_use") == Some(&json!(true)) {
        out.insert("parallel_tool_calls".into(), json!(false));
    }
    Ok(())
}

fn kind(v: &Value) -> Option<&str> {
    v.get("type").and_then(Value::as_str)
}

/// A block's text; a bare string (shorthand content) is its own text.
fn text_of<'a>(block: &'a Value, at: &str) -> Result<&'a str, IngressError> {
    if let Value::String(s) = block {
        return Ok(s);
    }
    block
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| IngressError::new(format!("{at}.text"), "Field required"))
}

/// A field, treating explicit `null` like an absent one.
fn present<'a>(body: &'a Object, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| !v.is_null())
}

#[cfg(test)]
#[path = "anthropic_request_tests.rs"]
mod tests;
