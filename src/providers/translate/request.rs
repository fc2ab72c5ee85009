//! The OpenAI Chat Completions request, read once into typed parts every translation
//! renders from: system texts, user/assistant turns (adjacent messages of one role merged,
//! tool results carried in user turns as every non-OpenAI API wants), images, tools and
//! the sampling knobs. Malformed input is an [`UpstreamError::Untranslatable`] naming the
//! request parameter, so no provider folder re-validates the same shapes.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::options::{read_response_format, read_stop, read_tool_choice, read_tools};
use super::{Object, UpstreamError, bad_messages, boolean, fields, number, string, typed};

/// A request, ready to render into any provider's body.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    /// System and developer message texts, in order (providers join or list them).
    pub system: Vec<String>,
    /// User and assistant turns; adjacent messages of the same role are one turn.
    pub turns: Vec<Turn>,
    /// Function tools offered to the model.
    pub tools: Vec<Tool>,
    /// `tool_choice`, only when tools were given (a choice without tools means nothing).
    pub tool_choice: Option<ToolChoice>,
    /// `parallel_tool_calls`.
    pub parallel_tool_calls: Option<bool>,
    /// `stop`, without empty strings.
    pub stop: Vec<String>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// `max_completion_tokens`, else `max_tokens`.
    pub max_tokens: Option<u64>,
    pub response_format: ResponseFormat,
    /// `safety_identifier`, else `user`: the end user's id, for providers that take one.
    pub user: Option<String>,
    /// `stream: true`.
    pub stream: bool,
    /// `seed`, `presence_penalty`, `frequency_penalty`, `n`: only read when the provider
    /// declared them native (see [`fields::check`]); otherwise a non-neutral value was refused.
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub n: Option<u64>,
}

/// Which side of the conversation a turn is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

/// One turn: the parts of one or more adjacent messages of the same role.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub role: Role,
    pub parts: Vec<Part>,
}

/// One piece of a turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Non-empty text (empty texts are dropped: most APIs reject empty text blocks).
    Text(String),
    Image(Image),
    /// An assistant's tool call; `arguments` is the parsed JSON object.
    ToolCall {
        id: String,
        name: String,
        arguments: Value,
    },
    /// A `tool` message's result. `name` is the called function's, found from the earlier
    /// assistant tool call with the same id (Gemini keys results by name, not id).
    ToolResult {
        id: String,
        name: Option<String>,
        /// The result as text and images; a string result is one text part.
        content: Vec<Part>,
        /// Whether the result was given as a plain string (some APIs keep that form).
        plain: bool,
    },
}

/// An image part.
#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    /// `data:<mime>;base64,<data>`.
    Data { mime: String, data: String },
    /// An http(s) URL the provider would have to fetch itself.
    Url(String),
}

/// A function tool.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// The JSON Schema of the arguments (an empty object schema when none was given).
    pub parameters: Value,
}

/// `tool_choice`.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Function(String),
}

/// `response_format`.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ResponseFormat {
    #[default]
    Text,
    JsonObject,
    JsonSchema {
        name: Option<String>,
        schema: Value,
        strict: Option<bool>,
    },
}

impl ChatRequest {
    /// Reads `req` for `provider` (named in messages, e.g. "Bedrock"), after checking every
    /// top-level field against what the provider can express: `native` lists the optional
    /// fields it has an equivalent for (see [`fields::check`]).
    pub fn parse(req: &Object, provider: &str, native: &[&str]) -> Result<Self, UpstreamError> {
        fields::check(req, provider, native)?;
        let (system, turns) = read_messages(req.get("messages"), provider)?;
        let tools = read_tools(req, provider)?;
        let tool_choice = if tools.is_empty() {
            None
        } else {
            read_tool_choice(req)?
        };
        let integer = "a non-negative integer";
        let max_tokens = match typed(req, "max_completion_tokens", Value::as_u64, integer)? {
            Some(n) => Some(n),
            None => typed(req, "max_tokens", Value::as_u64, integer)?,
        };
        let user = match string(req, "safety_identifier")? {
            Some(id) => Some(id.to_string()),
            None => string(req, "user")?.map(str::to_string),
        };
        Ok(Self {
            system,
            turns,
            tools,
            tool_choice,
            parallel_tool_calls: boolean(req, "parallel_tool_calls")?,
            stop: read_stop(req)?,
            temperature: number(req, "temperature")?,
            top_p: number(req, "top_p")?,
            max_tokens,
            response_format: read_response_format(req)?,
            user,
            stream: boolean(req, "stream")? == Some(true),
            seed: typed(req, "seed", Value::as_i64, "an integer")?,
            presence_penalty: number(req, "presence_penalty")?,
            frequency_penalty: number(req, "frequency_penalty")?,
            n: typed(req, "n", Value::as_u64, "a positive integer")?,
        })
    }

    /// Refuses a conversation whose first turn is the assistant's (Anthropic and Bedrock
    /// need the user to speak first).
    pub fn require_user_first(&self, provider: &str) -> Result<(), UpstreamError> {
        match self.turns.first() {
            Some(t) if t.role == Role::Assistant => Err(bad_messages(format!(
                "the first non-system message is an assistant one; {provider} needs a user turn first"
            ))),
            _ => Ok(()),
        }
    }

    /// The system texts joined by blank lines, or `None` when there are none.
    pub fn system_text(&self) -> Option<String> {
        (!self.system.is_empty()).then(|| self.system.join("\n\n"))
    }

    /// Drops turns without parts (an empty message says nothing) and merges the neighbours
    /// that dropping leaves side by side, for APIs that reject empty content and need the
    /// roles to alternate (Bedrock). An error when no turn is left.
    pub fn drop_empty_turns(&mut self, provider: &str) -> Result<(), UpstreamError> {
        let mut turns: Vec<Turn> = Vec::with_capacity(self.turns.len());
        for turn in std::mem::take(&mut self.turns) {
            match turns.last_mut() {
                _ if turn.parts.is_empty() => {}
                Some(last) if last.role == turn.role => last.parts.extend(turn.parts),
                _ => turns.push(turn),
            }
        }
        if turns.is_empty() {
            return Err(bad_messages(format!(
                "every user and assistant message is empty; {provider} needs some content"
            )));
        }
        self.turns = turns;
        Ok(())
    }
}

/// Splits OpenAI `messages` into system texts and merged user/assistant turns.
fn read_messages(
    messages: Option<&Value>,
    provider: &str,
) -> Result<(Vec<String>, Vec<Turn>), UpstreamError> {
    let messages = messages
        .and_then(Value::as_array)
        .ok_or_else(|| bad_messages("`messages` must be an array of messages"))?;
    let mut system = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    // Tool call id → function name, for tool results that follow.
    let mut called: HashMap<String, String> = HashMap::new();

    for (i, msg) in messages.iter().enumerate() {
        let msg = msg
            .as_object()
            .ok_or_else(|| bad_messages(format!("messages[{i}] is not an object")))?;
        let content = msg.get("content").unwrap_or(&Value::Null);
        let (role, parts) = match msg.get("role").and_then(Value::as_str) {
            Some("system" | "developer") => {
                system.extend(system_texts(content, i, provider)?);
                continue;
            }
            Some("user") => (Role::User, content_parts(content, i, provider)?),
            Some("assistant") => {
                let mut parts = content_parts(content, i, provider)?;
                let calls = tool_calls(msg.get("tool_calls"), i)?;
                for c in &calls {
                    if let Part::ToolCall { id, name, .. } = c {
                        called.insert(id.clone(), name.clone());
                    }
                }
                parts.extend(calls);
                (Role::Assistant, parts)
            }
            // Every non-OpenAI API carries tool results inside user turns.
            Some("tool") => (
                Role::User,
                vec![tool_result(msg, content, i, provider, &called)?],
            ),
            Some("function") => {
                return Err(bad_messages(format!(
                    "messages[{i}] has the legacy role `function`, which {provider} cannot express; use `tools` and `tool` messages"
                )));
            }
            Some(other) => {
                return Err(bad_messages(format!(
                    "messages[{i}] has role `{other}`, which {provider} cannot express"
                )));
            }
            None => return Err(bad_messages(format!("messages[{i}] has no valid `role`"))),
        };
        match turns.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => turns.push(Turn { role, parts }),
        }
    }
    if turns.is_empty() {
        return Err(bad_messages(format!(
            "`messages` has no user or assistant message; {provider} needs at least one"
        )));
    }
    Ok((system, turns))
}

/// Texts of a system/developer message: a string, or an array of text parts.
fn system_texts(content: &Value, i: usize, provider: &str) -> Result<Vec<String>, UpstreamError> {
    content_parts(content, i, provider)?
        .into_iter()
        .map(|p| match p {
            Part::Text(t) => Ok(t),
            _ => Err(bad_messages(format!(
                "messages[{i}] is a system message with a non-text part; {provider}'s is text only"
            ))),
        })
        .collect()
}

/// Content of a message as parts; empty texts are dropped.
fn content_parts(content: &Value, i: usize, provider: &str) -> Result<Vec<Part>, UpstreamError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![Part::Text(s.clone())]),
        Value::Array(items) => {
            let mut parts = Vec::with_capacity(items.len());
            for (j, item) in items.iter().enumerate() {
                if let Some(p) = content_part(item, i, j, provider)? {
                    parts.push(p);
                }
            }
            Ok(parts)
        }
        _ => Err(bad_messages(format!(
            "messages[{i}].content must be a string, an array of content parts, or null"
        ))),
    }
}

/// One OpenAI content part (`None` for an empty text).
fn content_part(
    part: &Value,
    i: usize,
    j: usize,
    provider: &str,
) -> Result<Option<Part>, UpstreamError> {
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
            return image(url, &at()).map(|img| Some(Part::Image(img)));
        }
        Some(other) => {
            return Err(bad_messages(format!(
                "{} has type `{other}`, which {provider} cannot accept",
                at()
            )));
        }
        None => return Err(bad_messages(format!("{} has no `type`", at()))),
    };
    Ok((!text.is_empty()).then(|| Part::Text(text.to_string())))
}

/// `data:<mime>;base64,<data>` or an http(s) URL.
pub fn image(url: &str, at: &str) -> Result<Image, UpstreamError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let parsed = rest
            .split_once(',')
            .and_then(|(head, data)| Some((head.strip_suffix(";base64")?, data)))
            .filter(|(mime, data)| !mime.is_empty() && !data.is_empty());
        let (mime, data) = parsed.ok_or_else(|| {
            bad_messages(format!(
                "{at} is a data URL but not `data:<mime>;base64,<data>`"
            ))
        })?;
        return Ok(Image::Data {
            mime: mime.to_string(),
            data: data.to_string(),
        });
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(Image::Url(url.to_string()));
    }
    Err(bad_messages(format!(
        "{at} has an image URL that is neither https nor a base64 data URL"
    )))
}

/// Assistant `tool_calls` → tool-call parts with parsed arguments.
fn tool_calls(calls: Option<&Value>, i: usize) -> Result<Vec<Part>, UpstreamError> {
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
            let arguments = tool_arguments(function.and_then(|f| f.get("arguments")), &at)?;
            Ok(Part::ToolCall {
                id: id.to_string(),
                name: name.to_string(),
                arguments,
            })
        })
        .collect()
}

/// Parses `function.arguments` (a string holding a JSON object) into an object.
pub fn tool_arguments(arguments: Option<&Value>, at: &str) -> Result<Value, UpstreamError> {
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
            "{at}.function.arguments must be a JSON object"
        )))
    }
}

/// A `tool` message → a tool-result part.
fn tool_result(
    msg: &Object,
    content: &Value,
    i: usize,
    provider: &str,
    called: &HashMap<String, String>,
) -> Result<Part, UpstreamError> {
    let id = msg
        .get("tool_call_id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad_messages(format!(
                "messages[{i}] is a tool message without `tool_call_id`"
            ))
        })?;
    let (content, plain) = match content {
        Value::String(s) => (vec![Part::Text(s.clone())], true),
        _ => (content_parts(content, i, provider)?, false),
    };
    Ok(Part::ToolResult {
        id: id.to_string(),
        name: called.get(id).cloned(),
        content,
        plain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves empty turns are dropped, the neighbours they separated merge, and nothing left is an error.
    #[test]
    fn drop_empty_turns_merges_neighbours() {
        let turn = |role, parts: &[&str]| Turn {
            role,
            parts: parts.iter().map(|t| Part::Text((*t).into())).collect(),
        };
        let mut chat = ChatRequest {
            turns: vec![
                turn(Role::User, &["a"]),
                turn(Role::Assistant, &[]),
                turn(Role::User, &["b"]),
                turn(Role::Assistant, &["c"]),
            ],
            ..ChatRequest::default()
        };
        assert!(chat.drop_empty_turns("X").is_ok());
        assert_eq!(
            chat.turns,
            vec![turn(Role::User, &["a", "b"]), turn(Role::Assistant, &["c"])]
        );
        let mut empty = ChatRequest {
            turns: vec![turn(Role::User, &[])],
            ..ChatRequest::default()
        };
        assert!(matches!(
            empty.drop_empty_turns("X"),
            Err(UpstreamError::Untranslatable { .. })
        ));
    }
}
