//! The option fields of a Responses request → Chat Completions: `tools` (function tools
//! nest under `function`), `tool_choice`, `text` (→ `response_format`, `verbosity`) and
//! `reasoning` (→ `reasoning_effort`). Built-in tools and OpenAI-only options are reported
//! as unexpressible rather than refused, as the request module explains.

use serde_json::{Value, json};

use super::IngressError;
use super::responses_request::{Cx, Object, string_field};

/// `tools[]`: function tools → Chat function tools; built-in tools are reported.
pub(super) fn tools(value: &Value, cx: &mut Cx) -> Result<Vec<Value>, IngressError> {
    let list = value
        .as_array()
        .ok_or_else(|| IngressError::new("tools", "must be an array"))?;
    let mut out = Vec::new();
    for (i, tool) in list.iter().enumerate() {
        let at = format!("tools[{i}]");
        let obj = tool
            .as_object()
            .ok_or_else(|| IngressError::new(&at, "must be an object"))?;
        match obj.get("type").and_then(Value::as_str) {
            Some("function") => {}
            Some(other) => {
                cx.skip(
                    at,
                    format!("`{other}` is an OpenAI tool with no Chat Completions function form"),
                );
                continue;
            }
            None => return Err(IngressError::new(format!("{at}.type"), "Field required")),
        }
        let mut function = Object::new();
        function.insert("name".into(), json!(string_field(tool, "name", &at)?));
        for (key, value) in obj {
            let k = key.as_str();
            match (k, value) {
                // An absent or null `strict` stays absent, although Responses then makes the
                // schema strict: Chat's `strict: true` would instead refuse a schema not
                // already in strict form, and an OpenAI target gets the original body anyway.
                ("type" | "name", _) | (_, Value::Null) => {}
                ("description", Value::String(_))
                | ("parameters", Value::Object(_))
                | ("strict", Value::Bool(_)) => {
                    function.insert(k.into(), value.clone());
                }
                ("description" | "parameters" | "strict", _) => {
                    let what = match k {
                        "description" => "must be a string",
                        "parameters" => "must be a JSON Schema object",
                        _ => "must be a boolean",
                    };
                    return Err(IngressError::new(format!("{at}.{k}"), what));
                }
                ("defer_loading", Value::Bool(false)) => {}
                _ => cx.skip(
                    format!("{at}.{k}"),
                    format!("function tool field `{k}` has no Chat Completions equivalent"),
                ),
            }
        }
        out.push(json!({"type": "function", "function": function}));
    }
    Ok(out)
}

/// `tool_choice` → Chat's form; `None` when it is a built-in tool's (reported).
pub(super) fn tool_choice(choice: &Value, cx: &mut Cx) -> Result<Option<Value>, IngressError> {
    let kind = match choice {
        Value::String(s) if matches!(s.as_str(), "auto" | "none" | "required") => {
            return Ok(Some(choice.clone()));
        }
        Value::Object(o) => o.get("type").and_then(Value::as_str),
        _ => {
            return Err(IngressError::new(
                "tool_choice",
                "must be auto, none, required or a tool choice object",
            ));
        }
    };
    match kind {
        Some("function") => {
            let name = string_field(choice, "name", "tool_choice")?;
            Ok(Some(
                json!({"type": "function", "function": {"name": name}}),
            ))
        }
        Some("allowed_tools") => {
            let mode = choice.get("mode").and_then(Value::as_str);
            let Some(mode @ ("auto" | "required")) = mode else {
                return Err(IngressError::new(
                    "tool_choice.mode",
                    "must be auto or required",
                ));
            };
            let listed = choice
                .get("tools")
                .and_then(Value::as_array)
                .ok_or_else(|| IngressError::new("tool_choice.tools", "must be an array"))?;
            let names: Option<Vec<&str>> = listed
                .iter()
                .map(|t| {
                    (t.get("type").and_then(Value::as_str) == Some("function"))
                        .then(|| t.get("name").and_then(Value::as_str))
                        .flatten()
                })
                .collect();
            let Some(names) = names else {
                cx.skip(
                    "tool_choice",
                    "allows OpenAI built-in tools, which have no Chat Completions form",
                );
                return Ok(None);
            };
            let tools: Vec<Value> = names
                .iter()
                .map(|n| json!({"type": "function", "function": {"name": n}}))
                .collect();
            Ok(Some(json!({"type": "allowed_tools",
                            "allowed_tools": {"mode": mode, "tools": tools}})))
        }
        Some(other) => {
            cx.skip(
                "tool_choice",
                format!("choosing the `{other}` tool has no Chat Completions equivalent"),
            );
            Ok(None)
        }
        None => Err(IngressError::new("tool_choice.type", "Field required")),
    }
}

/// `text {format, verbosity}` → `response_format` and `verbosity`.
pub(super) fn text_config(text: &Value, out: &mut Object, cx: &mut Cx) -> Result<(), IngressError> {
    let obj = text
        .as_object()
        .ok_or_else(|| IngressError::new("text", "must be an object"))?;
    for (key, value) in obj {
        match (key.as_str(), value) {
            (_, Value::Null) => {}
            ("format", format) => {
                if let Some(f) = response_format(format, cx)? {
                    out.insert("response_format".into(), f);
                }
            }
            ("verbosity", Value::String(_)) => {
                out.insert("verbosity".into(), value.clone());
            }
            ("verbosity", _) => {
                return Err(IngressError::new("text.verbosity", "must be a string"));
            }
            (k, _) => cx.skip(
                format!("text.{k}"),
                format!("text option `{k}` has no Chat Completions equivalent"),
            ),
        }
    }
    Ok(())
}

/// `text.format` → `response_format` (Chat nests the JSON schema one level deeper).
fn response_format(format: &Value, cx: &mut Cx) -> Result<Option<Value>, IngressError> {
    let at = "text.format";
    if !format.is_object() {
        return Err(IngressError::new(at, "must be an object"));
    }
    match format.get("type").and_then(Value::as_str) {
        Some(t @ ("text" | "json_object")) => Ok(Some(json!({"type": t}))),
        Some("json_schema") => {
            let mut schema = Object::new();
            schema.insert("name".into(), json!(string_field(format, "name", at)?));
            match format.get("schema") {
                Some(s @ Value::Object(_)) => schema.insert("schema".into(), s.clone()),
                Some(_) => {
                    return Err(IngressError::new(
                        "text.format.schema",
                        "must be a JSON Schema object",
                    ));
                }
                None => return Err(IngressError::new("text.format.schema", "Field required")),
            };
            for key in ["description", "strict"] {
                if let Some(v) = format.get(key).filter(|v| !v.is_null()) {
                    schema.insert(key.into(), v.clone());
                }
            }
            Ok(Some(json!({"type": "json_schema", "json_schema": schema})))
        }
        Some(other) => {
            cx.skip(
                at,
                format!("text format `{other}` has no Chat Completions equivalent"),
            );
            Ok(None)
        }
        None => Err(IngressError::new("text.format.type", "Field required")),
    }
}

/// `reasoning {effort}` → `reasoning_effort`; summaries and other options are reported.
pub(super) fn reasoning_config(
    r: &Value,
    out: &mut Object,
    cx: &mut Cx,
) -> Result<(), IngressError> {
    let obj = r
        .as_object()
        .ok_or_else(|| IngressError::new("reasoning", "must be an object"))?;
    for (key, value) in obj {
        match (key.as_str(), value) {
            (_, Value::Null) => {}
            ("effort", Value::String(_)) => {
                out.insert("reasoning_effort".into(), value.clone());
            }
            ("effort", _) => {
                return Err(IngressError::new("reasoning.effort", "must be a string"));
            }
            ("summary" | "generate_summary", _) => cx.skip(
                format!("reasoning.{key}"),
                "asks for reasoning summaries, which Chat Completions does not return",
            ),
            (k, _) => cx.skip(
                format!("reasoning.{k}"),
                format!("reasoning option `{k}` has no Chat Completions equivalent"),
            ),
        }
    }
    Ok(())
}
