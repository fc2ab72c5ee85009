//! Which Chat Completions request fields a translated provider may ignore, and which it must
//! refuse. kt never drops a field that would change the answer: a field outside the core set
//! that the provider has no equivalent for is refused (a 400 naming it for the primary, an
//! `untranslatable` record for a shadow), unless its value is the neutral one (`n: 1`,
//! `logprobs: false`, a zero penalty, an empty `logit_bias`), which asks for nothing.

use serde_json::Value;

use super::{Object, UpstreamError, untranslatable};

/// Fields [`super::ChatRequest::parse`] reads for every provider.
pub const CORE: [&str; 15] = [
    "model",
    "messages",
    "max_completion_tokens",
    "max_tokens",
    "stop",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "user",
    "safety_identifier",
    "stream",
    "stream_options",
    "response_format",
];

/// Fields that never change the answer's content, so a provider without them ignores them:
/// OpenAI-side storage and tagging (`store`, `metadata`), billing tier (`service_tier`) and
/// prompt-cache routing hints. The README lists them once.
pub const IGNORED: [&str; 5] = [
    "store",
    "metadata",
    "service_tier",
    "prompt_cache_key",
    "prompt_cache_retention",
];

/// Optional fields a provider may declare native (it has an equivalent); any other value of
/// these is refused. Listed so the refusal can say what the field does.
pub const OPTIONAL: [(&str, &str); 14] = [
    ("n", "several choices per request"),
    ("seed", "deterministic sampling"),
    ("presence_penalty", "a presence penalty"),
    ("frequency_penalty", "a frequency penalty"),
    ("logit_bias", "token biases"),
    ("logprobs", "log probabilities"),
    ("top_logprobs", "log probabilities"),
    ("functions", "legacy function calling (use `tools`)"),
    (
        "function_call",
        "legacy function calling (use `tool_choice`)",
    ),
    ("reasoning_effort", "a reasoning effort"),
    ("modalities", "output modalities"),
    ("audio", "audio output"),
    ("prediction", "predicted outputs"),
    ("web_search_options", "OpenAI's built-in web search"),
];

/// Refuses the first field of `req` that `provider` cannot express. `native` lists the
/// optional fields the provider translates itself (e.g. Gemini's `seed`).
pub fn check(req: &Object, provider: &str, native: &[&str]) -> Result<(), UpstreamError> {
    for (key, value) in req {
        let k = key.as_str();
        if CORE.contains(&k) || IGNORED.contains(&k) || native.contains(&k) || neutral(k, value) {
            continue;
        }
        let message = match OPTIONAL.iter().find(|(f, _)| *f == k) {
            Some((_, what)) => format!("`{k}` ({what}) is not supported by {provider}"),
            None => format!("`{k}` has no {provider} equivalent, so kt cannot forward it"),
        };
        return Err(untranslatable(k, message));
    }
    Ok(())
}

/// Whether a value asks for nothing beyond the default (so refusing it would be pedantic).
fn neutral(key: &str, v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(false) => matches!(key, "logprobs"),
        Value::Number(n) => match key {
            "n" => n.as_u64() == Some(1),
            "presence_penalty" | "frequency_penalty" => n.as_f64() == Some(0.0),
            "top_logprobs" => n.as_u64() == Some(0),
            _ => false,
        },
        Value::Object(m) => m.is_empty() && key == "logit_bias",
        Value::Array(a) => a.is_empty() && key == "functions",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        match v {
            Value::Object(m) => m,
            _ => Object::new(),
        }
    }

    // Proves core, ignorable, native and neutral fields pass and anything else is refused by name.
    #[test]
    fn refuses_what_the_provider_cannot_express() {
        let ok = obj(
            json!({"model":"m","messages":[],"store":true,"metadata":{"a":"b"},
            "n":1,"logprobs":false,"presence_penalty":0,"logit_bias":{},"seed":null}),
        );
        assert!(check(&ok, "Anthropic", &[]).is_ok());
        for (field, value) in [
            ("n", json!(2)),
            ("logprobs", json!(true)),
            ("logit_bias", json!({"1": 5})),
            ("seed", json!(7)),
            ("functions", json!([{"name": "f"}])),
            ("frequency_penalty", json!(0.5)),
            ("reasoning_effort", json!("low")),
            ("some_new_field", json!(1)),
        ] {
            let mut req = obj(json!({"model":"m","messages":[]}));
            req.insert(field.into(), value);
            match check(&req, "Anthropic", &[]) {
                Err(UpstreamError::Untranslatable { param, message }) => {
                    assert_eq!(param.as_deref(), Some(field));
                    assert!(
                        message.contains(field) && message.contains("Anthropic"),
                        "{message}"
                    );
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        let seeded = obj(json!({"model":"m","messages":[],"seed":7}));
        assert!(check(&seeded, "Gemini", &["seed"]).is_ok());
    }
}
