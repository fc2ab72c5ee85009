//! OpenAI Chat Completions request → Bedrock Converse request body (provider-apis-more.md
//! §2.4 and §2.9), rendered from the shared [`ChatRequest`]. Pure: no network, so every rule
//! is unit-tested. The model id is not part of the body: it goes in the URL path.

use serde_json::{Value, json};

use crate::providers::UpstreamError;
use crate::providers::translate::{
    ChatRequest, Image, Object, Part, ResponseFormat, Role, ToolChoice, Turn, bad_messages,
    untranslatable,
};

/// How the refusals name the provider.
const PROVIDER: &str = "Bedrock";

/// OpenAI Chat Completions request body → Converse (and ConverseStream) request body.
///
/// The upstream model (`_model`) goes in the URL, not the body; it is taken so every
/// provider's entry point reads alike. Anything Converse cannot express (`n > 1`, `seed`,
/// penalties, `logprobs`, JSON mode without a schema, image URLs, `parallel_tool_calls:
/// false`, malformed messages or tool arguments) is an [`UpstreamError::Untranslatable`]
/// naming the offending request parameter. `user` is ignored: it only identifies the caller.
pub fn to_converse_request(req: &Object, _model: &str) -> Result<Value, UpstreamError> {
    // Bedrock declares none of the optional fields native: seed, penalties and logprobs
    // would need model-specific `additionalModelRequestFields`, which kt does not guess.
    let mut chat = ChatRequest::parse(req, PROVIDER, &[])?;
    // Converse rejects empty content arrays and needs the roles to alternate.
    chat.drop_empty_turns(PROVIDER)?;
    chat.require_user_first(PROVIDER)?;
    render(&chat)
}

/// Renders a parsed request into a Converse body.
pub fn render(chat: &ChatRequest) -> Result<Value, UpstreamError> {
    let mut out = Object::new();
    // One block with the texts joined as the Anthropic provider joins them, so a Claude
    // model sees the same system prompt through either provider.
    if let Some(system) = chat.system_text() {
        out.insert("system".into(), json!([{ "text": system }]));
    }
    let messages = chat
        .turns
        .iter()
        .map(message)
        .collect::<Result<Vec<_>, _>>()?;
    out.insert("messages".into(), Value::Array(messages));
    let inference = inference_config(chat);
    if !inference.is_empty() {
        out.insert("inferenceConfig".into(), Value::Object(inference));
    }
    if let Some(tools) = tool_config(chat)? {
        out.insert("toolConfig".into(), tools);
    }
    match &chat.response_format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonSchema { name, schema, .. } => {
            // Converse takes the schema as a JSON string, not an object (§2.4).
            let mut definition = Object::new();
            definition.insert("schema".into(), json!(schema.to_string()));
            if let Some(name) = name {
                definition.insert("name".into(), json!(name));
            }
            out.insert(
                "outputConfig".into(),
                json!({"textFormat": {"type": "json_schema",
                    "structure": {"jsonSchema": definition}}}),
            );
        }
        ResponseFormat::JsonObject => {
            return Err(untranslatable(
                "response_format",
                "`response_format` json_object has no Bedrock equivalent; give a json_schema instead",
            ));
        }
    }
    Ok(Value::Object(out))
}

/// `maxTokens`, `temperature`, `topP`, `stopSequences`: only those the caller set.
fn inference_config(chat: &ChatRequest) -> Object {
    let mut c = Object::new();
    if let Some(n) = chat.max_tokens {
        c.insert("maxTokens".into(), json!(n));
    }
    if let Some(t) = chat.temperature {
        // Converse's range is 0–1, OpenAI's 0–2: clamp rather than scale, as the Anthropic
        // provider does, so 0.2 stays 0.2 and both providers send the same value.
        c.insert("temperature".into(), json!(t.min(1.0)));
    }
    if let Some(p) = chat.top_p {
        c.insert("topP".into(), json!(p));
    }
    if !chat.stop.is_empty() {
        c.insert("stopSequences".into(), json!(chat.stop));
    }
    c
}

/// One turn → `{role, content: [blocks]}`.
fn message(turn: &Turn) -> Result<Value, UpstreamError> {
    let mut blocks = turn
        .parts
        .iter()
        .map(block)
        .collect::<Result<Vec<_>, _>>()?;
    // Claude on Bedrock wants the tool results first in the user turn after its tool calls;
    // a stable sort keeps the order within each group.
    blocks.sort_by_key(|b| b.get("toolResult").is_none());
    let role = match turn.role {
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    Ok(json!({ "role": role, "content": blocks }))
}

fn block(part: &Part) -> Result<Value, UpstreamError> {
    Ok(match part {
        Part::Text(t) => json!({ "text": t }),
        Part::Image(img) => image_block(img)?,
        Part::ToolCall {
            id,
            name,
            arguments,
        } => {
            tool_use_id(id)?;
            json!({"toolUse": {"toolUseId": id, "name": name, "input": arguments}})
        }
        Part::ToolResult { id, content, .. } => {
            tool_use_id(id)?;
            // Bedrock rejects empty text blocks, so an empty result is an empty content list.
            let content = content
                .iter()
                .filter(|p| !matches!(p, Part::Text(t) if t.is_empty()))
                .map(block)
                .collect::<Result<Vec<_>, _>>()?;
            json!({"toolResult": {"toolUseId": id, "content": content}})
        }
    })
}

/// An image as bytes; Converse has no URL source and kt does not fetch URLs (SSRF).
fn image_block(img: &Image) -> Result<Value, UpstreamError> {
    let (mime, data) = match img {
        Image::Data { mime, data } => (mime, data),
        Image::Url(_) => {
            return Err(bad_messages(
                "`messages` holds an image by http(s) URL; Bedrock takes image bytes only, so send it as a base64 data URL",
            ));
        }
    };
    let format = match mime.to_ascii_lowercase().as_str() {
        "image/png" => "png",
        // `image/jpg` is not registered but common; it means JPEG.
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => {
            return Err(bad_messages(format!(
                "`messages` holds an image of type `{mime}`; Bedrock takes png, jpeg, gif or webp"
            )));
        }
    };
    Ok(json!({"image": {"format": format, "source": {"bytes": data}}}))
}

/// Refuses a tool-call id Bedrock would reject (`[a-zA-Z0-9_.:-]{1,64}`), rather than
/// rewriting ids the caller's later tool results must match.
fn tool_use_id(id: &str) -> Result<(), UpstreamError> {
    let fits = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if fits {
        return Ok(());
    }
    let shown: String = id.chars().take(80).collect();
    Err(bad_messages(format!(
        "tool call id `{shown}` does not fit Bedrock's toolUseId pattern [a-zA-Z0-9_.:-]{{1,64}}"
    )))
}

/// `tools` and `tool_choice` → `toolConfig`, or `None` when no tools are offered.
///
/// Converse has no `none` choice, and it rejects a request whose history holds toolUse or
/// toolResult blocks without a `toolConfig`. So `tool_choice: none` is rendered by not
/// offering the tools (the model cannot call what it is not offered), and refused when the
/// history holds tool blocks, because then the tools must be offered and nothing can stop
/// the model from calling them. Stripping the tool blocks from the history instead would
/// change the conversation the model sees.
fn tool_config(chat: &ChatRequest) -> Result<Option<Value>, UpstreamError> {
    let tool_history = chat
        .turns
        .iter()
        .flat_map(|t| &t.parts)
        .any(|p| matches!(p, Part::ToolCall { .. } | Part::ToolResult { .. }));
    if chat.tools.is_empty() {
        if tool_history {
            return Err(untranslatable(
                "tools",
                "the conversation holds tool calls or results but `tools` is empty; Bedrock needs the tools declared whenever tool calls are in the history",
            ));
        }
        return Ok(None);
    }
    let choice = match &chat.tool_choice {
        Some(ToolChoice::None) if tool_history => {
            return Err(untranslatable(
                "tool_choice",
                "`tool_choice: none` has no Bedrock equivalent once the conversation holds tool calls or results (Bedrock then needs the tools declared and cannot be told not to call them)",
            ));
        }
        Some(ToolChoice::None) => return Ok(None),
        None => None,
        Some(ToolChoice::Auto) => Some(json!({ "auto": {} })),
        Some(ToolChoice::Required) => Some(json!({ "any": {} })),
        Some(ToolChoice::Function(name)) => Some(json!({ "tool": { "name": name } })),
    };
    if chat.parallel_tool_calls == Some(false) {
        return Err(untranslatable(
            "parallel_tool_calls",
            "`parallel_tool_calls: false` has no Bedrock equivalent: Converse cannot limit the model to one tool call",
        ));
    }
    let tools: Vec<Value> = chat
        .tools
        .iter()
        .map(|t| {
            let mut spec = Object::new();
            spec.insert("name".into(), json!(t.name));
            if let Some(d) = t.description.as_deref().filter(|d| !d.is_empty()) {
                spec.insert("description".into(), json!(d));
            }
            spec.insert("inputSchema".into(), json!({ "json": t.parameters }));
            json!({ "toolSpec": spec })
        })
        .collect();
    let mut config = Object::new();
    config.insert("tools".into(), Value::Array(tools));
    if let Some(choice) = choice {
        config.insert("toolChoice".into(), choice);
    }
    Ok(Some(Value::Object(config)))
}
