//! Embeddings (`POST /v1/embeddings`) on the primary: passed through to OpenAI and
//! OpenAI-compatible servers and to Azure OpenAI (deployment or v1 path), translated both
//! ways for the Gemini API (`:batchEmbedContents`). Other kinds serve no embeddings
//! through kt: Anthropic has no embeddings API, and Bedrock's (Titan, Cohere) and Vertex's
//! (`:predict`) take model-specific bodies kt does not translate.

use serde_json::{Map, Value, json};

use super::client::{Format, Provider, Wire};
use super::{UpstreamError, azure, gemini, openai};
use crate::config::ProviderKind;

type Object = Map<String, Value>;

/// A planned embeddings call: the wire request and how to read its answer.
#[derive(Debug)]
pub struct EmbedCall {
    wire: Wire,
    /// For Gemini: whether the caller asked for `encoding_format: "base64"`.
    base64: bool,
}

impl Provider {
    /// The embeddings call for an OpenAI Embeddings request `req` with `model`, or
    /// [`UpstreamError::Untranslatable`] (400) for a kind kt serves no embeddings from or a
    /// request Gemini cannot take (token-id input).
    pub fn plan_embeddings(&self, req: &Object, model: &str) -> Result<EmbedCall, UpstreamError> {
        let call = |path: String, body: Value, format: Format| EmbedCall {
            wire: Wire {
                path,
                body,
                format,
                model: model.to_string(),
                stream: false,
            },
            base64: false,
        };
        match self.kind {
            ProviderKind::OpenAi => Ok(call(
                openai::embeddings_path(self.base_url()).into(),
                openai::request_body(req, model),
                Format::OpenAi,
            )),
            ProviderKind::AzureOpenAi => {
                let t = self.target();
                Ok(call(
                    azure::embeddings_path(t.api_version.as_deref(), &t.deployments, model),
                    openai::request_body(req, azure::body_model(&t.deployments, model)),
                    Format::OpenAi,
                ))
            }
            ProviderKind::Gemini => {
                let base64 = match req.get("encoding_format") {
                    None | Some(Value::Null) => false,
                    Some(v) if v == "float" => false,
                    Some(v) if v == "base64" => true,
                    Some(_) => {
                        return Err(untranslatable(
                            "`encoding_format` must be \"float\" or \"base64\"",
                            "encoding_format",
                        ));
                    }
                };
                Ok(EmbedCall {
                    base64,
                    ..call(
                        gemini::method_path(model, "batchEmbedContents"),
                        gemini_request(req, model)?,
                        Format::Gemini,
                    )
                })
            }
            kind => Err(UpstreamError::Untranslatable {
                message: format!(
                    "the primary `{}` (kind {}) does not serve embeddings through kt; kt passes \
                     embeddings to openai, azure_openai and gemini primaries",
                    self.id,
                    kind.as_str()
                ),
                param: None,
            }),
        }
    }

    /// Makes a planned embeddings call: the answer in OpenAI's `list` shape.
    pub async fn embeddings(&self, call: &EmbedCall) -> Result<Object, UpstreamError> {
        let answer = self.post_json(&call.wire, None).await?;
        match call.wire.format {
            Format::Gemini => gemini_answer(&answer, &call.wire.model, call.base64),
            _ => match answer {
                Value::Object(m) => Ok(m),
                _ => Err(UpstreamError::InvalidResponse(
                    "the embeddings answer is not a JSON object".into(),
                )),
            },
        }
    }
}

fn untranslatable(message: &str, param: &str) -> UpstreamError {
    UpstreamError::Untranslatable {
        message: message.to_string(),
        param: Some(param.to_string()),
    }
}

/// `batchEmbedContents`: one request per input text, each naming the model;
/// `dimensions` becomes `outputDimensionality`. Token-id input has no Gemini form.
fn gemini_request(req: &Object, model: &str) -> Result<Value, UpstreamError> {
    let texts: Vec<&str> = match req.get("input") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<&str>>>()
            .ok_or_else(|| {
                untranslatable(
                    "Gemini embeds text only: `input` must be a string or an array of strings, not token ids",
                    "input",
                )
            })?,
        _ => {
            return Err(untranslatable(
                "`input` must be a string or a non-empty array of strings",
                "input",
            ));
        }
    };
    let model = format!("models/{}", model.strip_prefix("models/").unwrap_or(model));
    let dimensions = req.get("dimensions").filter(|d| !d.is_null());
    let requests: Vec<Value> = texts
        .into_iter()
        .map(|text| {
            let mut r = json!({"model": model, "content": {"parts": [{"text": text}]}});
            if let (Some(d), Some(obj)) = (dimensions, r.as_object_mut()) {
                obj.insert("outputDimensionality".into(), d.clone());
            }
            r
        })
        .collect();
    Ok(json!({ "requests": requests }))
}

/// `{"embeddings":[{"values":[…]}]}` → OpenAI's list. Gemini reports no token usage for
/// embeddings, so `usage` is 0 (the SDKs require the field). With `base64`, each vector is
/// its little-endian f32 bytes in base64, as OpenAI sends it.
fn gemini_answer(answer: &Value, model: &str, base64: bool) -> Result<Object, UpstreamError> {
    let invalid = |m: &str| UpstreamError::InvalidResponse(format!("Gemini embeddings: {m}"));
    let embeddings = answer
        .get("embeddings")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("no `embeddings` array"))?;
    let mut data = Vec::with_capacity(embeddings.len());
    for (index, e) in embeddings.iter().enumerate() {
        let values = e
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("an embedding has no `values`"))?;
        let embedding = if base64 {
            let mut bytes = Vec::with_capacity(values.len() * 4);
            for v in values {
                let x = v
                    .as_f64()
                    .ok_or_else(|| invalid("a value is not a number"))?;
                // OpenAI's base64 vectors are f32; the narrowing is the format's.
                bytes.extend_from_slice(&(x as f32).to_le_bytes());
            }
            json!(aws_smithy_types::base64::encode(bytes))
        } else {
            Value::Array(values.clone())
        };
        data.push(json!({"object": "embedding", "index": index, "embedding": embedding}));
    }
    let body = json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": 0, "total_tokens": 0},
    });
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(invalid("kt built a non-object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves string and string-array input become one request each with the model and
    // dimensions, and token ids are refused naming `input`.
    #[test]
    fn gemini_requests_per_text() {
        let req = json!({"model": "text-embedding-004", "input": ["a", "b"], "dimensions": 8});
        let out = gemini_request(req.as_object().unwrap(), "text-embedding-004").unwrap();
        assert_eq!(
            out,
            json!({"requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 8},
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 8}]})
        );
        let one = json!({"input": "x"});
        assert_eq!(
            gemini_request(one.as_object().unwrap(), "m").unwrap()["requests"][0]["content"]["parts"]
                [0]["text"],
            "x"
        );
        let tokens = json!({"input": [1, 2, 3]});
        match gemini_request(tokens.as_object().unwrap(), "m") {
            Err(UpstreamError::Untranslatable { param, .. }) => {
                assert_eq!(param.as_deref(), Some("input"));
            }
            other => panic!("{other:?}"),
        }
    }

    // Proves Gemini's vectors come back in OpenAI's list, as floats or as base64 of
    // little-endian f32 (1.0 is 00 00 80 3F).
    #[test]
    fn gemini_answers_become_openai_lists() {
        let answer = json!({"embeddings": [{"values": [1.0, 0.5]}, {"values": [0.25]}]});
        let floats = gemini_answer(&answer, "m", false).unwrap();
        assert_eq!(
            Value::Object(floats),
            json!({"object": "list", "data": [
                {"object": "embedding", "index": 0, "embedding": [1.0, 0.5]},
                {"object": "embedding", "index": 1, "embedding": [0.25]}],
                "model": "m", "usage": {"prompt_tokens": 0, "total_tokens": 0}})
        );
        let b64 = gemini_answer(&json!({"embeddings": [{"values": [1.0]}]}), "m", true).unwrap();
        assert_eq!(b64["data"][0]["embedding"], "AACAPw==");
        assert!(matches!(
            gemini_answer(&json!({}), "m", false),
            Err(UpstreamError::InvalidResponse(_))
        ));
    }
}
