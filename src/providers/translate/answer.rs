//! OpenAI-shaped answers from any provider: an [`Answer`] (text, tool calls, finish reason,
//! usage) becomes a `chat.completion` [`Completion`], and a [`ChunkBuilder`] makes the
//! `chat.completion.chunk`s of a translated stream, so every provider folder reads its own
//! format and nothing else.

use serde_json::{Map, Value, json};

use super::{Object, UpstreamError};
use crate::providers::Completion;
use crate::providers::stream::{chunk, usage_chunk};

/// Token usage as a provider reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// All prompt tokens, cached ones included (OpenAI's `prompt_tokens`).
    pub input: u64,
    pub output: u64,
    /// Prompt tokens served from a cache, when reported.
    pub cached: Option<u64>,
    /// Output tokens spent on reasoning, when reported (included in `output`).
    pub reasoning: Option<u64>,
}

impl Usage {
    /// OpenAI's `usage` object.
    pub fn to_openai(self) -> Value {
        let mut u = json!({
            "prompt_tokens": self.input,
            "completion_tokens": self.output,
            "total_tokens": self.input.saturating_add(self.output),
        });
        if let Some(obj) = u.as_object_mut() {
            if let Some(c) = self.cached {
                obj.insert(
                    "prompt_tokens_details".into(),
                    json!({ "cached_tokens": c }),
                );
            }
            if let Some(r) = self.reasoning {
                obj.insert(
                    "completion_tokens_details".into(),
                    json!({ "reasoning_tokens": r }),
                );
            }
        }
        u
    }
}

/// One tool call of an answer; `arguments` is JSON text, as OpenAI clients expect.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// A whole answer in provider-neutral form.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub id: String,
    pub model: String,
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    /// OpenAI's `finish_reason` (the provider folder maps its own).
    pub finish_reason: &'static str,
    pub usage: Option<Usage>,
    /// Extra top-level fields to keep (e.g. Azure's `prompt_filter_results`).
    pub extra: Object,
}

impl Answer {
    /// The `chat.completion` object and its [`Completion`] summary.
    pub fn into_completion(self, created: u64) -> Result<Completion, UpstreamError> {
        let mut message = Object::new();
        message.insert("role".into(), json!("assistant"));
        let content = if self.text.is_empty() && !self.tool_calls.is_empty() {
            Value::Null
        } else {
            json!(self.text)
        };
        message.insert("content".into(), content);
        message.insert("refusal".into(), Value::Null);
        if !self.tool_calls.is_empty() {
            let calls: Vec<Value> = self
                .tool_calls
                .iter()
                .map(|c| {
                    json!({"id": c.id, "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments}})
                })
                .collect();
            message.insert("tool_calls".into(), Value::Array(calls));
        }
        let mut out = Object::new();
        out.insert("id".into(), json!(self.id));
        out.insert("object".into(), json!("chat.completion"));
        out.insert("created".into(), json!(created));
        out.insert("model".into(), json!(self.model));
        out.insert(
            "choices".into(),
            json!([{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": self.finish_reason,
            }]),
        );
        if let Some(u) = self.usage {
            out.insert("usage".into(), u.to_openai());
        }
        out.extend(self.extra);
        Completion::from_openai_body(out)
    }
}

/// Tool-call arguments as JSON text: a missing or null input is `{}`.
pub fn arguments_text(input: Option<&Value>) -> String {
    input
        .filter(|i| !i.is_null())
        .map_or_else(|| "{}".to_string(), Value::to_string)
}

/// Builds the chunks of one translated stream (same id, model and timestamp throughout).
#[derive(Debug, Clone, Default)]
pub struct ChunkBuilder {
    pub id: String,
    pub model: String,
    pub created: u64,
}

impl ChunkBuilder {
    pub fn new(id: impl Into<String>, model: impl Into<String>, created: u64) -> Self {
        Self {
            id: id.into(),
            model: model.into(),
            created,
        }
    }

    /// The first chunk: the assistant role with empty content.
    pub fn role(&self) -> Map<String, Value> {
        self.delta(json!({"role": "assistant", "content": ""}), None)
    }

    /// A text delta.
    pub fn text(&self, text: &str) -> Map<String, Value> {
        self.delta(json!({ "content": text }), None)
    }

    /// The start of tool call `index`, with its id and name (arguments follow).
    pub fn tool_start(&self, index: u64, id: &str, name: &str) -> Map<String, Value> {
        self.delta(
            json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
            None,
        )
    }

    /// A piece of tool call `index`'s arguments.
    pub fn tool_arguments(&self, index: u64, delta: &str) -> Map<String, Value> {
        self.delta(
            json!({"tool_calls": [{"index": index, "function": {"arguments": delta}}]}),
            None,
        )
    }

    /// The chunk carrying the finish reason.
    pub fn finish(&self, reason: &str) -> Map<String, Value> {
        self.delta(json!({}), Some(reason))
    }

    /// The final usage-only chunk (with cached/reasoning details when known).
    pub fn usage(&self, u: Usage) -> Map<String, Value> {
        let mut c = usage_chunk(&self.id, &self.model, self.created, u.input, u.output);
        c.insert("usage".into(), u.to_openai());
        c
    }

    fn delta(&self, delta: Value, finish: Option<&str>) -> Map<String, Value> {
        chunk(&self.id, &self.model, self.created, delta, finish)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves an answer with a tool call becomes a chat.completion with null content and usage details.
    #[test]
    fn answer_renders_openai_shape() {
        let a = Answer {
            id: "x".into(),
            model: "m".into(),
            text: String::new(),
            tool_calls: vec![ToolCall {
                id: "c1".into(),
                name: "f".into(),
                arguments: "{\"a\":1}".into(),
            }],
            finish_reason: "tool_calls",
            usage: Some(Usage {
                input: 10,
                output: 5,
                cached: Some(4),
                reasoning: Some(2),
            }),
            extra: Object::new(),
        };
        let c = a.into_completion(9).unwrap();
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!((c.input_tokens, c.output_tokens), (Some(10), Some(5)));
        assert!(c.tool_calls.unwrap().contains("\"a\":1"));
        assert_eq!(c.body["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(c.body["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
        assert_eq!(
            c.body["usage"]["completion_tokens_details"]["reasoning_tokens"],
            2
        );
    }
}
