//! OpenAI Chat Completions request → Anthropic Messages request (provider-apis.md §3),
//! rendered from the shared [`ChatRequest`]. Pure: no network, so every rule is unit-tested.

use serde_json::{Map, Value, json};

use crate::providers::UpstreamError;
use crate::providers::translate::{
    ChatRequest, Image, Object, Part, ResponseFormat, Role, Tool, ToolChoice, Turn, json_number,
    untranslatable,
};

/// OpenAI Chat Completions request body → Anthropic Messages request body.
///
/// `model` is the upstream model name (the route decides it, not the caller), and
/// `default_max_tokens` fills Anthropic's required `max_tokens` when the caller set neither
/// `max_completion_tokens` nor `max_tokens`. Anything Anthropic cannot express (`n > 1`,
/// `seed`, `logprobs`, JSON mode without a schema, unsupported content parts, malformed
/// messages or tool arguments) is an [`UpstreamError::Untranslatable`] naming the offending
/// request parameter.
pub fn to_messages_request(
    req: &Object,
    model: &str,
    default_max_tokens: u64,
) -> Result<Value, UpstreamError> {
    let chat = ChatRequest::parse(req, "Anthropic", &[])?;
    chat.require_user_first("Anthropic")?;
    render(&chat, model, default_max_tokens, true)
}

/// Renders a parsed request; `with_model` is false for Vertex, whose URL names the model.
pub fn render(
    chat: &ChatRequest,
    model: &str,
    default_max_tokens: u64,
    with_model: bool,
) -> Result<Value, UpstreamError> {
    let mut out = Object::new();
    if with_model {
        out.insert("model".into(), json!(model));
    }
    if let Some(system) = chat.system_text() {
        out.insert("system".into(), json!(system));
    }
    let messages: Vec<Value> = chat.turns.iter().map(turn_to_message).collect();
    out.insert("messages".into(), Value::Array(messages));
    out.insert(
        "max_tokens".into(),
        json!(chat.max_tokens.unwrap_or(default_max_tokens)),
    );
    if !chat.stop.is_empty() {
        out.insert("stop_sequences".into(), json!(chat.stop));
    }
    if let Some(t) = chat.temperature {
        // Anthropic's range is 0–1, OpenAI's 0–2: clamp rather than scale (§3), so 0.2 stays 0.2.
        out.insert(
            "temperature".into(),
            if t > 1.0 { json!(1.0) } else { json_number(t) },
        );
    }
    if let Some(p) = chat.top_p {
        out.insert("top_p".into(), json_number(p));
    }
    if !chat.tools.is_empty() {
        out.insert(
            "tools".into(),
            Value::Array(chat.tools.iter().map(tool).collect()),
        );
        if let Some(choice) = tool_choice(chat) {
            out.insert("tool_choice".into(), Value::Object(choice));
        }
    }
    if let Some(id) = &chat.user {
        out.insert("metadata".into(), json!({ "user_id": id }));
    }
    if chat.stream {
        out.insert("stream".into(), json!(true));
    }
    match &chat.response_format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonSchema { schema, .. } => {
            out.insert(
                "output_config".into(),
                json!({ "format": { "type": "json_schema", "schema": schema } }),
            );
        }
        ResponseFormat::JsonObject => {
            return Err(untranslatable(
                "response_format",
                "`response_format` json_object has no Anthropic equivalent; give a json_schema instead",
            ));
        }
    }
    Ok(Value::Object(out))
}

/// Renders a turn, keeping a lone text a plain string (§3: "content string unchanged").
fn turn_to_message(turn: &Turn) -> Value {
    let mut blocks: Vec<Value> = turn.parts.iter().map(block).collect();
    // Anthropic wants tool_result blocks before any other block of a user turn; a stable
    // partition keeps the order within each group.
    blocks.sort_by_key(|b| b.get("type").and_then(Value::as_str) != Some("tool_result"));
    let content = match (turn.parts.as_slice(), blocks.as_slice()) {
        (_, []) => json!(""),
        ([Part::Text(t)], [_]) => json!(t),
        _ => Value::Array(blocks),
    };
    let role = match turn.role {
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    json!({ "role": role, "content": content })
}

fn block(part: &Part) -> Value {
    match part {
        Part::Text(t) => json!({ "type": "text", "text": t }),
        Part::Image(img) => image_block(img),
        Part::ToolCall {
            id,
            name,
            arguments,
        } => json!({ "type": "tool_use", "id": id, "name": name, "input": arguments }),
        Part::ToolResult {
            id, content, plain, ..
        } => {
            let mut b = Map::new();
            b.insert("type".into(), json!("tool_result"));
            b.insert("tool_use_id".into(), json!(id));
            match (plain, content.as_slice()) {
                (true, [Part::Text(t)]) => {
                    b.insert("content".into(), json!(t));
                }
                (_, []) => {}
                _ => {
                    b.insert(
                        "content".into(),
                        Value::Array(content.iter().map(block).collect()),
                    );
                }
            }
            Value::Object(b)
        }
    }
}

fn image_block(img: &Image) -> Value {
    match img {
        Image::Data { mime, data } => json!({
            "type": "image",
            "source": { "type": "base64", "media_type": mime, "data": data },
        }),
        Image::Url(url) => json!({ "type": "image", "source": { "type": "url", "url": url } }),
    }
}

/// `tools[].function{name, description, parameters}` → `tools[]{name, description, input_schema}`.
fn tool(t: &Tool) -> Value {
    let mut out = json!({ "name": t.name, "input_schema": t.parameters });
    if let (Some(d), Some(obj)) = (&t.description, out.as_object_mut()) {
        obj.insert("description".into(), json!(d));
    }
    out
}

/// `tool_choice` plus `parallel_tool_calls: false` → Anthropic's `tool_choice` object.
fn tool_choice(chat: &ChatRequest) -> Option<Object> {
    let mut choice = chat.tool_choice.as_ref().map(|c| {
        let v = match c {
            ToolChoice::Auto => json!({ "type": "auto" }),
            ToolChoice::None => json!({ "type": "none" }),
            ToolChoice::Required => json!({ "type": "any" }),
            ToolChoice::Function(name) => json!({ "type": "tool", "name": name }),
        };
        v.as_object().cloned().unwrap_or_default()
    });
    if chat.parallel_tool_calls == Some(false) {
        let choice = choice.get_or_insert_with(|| {
            let mut auto = Object::new();
            auto.insert("type".into(), json!("auto"));
            auto
        });
        // `none` takes no such flag, and with no tool calls there is nothing to parallelise.
        if choice.get("type") != Some(&json!("none")) {
            choice.insert("disable_parallel_tool_use".into(), json!(true));
        }
    }
    choice
}
