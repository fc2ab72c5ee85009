//! Azure OpenAI: the Chat Completions wire format on Azure's paths. Deployment-style
//! (`/openai/deployments/{deployment}/chat/completions?api-version=…`, the model chosen by
//! the deployment) or the v1 API (`/openai/v1/chat/completions`, the model in the body);
//! the key goes in `api-key`, or an Entra ID token as `Authorization: Bearer`. Answers,
//! streams and errors are OpenAI's, plus Azure's content-filter fields, which pass through.

use std::collections::BTreeMap;

use url::form_urlencoded::byte_serialize;

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

/// The model name to send in the body: the v1 API routes by it, so a configured
/// deployment name replaces the model there too (Azure's v1 `model` is the deployment).
pub fn body_model<'a>(deployments: &'a BTreeMap<String, String>, model: &'a str) -> &'a str {
    deployments.get(model).map_or(model, String::as_str)
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
        assert_eq!(
            embeddings_path(Some("2024-10-21"), &d, "text-embedding-3-small"),
            "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21"
        );
        assert_eq!(embeddings_path(None, &d, "x"), "/openai/v1/embeddings");
        assert_eq!(body_model(&d, "gpt-4o"), "gpt-4o");
    }
}
