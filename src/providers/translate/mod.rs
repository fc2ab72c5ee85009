//! What every translation shares: the OpenAI Chat Completions request read once into a
//! typed [`ChatRequest`] (messages, images, tools, tool calls and results, sampling knobs),
//! the rule that decides which request fields a provider may ignore and which it must
//! refuse ([`fields`]), and the building blocks of OpenAI-shaped answers and stream chunks
//! ([`answer`]). A provider folder renders a `ChatRequest` into its own body and reads its
//! answer into an [`answer::Answer`]; nothing here knows any provider's wire format.

pub mod answer;
pub mod fields;
mod options;
pub mod request;

pub use answer::{Answer, ChunkBuilder, ToolCall, Usage};
pub use request::{ChatRequest, Image, Part, ResponseFormat, Role, Tool, ToolChoice, Turn};

use serde_json::{Map, Value};

use super::UpstreamError;

/// A JSON object, as requests and answers are handled here.
pub type Object = Map<String, Value>;

/// A request field, treating explicit `null` like an absent field (OpenAI allows both).
pub fn present<'a>(req: &'a Object, key: &str) -> Option<&'a Value> {
    req.get(key).filter(|v| !v.is_null())
}

/// A request field of the type `get` extracts; any other non-null value is untranslatable.
pub fn typed<'a, T>(
    req: &'a Object,
    key: &str,
    get: impl Fn(&'a Value) -> Option<T>,
    what: &str,
) -> Result<Option<T>, UpstreamError> {
    present(req, key)
        .map(|v| get(v).ok_or_else(|| untranslatable(key, format!("`{key}` must be {what}"))))
        .transpose()
}

/// A numeric request field.
pub fn number(req: &Object, key: &str) -> Result<Option<f64>, UpstreamError> {
    typed(req, key, Value::as_f64, "a number")
}

/// A string request field.
pub fn string<'a>(req: &'a Object, key: &str) -> Result<Option<&'a str>, UpstreamError> {
    typed(req, key, Value::as_str, "a string")
}

/// A boolean request field.
pub fn boolean(req: &Object, key: &str) -> Result<Option<bool>, UpstreamError> {
    typed(req, key, Value::as_bool, "a boolean")
}

/// The string at `v[key]`, or `""`.
pub fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A float request value as JSON, keeping integral values integral (`1` stays `1`, as the
/// caller most likely wrote it), so a translated body repeats the caller's numbers exactly.
pub fn json_number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)]
        return Value::from(f as i64);
    }
    Value::from(f)
}

/// A request the target cannot express, naming the OpenAI request parameter at fault: a 400
/// for the primary, an `untranslatable` record for a shadow.
pub fn untranslatable(param: &str, message: impl Into<String>) -> UpstreamError {
    UpstreamError::Untranslatable {
        message: message.into(),
        param: Some(param.to_string()),
    }
}

/// A malformed or untranslatable `messages` array.
pub fn bad_messages(message: impl Into<String>) -> UpstreamError {
    untranslatable("messages", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves integral floats render as integers and fractional ones stay floats.
    #[test]
    fn json_number_keeps_the_callers_form() {
        assert_eq!(json_number(1.0), serde_json::json!(1));
        assert_eq!(json_number(-2.0), serde_json::json!(-2));
        assert_eq!(json_number(0.2), serde_json::json!(0.2));
        assert_eq!(json_number(1e300), serde_json::json!(1e300));
    }
}
