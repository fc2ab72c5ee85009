//! The request options every translation reads beside the messages: `stop`, function
//! `tools`, `tool_choice` and `response_format`, each validated once with the offending
//! parameter named.

use serde_json::{Value, json};

use super::request::{ResponseFormat, Tool, ToolChoice};
use super::{Object, UpstreamError, present, untranslatable};

/// `stop` (string or array) without empty strings.
pub(super) fn read_stop(req: &Object) -> Result<Vec<String>, UpstreamError> {
    let invalid = || untranslatable("stop", "`stop` must be a string or an array of strings");
    let list: Vec<&str> = match present(req, "stop") {
        None => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(invalid))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid()),
    };
    Ok(list
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// `tools[]`: function tools only.
pub(super) fn read_tools(req: &Object, provider: &str) -> Result<Vec<Tool>, UpstreamError> {
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
                        "tools[{k}] has type `{kind}`; only function tools translate to {provider}"
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
            let parameters = match function.and_then(|f| f.get("parameters")) {
                None | Some(Value::Null) => json!({ "type": "object", "properties": {} }),
                Some(p @ Value::Object(_)) => p.clone(),
                Some(_) => {
                    return Err(untranslatable(
                        "tools",
                        format!("tools[{k}].function.parameters must be a JSON Schema object"),
                    ));
                }
            };
            Ok(Tool {
                name: name.to_string(),
                description: function
                    .and_then(|f| f.get("description"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                parameters,
            })
        })
        .collect()
}

/// `tool_choice`: auto, none, required, or one function.
pub(super) fn read_tool_choice(req: &Object) -> Result<Option<ToolChoice>, UpstreamError> {
    let invalid = |why: &str| untranslatable("tool_choice", why.to_string());
    match present(req, "tool_choice") {
        None => Ok(None),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Ok(Some(ToolChoice::Auto)),
            "none" => Ok(Some(ToolChoice::None)),
            "required" => Ok(Some(ToolChoice::Required)),
            _ => Err(invalid(
                "`tool_choice` must be auto, none, required or a function",
            )),
        },
        Some(obj @ Value::Object(_)) => {
            let name = obj.pointer("/function/name").and_then(Value::as_str);
            match (obj.get("type").and_then(Value::as_str), name) {
                (Some("function"), Some(name)) => Ok(Some(ToolChoice::Function(name.to_string()))),
                _ => Err(invalid(
                    "only `{type: function, function: {name}}` translates",
                )),
            }
        }
        Some(_) => Err(invalid("`tool_choice` must be a string or an object")),
    }
}

/// `response_format`: text, json_object, or json_schema with a schema object.
pub(super) fn read_response_format(req: &Object) -> Result<ResponseFormat, UpstreamError> {
    let Some(format) = present(req, "response_format") else {
        return Ok(ResponseFormat::Text);
    };
    match format.get("type").and_then(Value::as_str) {
        Some("json_schema") => match format.pointer("/json_schema/schema") {
            Some(schema @ Value::Object(_)) => Ok(ResponseFormat::JsonSchema {
                name: format
                    .pointer("/json_schema/name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                schema: schema.clone(),
                strict: format
                    .pointer("/json_schema/strict")
                    .and_then(Value::as_bool),
            }),
            _ => Err(untranslatable(
                "response_format",
                "`response_format.json_schema.schema` must be a JSON Schema object",
            )),
        },
        Some("json_object") => Ok(ResponseFormat::JsonObject),
        Some("text") => Ok(ResponseFormat::Text),
        _ => Err(untranslatable(
            "response_format",
            "`response_format.type` must be text, json_object or json_schema",
        )),
    }
}
