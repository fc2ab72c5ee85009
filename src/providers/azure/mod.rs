//! Azure OpenAI: the Chat Completions wire format on Azure's paths. Deployment-style
//! (`/openai/deployments/{deployment}/chat/completions?api-version=…`, the model chosen by
//! the deployment) or the v1 API (`/openai/v1/chat/completions`, the model in the body);
//! the key goes in `api-key`, or an Entra ID token as `Authorization: Bearer`. Answers,
//! streams and errors are OpenAI's, plus Azure's content-filter fields, which pass through.
//! A stream's annotation-only chunks (§1.5) are not chunks an OpenAI client can read, so
//! [`without_annotations`] drops them, moving the prompt annotations onto the next chunk.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use serde_json::{Map, Value};
use url::form_urlencoded::byte_serialize;

use super::stream::ChunkStream;

/// The request path (and query) for `model`: deployment-style when an `api_version` other
/// than `v1` is configured, else the v1 API. `deployments` maps a model to its deployment;
/// an unlisted model is its own deployment name.
pub fn chat_path(
    api_version: Option<&str>,
    deployments: &BTreeMap<String, String>,
    model: &str,
) -> String {
    operation_path(api_version, deployments, model, "chat/completions")
}

/// The Embeddings path for `model`, chosen like [`chat_path`]'s.
pub fn embeddings_path(
    api_version: Option<&str>,
    deployments: &BTreeMap<String, String>,
    model: &str,
) -> String {
    operation_path(api_version, deployments, model, "embeddings")
}

/// `/openai/deployments/{d}/{operation}?api-version=…`, or `/openai/v1/{operation}`.
fn operation_path(
    api_version: Option<&str>,
    deployments: &BTreeMap<String, String>,
    model: &str,
    operation: &str,
) -> String {
    match api_version.filter(|v| *v != "v1") {
        Some(version) => {
            let deployment = deployments.get(model).map_or(model, String::as_str);
            format!(
                "/openai/deployments/{}/{operation}?api-version={}",
                segment(deployment),
                query(version)
            )
        }
        None => format!("/openai/v1/{operation}"),
    }
}

/// The Responses API path: `/openai/v1/responses` for the v1 API, else
/// `/openai/responses?api-version=…` (Azure routes Responses by the deployment named in the
/// body's `model`, not by the path).
pub fn responses_path(api_version: Option<&str>) -> String {
    match api_version.filter(|v| *v != "v1") {
        Some(version) => format!("/openai/responses?api-version={}", query(version)),
        None => "/openai/v1/responses".to_string(),
    }
}

/// The model name to send in the body: the v1 API routes by it, so a configured
/// deployment name replaces the model there too (Azure's v1 `model` is the deployment).
pub fn body_model<'a>(deployments: &'a BTreeMap<String, String>, model: &'a str) -> &'a str {
    deployments.get(model).map_or(model, String::as_str)
}

/// Azure's stream without its annotation-only chunks (provider-apis-more.md §1.5): the
/// prompt-annotation chunk (empty `id`, `object` and `model`, `created: 0`, `choices: []`)
/// and the content-annotation chunks whose choices carry no `delta`. OpenAI clients read
/// `choices[0].delta` of every chunk but the usage chunk, so these would break them. The
/// prompt annotations (`prompt_filter_results`, or `prompt_annotations` in older samples)
/// move onto the next chunk kept, as in a whole answer; a choice with a finish reason but no
/// delta (a late `content_filter` stop) is kept with an empty delta.
pub fn without_annotations(chunks: ChunkStream) -> ChunkStream {
    let mut prompt: Vec<(String, Value)> = Vec::new();
    Box::pin(chunks.filter_map(move |item| {
        let kept = match item {
            Ok(mut chunk) => {
                for key in ["prompt_filter_results", "prompt_annotations"] {
                    if let Some(v) = chunk.remove(key) {
                        prompt.push((key.to_string(), v));
                    }
                }
                if keep(&mut chunk) {
                    chunk.extend(prompt.drain(..));
                    Some(Ok(chunk))
                } else {
                    None
                }
            }
            Err(e) => Some(Err(e)),
        };
        futures_util::future::ready(kept)
    }))
}

/// Whether a stream chunk is one an OpenAI client can read (then made so where needed):
/// a choice with a delta or a finish reason, or the usage chunk.
fn keep(chunk: &mut Map<String, Value>) -> bool {
    let usage = chunk.get("usage").is_some_and(Value::is_object);
    let Some(choices) = chunk.get_mut("choices").and_then(Value::as_array_mut) else {
        return usage;
    };
    choices.retain(|c| {
        c.get("delta").is_some_and(Value::is_object)
            || c.get("finish_reason").is_some_and(Value::is_string)
    });
    for c in choices.iter_mut() {
        if let Some(c) = c.as_object_mut()
            && !c.get("delta").is_some_and(Value::is_object)
        {
            c.insert("delta".into(), Value::Object(Map::new()));
        }
    }
    !choices.is_empty() || usage
}

fn segment(s: &str) -> String {
    // Path segments: percent-encode everything outside unreserved characters.
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn query(s: &str) -> String {
    byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object: {v}"),
        }
    }

    // Proves annotation-only chunks are dropped, the prompt annotations ride on the next
    // chunk, a delta-less finish gets an empty delta, and usage chunks and errors stay.
    #[tokio::test]
    async fn annotation_chunks_are_dropped() {
        let filters = json!([{"prompt_index": 0, "content_filter_results": {}}]);
        let items = vec![
            Ok(obj(
                json!({"id": "", "object": "", "created": 0, "model": "",
                          "prompt_filter_results": filters, "choices": [], "usage": null}),
            )),
            Ok(obj(json!({"id": "c1", "choices": [{"index": 0,
                          "delta": {"role": "assistant", "content": ""}}]}))),
            Ok(obj(
                json!({"id": "c1", "choices": [{"index": 0, "finish_reason": null,
                          "content_filter_results": {}, "content_filter_offsets": {}}]}),
            )),
            Ok(obj(json!({"id": "c1", "choices": [{"index": 0,
                          "finish_reason": "content_filter"}]}))),
            Ok(obj(
                json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 1}}),
            )),
            Err(crate::providers::UpstreamError::Timeout(5)),
        ];
        let out: Vec<_> = without_annotations(Box::pin(futures_util::stream::iter(items)))
            .collect()
            .await;
        assert_eq!(out.len(), 4, "{out:?}");
        let first = out[0].as_ref().unwrap();
        assert_eq!(first["id"], "c1");
        assert_eq!(first["prompt_filter_results"], filters);
        let finish = out[1].as_ref().unwrap();
        assert_eq!(
            finish["choices"],
            json!([{"index": 0, "finish_reason": "content_filter", "delta": {}}])
        );
        assert!(finish.get("prompt_filter_results").is_none());
        assert_eq!(out[2].as_ref().unwrap()["usage"]["prompt_tokens"], 1);
        assert!(out[3].is_err());
    }

    // Proves both path styles and the deployment lookup, with odd names encoded.
    #[test]
    fn paths_follow_the_api_version() {
        let mut d = BTreeMap::new();
        d.insert("gpt-4o-mini".to_string(), "prod-4o-mini".to_string());
        assert_eq!(
            chat_path(Some("2024-10-21"), &d, "gpt-4o-mini"),
            "/openai/deployments/prod-4o-mini/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            chat_path(Some("2024-10-21"), &d, "gpt 4o"),
            "/openai/deployments/gpt%204o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            chat_path(None, &d, "gpt-4o-mini"),
            "/openai/v1/chat/completions"
        );
        assert_eq!(
            chat_path(Some("v1"), &d, "x"),
            "/openai/v1/chat/completions"
        );
        assert_eq!(body_model(&d, "gpt-4o-mini"), "prod-4o-mini");
        assert_eq!(responses_path(None), "/openai/v1/responses");
        assert_eq!(
            responses_path(Some("2025-04-01-preview")),
            "/openai/responses?api-version=2025-04-01-preview"
        );
        assert_eq!(
            embeddings_path(Some("2024-10-21"), &d, "text-embedding-3-small"),
            "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21"
        );
        assert_eq!(embeddings_path(None, &d, "x"), "/openai/v1/embeddings");
        assert_eq!(body_model(&d, "gpt-4o"), "gpt-4o");
    }
}
