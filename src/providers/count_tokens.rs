//! Token counting (`POST /v1/messages/count_tokens`) by each kind's own counting API: the
//! caller's Anthropic body for Anthropic and Claude on Vertex, kt's translation of it for
//! Bedrock (`CountTokens` with a Converse body: what kt sends Bedrock for `/v1/messages`)
//! and Gemini (`countTokens`, Gemini API or Vertex). The simulator counts as its answers
//! do; OpenAI and Azure OpenAI have no counting API for Chat Completions.

use serde_json::{Map, Value, json};

use super::client::{Format, Provider, Wire};
use super::{UpstreamError, bedrock, gemini, simulated, token_count, vertex};
use crate::config::ProviderKind;

type Object = Map<String, Value>;

/// How the target counts a request's input tokens.
#[derive(Debug)]
pub enum CountPlan {
    /// Call the target's counting API.
    Call(Wire),
    /// The simulator's count: no call.
    Counted(u64),
    /// The kind has no token-counting API.
    Unsupported,
}

/// Messages fields that only steer generation. Anthropic's count_tokens body has none of
/// them (provider-apis-more.md §6.1), so a caller counting a whole Messages body gets its
/// count instead of an "extra inputs" error.
const GENERATION_ONLY: &[&str] = &[
    "max_tokens",
    "stream",
    "metadata",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "service_tier",
];

impl Provider {
    /// The counting call for `body` (an Anthropic Messages body without `max_tokens`) and
    /// `model`. `chat` gives kt's internal request for the kinds whose body is translated;
    /// it is only called for them, so a body kt cannot translate still reaches Anthropic.
    pub fn plan_count(
        &self,
        body: &Object,
        model: &str,
        chat: impl FnOnce() -> Result<Object, UpstreamError>,
    ) -> Result<CountPlan, UpstreamError> {
        let call = |path: String, body: Value, format: Format| {
            Ok(CountPlan::Call(Wire {
                path,
                body,
                format,
                model: model.to_string(),
                stream: false,
            }))
        };
        match self.kind {
            ProviderKind::Anthropic => call(
                "/v1/messages/count_tokens".into(),
                Value::Object(anthropic_body(body)),
                Format::Anthropic,
            ),
            ProviderKind::Vertex => {
                let t = self.target();
                let path = vertex::endpoint::count_tokens_path(
                    t.project.as_deref().unwrap_or_default(),
                    t.location.as_deref().unwrap_or_default(),
                    model,
                );
                if vertex::endpoint::is_claude(model) {
                    // As Anthropic's Vertex client sends it: `model` stays in the body.
                    let mut b = anthropic_body(body);
                    b.entry("anthropic_version")
                        .or_insert_with(|| json!(vertex::CLAUDE_VERSION));
                    call(path, Value::Object(b), Format::Anthropic)
                } else {
                    let g = vertex::gemini_body(&chat()?)?;
                    call(path, vertex_gemini_body(g), Format::Gemini)
                }
            }
            ProviderKind::Gemini => {
                let g = gemini::to_gemini_request(&chat()?)?;
                call(
                    gemini::method_path(model, "countTokens"),
                    gemini_api_body(g, model),
                    Format::Gemini,
                )
            }
            ProviderKind::Bedrock => {
                let c = bedrock::to_converse_request(&chat()?, model)?;
                call(
                    bedrock::sigv4::count_tokens_path(model),
                    converse_body(c),
                    Format::Converse,
                )
            }
            ProviderKind::Simulated => Ok(CountPlan::Counted(simulated::input_tokens(&chat()?))),
            ProviderKind::OpenAi | ProviderKind::AzureOpenAi => Ok(CountPlan::Unsupported),
        }
    }

    /// Makes a counting call planned by [`Provider::plan_count`]: the input tokens.
    pub async fn count_tokens(&self, w: &Wire) -> Result<u64, UpstreamError> {
        let answer = self.post_json(w, None).await?;
        read_count(w.format, &answer)
    }
}

/// The count in a counting answer: Anthropic's `input_tokens`, Bedrock's `inputTokens`,
/// Gemini's `totalTokens`.
fn read_count(format: Format, answer: &Value) -> Result<u64, UpstreamError> {
    let field = match format {
        Format::Anthropic => "input_tokens",
        Format::Converse => "inputTokens",
        Format::Gemini => "totalTokens",
        Format::OpenAi | Format::Responses => "prompt_tokens",
    };
    answer.get(field).and_then(token_count).ok_or_else(|| {
        UpstreamError::InvalidResponse(format!("the token count answer has no `{field}`"))
    })
}

/// The caller's body without the generation-only fields.
fn anthropic_body(body: &Object) -> Object {
    body.iter()
        .filter(|(k, _)| !GENERATION_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Bedrock `CountTokens` (provider-apis-more.md §2.8): the Converse body's parts that make
/// up the input, under `input.converse`; `inferenceConfig` is not part of it.
fn converse_body(converse: Value) -> Value {
    let mut input = Object::new();
    for key in [
        "messages",
        "system",
        "toolConfig",
        "additionalModelRequestFields",
    ] {
        if let Some(v) = converse.get(key) {
            input.insert(key.into(), v.clone());
        }
    }
    json!({"input": {"converse": input}})
}

/// The Gemini API's `countTokens`: the whole `generateContent` body as
/// `generateContentRequest` (with `contents` alone, the system instruction and tools would
/// not be counted), which must name its model.
fn gemini_api_body(mut generate: Value, model: &str) -> Value {
    if let Some(obj) = generate.as_object_mut() {
        let model = model.strip_prefix("models/").unwrap_or(model);
        obj.insert("model".into(), json!(format!("models/{model}")));
    }
    json!({"generateContentRequest": generate})
}

/// Vertex's `countTokens` takes the input parts at the top level (`contents`,
/// `systemInstruction`, `tools`), not a whole `generateContent` body.
fn vertex_gemini_body(generate: Value) -> Value {
    let mut out = Object::new();
    for key in ["contents", "systemInstruction", "tools"] {
        if let Some(v) = generate.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves generation-only fields are dropped and everything else (tools, thinking) kept.
    #[test]
    fn anthropic_body_drops_generation_fields() {
        let body = json!({"model": "claude-x", "max_tokens": 5, "stream": true, "temperature": 1,
                          "messages": [], "tools": [], "thinking": {"type": "enabled"}});
        let out = anthropic_body(body.as_object().unwrap());
        let keys: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(keys, ["model", "messages", "tools", "thinking"]);
    }

    // Proves each counting body takes the input parts of the rendered request only.
    #[test]
    fn counting_bodies_keep_the_input_parts() {
        let converse = json!({"messages": [1], "system": [2], "inferenceConfig": {"maxTokens": 1},
                              "toolConfig": {"tools": []}});
        assert_eq!(
            converse_body(converse),
            json!({"input": {"converse": {"messages": [1], "system": [2], "toolConfig": {"tools": []}}}})
        );
        let generate = json!({"contents": [1], "systemInstruction": {"parts": []},
                              "generationConfig": {"maxOutputTokens": 1}});
        assert_eq!(
            vertex_gemini_body(generate.clone()),
            json!({"contents": [1], "systemInstruction": {"parts": []}})
        );
        assert_eq!(
            gemini_api_body(generate, "models/gemini-2.5-flash")["generateContentRequest"]["model"],
            "models/gemini-2.5-flash"
        );
    }

    // Proves each format's count field is read, and an answer without it is an error.
    #[test]
    fn counts_are_read_by_format() {
        let read = |f, v: Value| read_count(f, &v);
        assert_eq!(
            read(Format::Anthropic, json!({"input_tokens": 7})).unwrap(),
            7
        );
        assert_eq!(
            read(Format::Converse, json!({"inputTokens": 8})).unwrap(),
            8
        );
        assert_eq!(read(Format::Gemini, json!({"totalTokens": 9})).unwrap(), 9);
        assert!(matches!(
            read(Format::Gemini, json!({"tokens": 9})),
            Err(UpstreamError::InvalidResponse(_))
        ));
    }
}
