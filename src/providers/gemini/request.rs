//! OpenAI Chat Completions request → Gemini `generateContent` body (provider-apis-more.md
//! §3.2, §3.7), rendered from the shared [`ChatRequest`]. The same body serves AI Studio and
//! Vertex AI (§4.1); the model and the streaming choice live in the URL, not here. Pure: no
//! network, so every rule is unit-tested.

use serde_json::{Value, json};

use crate::providers::UpstreamError;
use crate::providers::translate::{
    ChatRequest, Image, Object, Part, ResponseFormat, Role, Tool, ToolChoice, Turn, bad_messages,
    json_number, untranslatable,
};

/// Optional OpenAI fields Gemini has a `generationConfig` equivalent for. `n` stays refused:
/// kt answers with one choice, so `candidateCount > 1` would be paid for and thrown away.
pub const NATIVE: [&str; 3] = ["seed", "presence_penalty", "frequency_penalty"];

/// Gemini's documented limit on `generationConfig.stopSequences`.
pub const MAX_STOP_SEQUENCES: usize = 5;

/// Google's documented `thoughtSignature` for function calls the current call did not see
/// the model produce. Gemini 3 answers 400 when a replayed model turn's first function call
/// has no signature, and OpenAI-shaped history cannot carry the real one.
pub const FOREIGN_THOUGHT_SIGNATURE: &str = "skip_thought_signature_validator";

/// OpenAI Chat Completions request body → Gemini `generateContent` request body.
///
/// Anything Gemini cannot express (`n > 1`, `logprobs`, `parallel_tool_calls: false`, more
/// than five stop sequences, images by URL, images inside tool results, a tool result whose
/// call is not in the history, malformed messages) is an [`UpstreamError::Untranslatable`]
/// naming the offending request parameter.
pub fn to_gemini_request(req: &Object) -> Result<Value, UpstreamError> {
    render(&ChatRequest::parse(req, "Gemini", &NATIVE)?)
}

/// Renders a parsed request (AI Studio and Vertex AI share this body). Parse it with
/// [`NATIVE`] so seed and penalties are read.
pub fn render(chat: &ChatRequest) -> Result<Value, UpstreamError> {
    // Gemini may always call several functions at once and has no switch to forbid it
    // (without tools the flag asks for nothing, so it is ignored then).
    if chat.parallel_tool_calls == Some(false) && !chat.tools.is_empty() {
        return Err(untranslatable(
            "parallel_tool_calls",
            "`parallel_tool_calls: false` has no Gemini equivalent (Gemini may always call several functions at once)",
        ));
    }
    let mut out = Object::new();
    if let Some(system) = chat.system_text() {
        out.insert(
            "systemInstruction".into(),
            json!({ "parts": [{ "text": system }] }),
        );
    }
    let contents = contents(&chat.turns)?;
    if contents.is_empty() {
        return Err(bad_messages(
            "no user or assistant message has content; Gemini needs at least one",
        ));
    }
    out.insert("contents".into(), Value::Array(contents));
    if !chat.tools.is_empty() {
        let declarations: Vec<Value> = chat.tools.iter().map(declaration).collect();
        out.insert(
            "tools".into(),
            json!([{ "functionDeclarations": declarations }]),
        );
        if let Some(choice) = &chat.tool_choice {
            out.insert(
                "toolConfig".into(),
                json!({ "functionCallingConfig": calling_config(choice) }),
            );
        }
    }
    let config = generation_config(chat)?;
    if !config.is_empty() {
        out.insert("generationConfig".into(), Value::Object(config));
    }
    Ok(Value::Object(out))
}

/// `generationConfig`: sampling knobs, stop sequences and the response format.
fn generation_config(chat: &ChatRequest) -> Result<Object, UpstreamError> {
    let mut c = Object::new();
    if let Some(n) = chat.max_tokens {
        c.insert("maxOutputTokens".into(), json!(n));
    }
    // Gemini's temperature range is 0–2 like OpenAI's, so values pass unchanged.
    if let Some(t) = chat.temperature {
        c.insert("temperature".into(), json_number(t));
    }
    if let Some(p) = chat.top_p {
        c.insert("topP".into(), json_number(p));
    }
    if chat.stop.len() > MAX_STOP_SEQUENCES {
        return Err(untranslatable(
            "stop",
            format!(
                "`stop` has {} sequences; Gemini accepts at most {MAX_STOP_SEQUENCES}",
                chat.stop.len()
            ),
        ));
    }
    if !chat.stop.is_empty() {
        c.insert("stopSequences".into(), json!(chat.stop));
    }
    if let Some(seed) = chat.seed {
        c.insert("seed".into(), json!(seed));
    }
    // A zero penalty asks for nothing (OpenAI clients often send it as a default), and not
    // every Gemini model accepts penalties, so only a real one is forwarded.
    if let Some(p) = chat.presence_penalty.filter(|p| *p != 0.0) {
        c.insert("presencePenalty".into(), json_number(p));
    }
    if let Some(f) = chat.frequency_penalty.filter(|f| *f != 0.0) {
        c.insert("frequencyPenalty".into(), json_number(f));
    }
    match &chat.response_format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject => {
            c.insert("responseMimeType".into(), json!("application/json"));
        }
        // `responseJsonSchema` takes plain JSON Schema; `responseSchema` would need the
        // OpenAPI subset (upper-case types, no `const`, `$ref`, …). Gemini always holds to
        // the schema, so OpenAI's `strict` and the schema's `name` have nothing to map to.
        ResponseFormat::JsonSchema { schema, .. } => {
            c.insert("responseMimeType".into(), json!("application/json"));
            c.insert("responseJsonSchema".into(), schema.clone());
        }
    }
    Ok(c)
}

/// Turns → `contents`. Turns left without parts (an empty assistant message) are dropped,
/// since Gemini rejects a content with no parts, and neighbours of one role are merged.
fn contents(turns: &[Turn]) -> Result<Vec<Value>, UpstreamError> {
    let mut out: Vec<(Role, Vec<Value>)> = Vec::new();
    for turn in turns {
        let mut parts = turn
            .parts
            .iter()
            .map(part)
            .collect::<Result<Vec<Value>, _>>()?;
        if parts.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some((role, last)) if *role == turn.role => last.append(&mut parts),
            _ => out.push((turn.role, parts)),
        }
    }
    Ok(out
        .into_iter()
        .map(|(role, mut parts)| {
            let role = match role {
                Role::User => {
                    // Function responses answer the model turn just before; keep them ahead
                    // of any user text that was merged into the same turn.
                    parts.sort_by_key(|p| p.get("functionResponse").is_none());
                    "user"
                }
                Role::Assistant => {
                    sign_first_call(&mut parts);
                    "model"
                }
            };
            json!({ "role": role, "parts": parts })
        })
        .collect())
}

/// Puts [`FOREIGN_THOUGHT_SIGNATURE`] on a model turn's first function call: the only part
/// Gemini 3 checks, and the signatures of parallel calls after it are optional.
fn sign_first_call(parts: &mut [Value]) {
    if let Some(Value::Object(p)) = parts.iter_mut().find(|p| p.get("functionCall").is_some()) {
        p.insert("thoughtSignature".into(), json!(FOREIGN_THOUGHT_SIGNATURE));
    }
}

/// One part. Function calls and responses carry no `id`: both Vertex and (for some
/// models) AI Studio reject the field in requests, and Gemini pairs them by name and order.
fn part(p: &Part) -> Result<Value, UpstreamError> {
    Ok(match p {
        Part::Text(t) => json!({ "text": t }),
        Part::Image(img) => image(img)?,
        Part::ToolCall {
            name, arguments, ..
        } => json!({ "functionCall": { "name": name, "args": arguments } }),
        Part::ToolResult {
            id, name, content, ..
        } => {
            let name = name.as_deref().ok_or_else(|| {
                bad_messages(format!(
                    "the tool message for `{id}` answers no earlier assistant tool call; Gemini needs the called function's name"
                ))
            })?;
            json!({ "functionResponse": { "name": name, "response": { "output": result_text(id, content)? } } })
        }
    })
}

/// A tool result's text: Gemini's `response` must be an object, and the API documents
/// `output` as the key for a function's output. Text parts join with newlines.
fn result_text(id: &str, content: &[Part]) -> Result<String, UpstreamError> {
    let mut texts = Vec::with_capacity(content.len());
    for p in content {
        match p {
            Part::Text(t) => texts.push(t.as_str()),
            _ => {
                return Err(bad_messages(format!(
                    "the tool message for `{id}` holds an image; Gemini's functionResponse carries text only"
                )));
            }
        }
    }
    Ok(texts.join("\n"))
}

/// A data-URL image → `inlineData`. Gemini fetches nothing by URL (`fileData` takes only
/// Cloud Storage or Files API URIs), and kt fetching arbitrary URLs would be an SSRF risk.
fn image(img: &Image) -> Result<Value, UpstreamError> {
    match img {
        Image::Data { mime, data } => {
            Ok(json!({ "inlineData": { "mimeType": mime, "data": data } }))
        }
        Image::Url(_) => Err(bad_messages(
            "an image is given by http(s) URL; Gemini takes images only inline, so send a base64 data URL",
        )),
    }
}

/// `tools[].function` → a function declaration. `parametersJsonSchema` takes plain JSON
/// Schema as OpenAI callers write it; `parameters` would need the OpenAPI subset.
fn declaration(t: &Tool) -> Value {
    let mut d = Object::new();
    d.insert("name".into(), json!(t.name));
    if let Some(desc) = &t.description {
        d.insert("description".into(), json!(desc));
    }
    d.insert("parametersJsonSchema".into(), t.parameters.clone());
    Value::Object(d)
}

/// `tool_choice` → `functionCallingConfig`.
fn calling_config(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!({ "mode": "AUTO" }),
        ToolChoice::None => json!({ "mode": "NONE" }),
        ToolChoice::Required => json!({ "mode": "ANY" }),
        ToolChoice::Function(name) => json!({ "mode": "ANY", "allowedFunctionNames": [name] }),
    }
}
