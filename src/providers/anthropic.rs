//! Anthropic Messages wire format: pure translation of an OpenAI Chat Completions request into
//! a Messages request, and of a Messages answer or error back into OpenAI shape
//! (provider-apis.md §3).
//! The HTTP call itself lives elsewhere, so everything here is testable without a network.

use serde_json::{Map, Value, json};

use super::{Completion, UpstreamError, parse_error_body};

type Object = Map<String, Value>;

/// Request fields this module translates, space-separated; anything else is dropped (and
/// logged at debug level) because Anthropic rejects unknown top-level fields.
const TRANSLATED_FIELDS: &str = "model messages max_completion_tokens max_tokens stop temperature \
    top_p n tools tool_choice parallel_tool_calls user safety_identifier stream response_format";

/// OpenAI Chat Completions request body → Anthropic Messages request body.
///
/// `model` is the upstream model name (the route decides it, not the caller), and
/// `default_max_tokens` fills Anthropic's required `max_tokens` when the caller set neither
/// `max_completion_tokens` nor `max_tokens`. Anything Anthropic cannot express (`n > 1`,
/// unsupported content parts, malformed messages or tool arguments) is an
/// [`UpstreamError::Untranslatable`] naming the offending request parameter.
pub fn to_messages_request(
    req: &Object,
    model: &str,
    default_max_tokens: u64,
) -> Result<Value, UpstreamError> {
    let mut out = Object::new();
    out.insert("model".into(), json!(model));

    let (system, messages) = translate_messages(req.get("messages"))?;
    if !system.is_empty() {
        out.insert("system".into(), json!(system.join("\n\n")));
    }
    out.insert("messages".into(), Value::Array(messages));
    out.insert(
        "max_tokens".into(),
        json!(max_tokens(req, default_max_tokens)?),
    );

    if let Some(stop) = stop_sequences(req)? {
        out.insert("stop_sequences".into(), stop);
    }
    if let Some(t) = number(req, "temperature")? {
        // Anthropic's range is 0–1, OpenAI's 0–2: clamp rather than scale (§3), so 0.2 stays 0.2.
        let clamped = if t.as_f64().is_some_and(|f| f > 1.0) {
            json!(1.0)
        } else {
            t.clone()
        };
        out.insert("temperature".into(), clamped);
    }
    if let Some(p) = number(req, "top_p")? {
        out.insert("top_p".into(), p.clone());
    }
    check_n(req)?;

    let tools = tools(req)?;
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        // A tool_choice without tools has nothing to choose from, so it only goes out with tools.
        if let Some(choice) = tool_choice(req)? {
            out.insert("tool_choice".into(), Value::Object(choice));
        }
    }

    // `safety_identifier` is OpenAI's replacement for `user`, so it wins when both are set.
    let user_id = match string(req, "safety_identifier")? {
        Some(id) => Some(id),
        None => string(req, "user")?,
    };
    if let Some(id) = user_id {
        out.insert("metadata".into(), json!({ "user_id": id }));
    }
    if boolean(req, "stream")? == Some(true) {
        out.insert("stream".into(), json!(true));
    }
    if let Some(config) = output_config(req)? {
        out.insert("output_config".into(), config);
    }

    let dropped: Vec<&str> = req
        .keys()
        .map(String::as_str)
        .filter(|k| !TRANSLATED_FIELDS.split_whitespace().any(|f| f == *k))
        .collect();
    if !dropped.is_empty() {
        tracing::debug!(
            ?dropped,
            "request fields Anthropic has no equivalent for were dropped"
        );
    }
    Ok(Value::Object(out))
}

/// Anthropic Messages response body (2xx) → OpenAI-shaped [`Completion`].
///
/// The `msg_` id is kept as-is and `created` is `now_unix_secs`, since Anthropic sends no
/// timestamp. A body that is not JSON or has no `content` array is an
/// [`UpstreamError::InvalidResponse`] with a short reason (never the body itself).
pub fn from_messages_response(
    body: &[u8],
    now_unix_secs: u64,
) -> Result<Completion, UpstreamError> {
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|e| UpstreamError::InvalidResponse(format!("body is not JSON ({e})")))?;
    let blocks = parsed
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| UpstreamError::InvalidResponse("no `content` array".into()))?;

    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => {
                // OpenAI clients expect `arguments` as a string holding JSON, not an object.
                let arguments = block
                    .get("input")
                    .filter(|i| !i.is_null())
                    .map_or_else(|| "{}".to_string(), Value::to_string);
                tool_calls.push(json!({
                    "id": block.get("id").and_then(Value::as_str).unwrap_or(""),
                    "type": "function",
                    "function": {
                        "name": block.get("name").and_then(Value::as_str).unwrap_or(""),
                        "arguments": arguments,
                    },
                }));
            }
            // Thinking, redacted thinking and server-tool blocks have no Chat Completions field.
            _ => {}
        }
    }

    let mut message = Object::new();
    message.insert("role".into(), json!("assistant"));
    let content = if text.is_empty() && !tool_calls.is_empty() {
        Value::Null
    } else {
        json!(text)
    };
    message.insert("content".into(), content);
    message.insert("refusal".into(), Value::Null);
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }

    let stop_reason = parsed.get("stop_reason").and_then(Value::as_str);
    let mut out = Object::new();
    out.insert("id".into(), json!(str_at(&parsed, "id")));
    out.insert("object".into(), json!("chat.completion"));
    out.insert("created".into(), json!(now_unix_secs));
    out.insert("model".into(), json!(str_at(&parsed, "model")));
    out.insert(
        "choices".into(),
        json!([{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason(stop_reason),
        }]),
    );
    if let Some(usage) = parsed.get("usage").filter(|u| u.is_object()) {
        out.insert("usage".into(), openai_usage(usage));
    }
    Completion::from_openai_body(out)
}

/// Anthropic error response → [`UpstreamError::Status`] with OpenAI-style fields (§3.3).
///
/// 529 (overloaded, not a standard code) becomes 503 so OpenAI clients retry it; `kind` and
/// `code` both carry the upstream `error.type`. `retry_after` is kept only on 429/503/529.
pub fn error_from_response(status: u16, body: &[u8], retry_after: Option<String>) -> UpstreamError {
    let (message, upstream_code, mut kind) = parse_error_body(status, body);
    let upstream_type = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v.pointer("/error/type")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    if upstream_type.is_none() && status == 529 {
        // `default_error_type` knows nothing of 529; say what Anthropic means by it.
        kind = "overloaded_error".to_string();
    }
    let code = upstream_code.or(upstream_type);
    let retry_after = retry_after.filter(|_| matches!(status, 429 | 503 | 529));
    UpstreamError::Status {
        status: if status == 529 { 503 } else { status },
        kind,
        code,
        message,
        retry_after,
    }
}

// --- Messages

/// One Anthropic turn being built; adjacent OpenAI messages of the same role land in one turn.
struct Turn {
    role: &'static str,
    blocks: Vec<Value>,
}

/// Splits OpenAI `messages` into the joined system texts and alternating Anthropic turns.
fn translate_messages(
    messages: Option<&Value>,
) -> Result<(Vec<String>, Vec<Value>), UpstreamError> {
    let messages = messages
        .and_then(Value::as_array)
        .ok_or_else(|| bad_messages("`messages` must be an array of messages"))?;
    let mut system = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();

    for (i, msg) in messages.iter().enumerate() {
        let msg = msg
            .as_object()
            .ok_or_else(|| bad_messages(format!("messages[{i}] is not an object")))?;
        let content = msg.get("content").unwrap_or(&Value::Null);
        let (role, blocks) = match msg.get("role").and_then(Value::as_str) {
            Some("system" | "developer") => {
                system.extend(system_texts(content, i)?);
                continue;
            }
            Some("user") => ("user", content_blocks(content, i)?),
            Some("assistant") => {
                let mut blocks = content_blocks(content, i)?;
                blocks.extend(tool_use_blocks(msg.get("tool_calls"), i)?);
                ("assistant", blocks)
            }
            // Anthropic carries tool results inside user turns.
            Some("tool") => ("user", vec![tool_result_block(msg, content, i)?]),
            // The deprecated `function` role predates tool calls; the reference says to ignore it.
            Some("function") => continue,
            Some(other) => {
                return Err(bad_messages(format!(
                    "messages[{i}] has role `{other}`, which Anthropic cannot express"
                )));
            }
            None => return Err(bad_messages(format!("messages[{i}] has no valid `role`"))),
        };
        match turns.last_mut() {
            Some(last) if last.role == role => last.blocks.extend(blocks),
            _ => turns.push(Turn { role, blocks }),
        }
    }

    match turns.first() {
        None => Err(bad_messages(
            "`messages` has no user or assistant message; Anthropic needs at least one",
        )),
        Some(first) if first.role == "assistant" => Err(bad_messages(
            "the first non-system message is an assistant one; Anthropic needs a user turn first",
        )),
        Some(_) => Ok((system, turns.into_iter().map(turn_to_message).collect())),
    }
}

/// Renders a turn, keeping string content a plain string (§3: "content string unchanged").
fn turn_to_message(turn: Turn) -> Value {
    let mut blocks = turn.blocks;
    // Anthropic wants tool_result blocks before any other block of a user turn; a stable
    // partition keeps the order within each group.
    blocks.sort_by_key(|b| b.get("type").and_then(Value::as_str) != Some("tool_result"));
    let content = match blocks.as_slice() {
        [] => json!(""),
        [only] if is_plain_text(only) => only["text"].clone(),
        _ => Value::Array(blocks),
    };
    json!({ "role": turn.role, "content": content })
}

fn is_plain_text(block: &Value) -> bool {
    block.as_object().is_some_and(|b| {
        b.len() == 2 && b.get("type") == Some(&json!("text")) && b.get("text").is_some()
    })
}

/// Texts of a system/developer message: a string, or an array of text parts (one text each).
fn system_texts(content: &Value, i: usize) -> Result<Vec<String>, UpstreamError> {
    let blocks = content_blocks(content, i)?;
    blocks
        .iter()
        .map(|b| match b.get("type").and_then(Value::as_str) {
            Some("text") => Ok(str_at(b, "text").to_string()),
            _ => Err(bad_messages(format!(
                "messages[{i}] is a system message with a non-text part; Anthropic's is text only"
            ))),
        })
        .collect()
}

/// Content of a user/assistant/tool message as Anthropic blocks. Empty texts are dropped
/// because Anthropic rejects empty text blocks (OpenAI clients often send `content: ""`
/// beside `tool_calls`).
fn content_blocks(content: &Value, i: usize) -> Result<Vec<Value>, UpstreamError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![json!({ "type": "text", "text": s })]),
        Value::Array(parts) => {
            let mut blocks = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                if let Some(block) = part_block(part, i, j)? {
                    blocks.push(block);
                }
            }
            Ok(blocks)
        }
        _ => Err(bad_messages(format!(
            "messages[{i}].content must be a string, an array of content parts, or null"
        ))),
    }
}

/// One OpenAI content part as an Anthropic block (`None` for an empty text).
fn part_block(part: &Value, i: usize, j: usize) -> Result<Option<Value>, UpstreamError> {
    let at = || format!("messages[{i}].content[{j}]");
    let text_of = |key: &str| {
        part.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| bad_messages(format!("{} has no string `{key}`", at())))
    };
    let text = match part.get("type").and_then(Value::as_str) {
        Some("text") => text_of("text")?,
        // An assistant refusal is still assistant-visible text in the history.
        Some("refusal") => text_of("refusal")?,
        Some("image_url") => {
            let url = match part.get("image_url") {
                Some(Value::String(url)) => Some(url.as_str()),
                Some(obj) => obj.get("url").and_then(Value::as_str),
                None => None,
            }
            .ok_or_else(|| bad_messages(format!("{} has no `image_url.url`", at())))?;
            return image_block(url, &at()).map(Some);
        }
        Some(other) => {
            return Err(bad_messages(format!(
                "{} has type `{other}`, which Anthropic cannot accept",
                at()
            )));
        }
        None => return Err(bad_messages(format!("{} has no `type`", at()))),
    };
    Ok((!text.is_empty()).then(|| json!({ "type": "text", "text": text })))
}

/// `data:<mime>;base64,<data>` → base64 source; http(s) URL → url source.
fn image_block(url: &str, at: &str) -> Result<Value, UpstreamError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let parsed = rest
            .split_once(',')
            .and_then(|(head, data)| Some((head.strip_suffix(";base64")?, data)))
            .filter(|(mime, data)| !mime.is_empty() && !data.is_empty());
        let (media_type, data) = parsed.ok_or_else(|| {
            bad_messages(format!(
                "{at} is a data URL but not `data:<mime>;base64,<data>`"
            ))
        })?;
        return Ok(json!({
            "type": "image",
            "source": { "type": "base64", "media_type": media_type, "data": data },
        }));
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({ "type": "image", "source": { "type": "url", "url": url } }));
    }
    Err(bad_messages(format!(
        "{at} has an image URL that is neither https nor a base64 data URL"
    )))
}

/// Assistant `tool_calls` → `tool_use` blocks with the arguments parsed into `input`.
fn tool_use_blocks(calls: Option<&Value>, i: usize) -> Result<Vec<Value>, UpstreamError> {
    let calls = match calls {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(calls)) => calls,
        Some(_) => {
            return Err(bad_messages(format!(
                "messages[{i}].tool_calls is not an array"
            )));
        }
    };
    calls
        .iter()
        .enumerate()
        .map(|(k, call)| {
            let at = format!("messages[{i}].tool_calls[{k}]");
            let id = call.get("id").and_then(Value::as_str);
            let function = call.get("function");
            let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
            let (Some(id), Some(name)) = (id, name) else {
                return Err(bad_messages(format!(
                    "{at} needs a string `id` and `function.name`"
                )));
            };
            let input = tool_input(function.and_then(|f| f.get("arguments")), &at)?;
            Ok(json!({ "type": "tool_use", "id": id, "name": name, "input": input }))
        })
        .collect()
}

/// Parses `function.arguments` (a string holding a JSON object) into Anthropic's `input` object.
fn tool_input(arguments: Option<&Value>, at: &str) -> Result<Value, UpstreamError> {
    let parsed = match arguments {
        // A tool without parameters is often called with no or empty arguments; that means `{}`.
        None | Some(Value::Null) => return Ok(json!({})),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(json!({})),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).map_err(|e| {
            bad_messages(format!("{at}.function.arguments is not valid JSON ({e})"))
        })?,
        // Some clients send the arguments already parsed; accept that too.
        Some(other) => other.clone(),
    };
    if parsed.is_object() {
        Ok(parsed)
    } else {
        Err(bad_messages(format!(
            "{at}.function.arguments must be a JSON object; Anthropic's tool input is an object"
        )))
    }
}

/// A `tool` message → a `tool_result` block for the next user turn.
fn tool_result_block(msg: &Object, content: &Value, i: usize) -> Result<Value, UpstreamError> {
    let id = msg
        .get("tool_call_id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad_messages(format!(
                "messages[{i}] is a tool message without `tool_call_id`"
            ))
        })?;
    let mut block = json!({ "type": "tool_result", "tool_use_id": id });
    let result = match content {
        Value::String(_) => Some(content.clone()),
        _ => {
            let blocks = content_blocks(content, i)?;
            (!blocks.is_empty()).then_some(Value::Array(blocks))
        }
    };
    if let (Some(result), Some(obj)) = (result, block.as_object_mut()) {
        obj.insert("content".into(), result);
    }
    Ok(block)
}

// --- Other request fields

/// `max_completion_tokens`, else `max_tokens`, else the configured default (Anthropic needs one).
fn max_tokens(req: &Object, default: u64) -> Result<u64, UpstreamError> {
    let integer = "a non-negative integer";
    match typed(req, "max_completion_tokens", Value::as_u64, integer)? {
        Some(n) => Ok(n),
        None => Ok(typed(req, "max_tokens", Value::as_u64, integer)?.unwrap_or(default)),
    }
}

/// `stop` (string or array) → `stop_sequences`, without empty strings; `None` when nothing is left.
fn stop_sequences(req: &Object) -> Result<Option<Value>, UpstreamError> {
    let invalid = || untranslatable("stop", "`stop` must be a string or an array of strings");
    let list: Vec<&str> = match present(req, "stop") {
        None => return Ok(None),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(invalid))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid()),
    };
    let list: Vec<&str> = list.into_iter().filter(|s| !s.is_empty()).collect();
    Ok((!list.is_empty()).then(|| json!(list)))
}

/// Anthropic returns one choice per call, so only `n` absent, null or 1 can be served.
fn check_n(req: &Object) -> Result<(), UpstreamError> {
    match present(req, "n").map(Value::as_u64) {
        None | Some(Some(1)) => Ok(()),
        Some(Some(n)) if n > 1 => Err(untranslatable(
            "n",
            format!("`n` = {n} is not supported: Anthropic returns a single choice"),
        )),
        Some(_) => Err(untranslatable("n", "`n` must be a positive integer")),
    }
}

/// `tools[].function{name, description, parameters}` → `tools[]{name, description, input_schema}`.
fn tools(req: &Object) -> Result<Vec<Value>, UpstreamError> {
    let tools = match present(req, "tools") {
        None => return Ok(Vec::new()),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(untranslatable("tools", "`tools` must be an array")),
    };
    tools
        .iter()
        .enumerate()
        .map(|(k, tool)| {
            let kind = tool
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("function");
            if kind != "function" {
                return Err(untranslatable(
                    "tools",
                    format!(
                        "tools[{k}] has type `{kind}`; only function tools translate to Anthropic"
                    ),
                ));
            }
            let function = tool.get("function");
            let name = function
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    untranslatable("tools", format!("tools[{k}] has no `function.name`"))
                })?;
            let schema = match function.and_then(|f| f.get("parameters")) {
                None | Some(Value::Null) => json!({ "type": "object", "properties": {} }),
                Some(p @ Value::Object(_)) => p.clone(),
                Some(_) => {
                    return Err(untranslatable(
                        "tools",
                        format!("tools[{k}].function.parameters must be a JSON Schema object"),
                    ));
                }
            };
            let mut out = json!({ "name": name, "input_schema": schema });
            let description = function
                .and_then(|f| f.get("description"))
                .and_then(Value::as_str);
            if let (Some(d), Some(obj)) = (description, out.as_object_mut()) {
                obj.insert("description".into(), json!(d));
            }
            Ok(out)
        })
        .collect()
}

/// `tool_choice` plus `parallel_tool_calls: false` → Anthropic's `tool_choice` object.
fn tool_choice(req: &Object) -> Result<Option<Object>, UpstreamError> {
    let invalid = |why: &str| untranslatable("tool_choice", why.to_string());
    let mut choice = match present(req, "tool_choice") {
        None => None,
        Some(Value::String(s)) => Some(match s.as_str() {
            "auto" => json!({ "type": "auto" }),
            "none" => json!({ "type": "none" }),
            "required" => json!({ "type": "any" }),
            _ => {
                return Err(invalid(
                    "`tool_choice` must be auto, none, required or a function",
                ));
            }
        }),
        Some(obj @ Value::Object(_)) => {
            let name = obj.pointer("/function/name").and_then(Value::as_str);
            match (obj.get("type").and_then(Value::as_str), name) {
                (Some("function"), Some(name)) => Some(json!({ "type": "tool", "name": name })),
                _ => {
                    return Err(invalid(
                        "only `{type: function, function: {name}}` translates",
                    ));
                }
            }
        }
        Some(_) => return Err(invalid("`tool_choice` must be a string or an object")),
    }
    .and_then(|v| v.as_object().cloned());

    if boolean(req, "parallel_tool_calls")? == Some(false) {
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
    Ok(choice)
}

/// `response_format` json_schema → `output_config.format`; json_object has no equivalent.
fn output_config(req: &Object) -> Result<Option<Value>, UpstreamError> {
    let Some(format) = present(req, "response_format") else {
        return Ok(None);
    };
    match format.get("type").and_then(Value::as_str) {
        Some("json_schema") => match format.pointer("/json_schema/schema") {
            Some(schema @ Value::Object(_)) => Ok(Some(json!({
                "format": { "type": "json_schema", "schema": schema },
            }))),
            _ => {
                tracing::warn!("response_format json_schema without a schema object was dropped");
                Ok(None)
            }
        },
        Some("json_object") => {
            tracing::warn!(
                "response_format json_object has no Anthropic equivalent and was dropped"
            );
            Ok(None)
        }
        Some("text") => Ok(None),
        _ => Err(untranslatable(
            "response_format",
            "`response_format.type` must be text, json_object or json_schema",
        )),
    }
}

// --- Response helpers

/// Anthropic `stop_reason` → OpenAI `finish_reason` (§3.1; unknown and null read as a normal stop).
fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}

/// Anthropic usage → OpenAI usage; the prompt size includes both cache counters (§2.2).
fn openai_usage(usage: &Value) -> Value {
    let count = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
    let cache_read = count("cache_read_input_tokens");
    // Saturating: an absurd count from an upstream must not crash the gateway.
    let prompt = count("input_tokens")
        .saturating_add(count("cache_creation_input_tokens"))
        .saturating_add(cache_read);
    let completion = count("output_tokens");
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt.saturating_add(completion),
        "prompt_tokens_details": { "cached_tokens": cache_read },
    })
}

// --- Small accessors

/// A request field, treating explicit `null` like an absent field (OpenAI allows both).
fn present<'a>(req: &'a Object, key: &str) -> Option<&'a Value> {
    req.get(key).filter(|v| !v.is_null())
}

/// A request field of the type `get` extracts; any other non-null value is untranslatable.
fn typed<'a, T>(
    req: &'a Object,
    key: &str,
    get: impl Fn(&'a Value) -> Option<T>,
    what: &str,
) -> Result<Option<T>, UpstreamError> {
    present(req, key)
        .map(|v| get(v).ok_or_else(|| untranslatable(key, format!("`{key}` must be {what}"))))
        .transpose()
}

fn number<'a>(req: &'a Object, key: &str) -> Result<Option<&'a Value>, UpstreamError> {
    typed(req, key, |v| v.is_number().then_some(v), "a number")
}

fn string<'a>(req: &'a Object, key: &str) -> Result<Option<&'a str>, UpstreamError> {
    typed(req, key, Value::as_str, "a string")
}

fn boolean(req: &Object, key: &str) -> Result<Option<bool>, UpstreamError> {
    typed(req, key, Value::as_bool, "a boolean")
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn untranslatable(param: &str, message: impl Into<String>) -> UpstreamError {
    UpstreamError::Untranslatable {
        message: message.into(),
        param: Some(param.to_string()),
    }
}

fn bad_messages(message: impl Into<String>) -> UpstreamError {
    untranslatable("messages", message)
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
