//! OpenAI Chat Completions: the request passes through with only the model set, and the
//! answer is read as-is (kt's own wire format is this one).

pub mod responses;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use super::http::retry_after;
use super::{Completion, UpstreamError, parse_error_body};

/// The body to send: the caller's request, unchanged but for `model` (the shadow's
/// mapped model) and without kt-only fields.
pub fn request_body(req: &Map<String, Value>, model: &str) -> Value {
    let mut body = req.clone();
    body.insert("model".into(), Value::String(model.to_string()));
    Value::Object(body)
}

/// The Chat Completions path for a (normalised, `/v1`-less) base URL. OpenAI-compatible
/// services document base URLs that end in `/v1` (stripped by the config loader, so kt adds
/// `/v1/...` back) or in another versioned prefix such as Gemini's `/v1beta/openai`; a base
/// URL whose path already holds a version segment (`v1beta`, `v2`, ...) gets
/// `/chat/completions` directly.
pub fn chat_path(base_url: &str) -> &'static str {
    if versioned(base_url) {
        "/chat/completions"
    } else {
        "/v1/chat/completions"
    }
}

/// The Responses API path for a base URL (the same joining rule as [`chat_path`]).
pub fn responses_path(base_url: &str) -> &'static str {
    if chat_path(base_url) == "/chat/completions" {
        "/responses"
    } else {
        "/v1/responses"
    }
}

/// The Embeddings path for a base URL, by the rule of [`chat_path`].
pub fn embeddings_path(base_url: &str) -> &'static str {
    if versioned(base_url) {
        "/embeddings"
    } else {
        "/v1/embeddings"
    }
}

/// Whether the base URL's path already holds a version segment (`v1beta`, `v2`, ...).
fn versioned(base_url: &str) -> bool {
    let path = url::Url::parse(base_url)
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    path.split('/').any(|seg| {
        seg.strip_prefix('v').is_some_and(|rest| {
            rest.starts_with(|c: char| c.is_ascii_digit())
                && rest.chars().all(|c| c.is_ascii_alphanumeric())
        })
    })
}

/// Reads an upstream answer: a 2xx `chat.completion` object, or an error in OpenAI shape.
pub fn parse_response(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Completion, UpstreamError> {
    if !(200..300).contains(&status) {
        let b = parse_error_body(status, body);
        return Err(UpstreamError::Status {
            status,
            kind: b.kind,
            code: b.code,
            param: b.param.map(String::into_boxed_str),
            message: b.message,
            retry_after: retry_after(headers),
        });
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Completion::from_openai_body(map),
        Ok(_) => Err(UpstreamError::InvalidResponse(
            "the body is JSON but not an object".into(),
        )),
        Err(e) => Err(UpstreamError::InvalidResponse(format!(
            "the body is not JSON ({e})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a 2xx answer is read for text, usage and finish reason.
    #[test]
    fn reads_a_completion() {
        let body = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
            "choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#;
        let c = parse_response(200, &HeaderMap::new(), body).unwrap();
        assert_eq!(c.text, "Hi");
        assert_eq!((c.input_tokens, c.output_tokens), (Some(12), Some(7)));
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    }

    // Proves each documented base-URL form of OpenAI-compatible services joins to the right path.
    #[test]
    fn chat_path_follows_the_base_url() {
        for (base, path) in [
            ("https://api.openai.com", "/v1/chat/completions"),
            ("https://api.groq.com/openai", "/v1/chat/completions"),
            ("https://api.fireworks.ai/inference", "/v1/chat/completions"),
            ("https://openrouter.ai/api", "/v1/chat/completions"),
            ("http://localhost:11434", "/v1/chat/completions"),
            (
                "https://generativelanguage.googleapis.com/v1beta/openai",
                "/chat/completions",
            ),
            ("https://example.com/v2", "/chat/completions"),
            ("https://example.com/video", "/v1/chat/completions"),
        ] {
            assert_eq!(chat_path(base), path, "{base}");
            let embeddings = path.replace("/chat/completions", "/embeddings");
            assert_eq!(embeddings_path(base), embeddings, "{base}");
        }
    }

    // Proves garbage from an upstream is an error, not a panic.
    #[test]
    fn rejects_non_json_and_missing_choices() {
        assert!(matches!(
            parse_response(200, &HeaderMap::new(), b"<html>"),
            Err(UpstreamError::InvalidResponse(_))
        ));
        assert!(matches!(
            parse_response(200, &HeaderMap::new(), b"{}"),
            Err(UpstreamError::InvalidResponse(_))
        ));
    }

    // Proves an upstream 4xx keeps its status, type and code.
    #[test]
    fn reads_an_error() {
        let body = br#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
        match parse_response(429, &HeaderMap::new(), body) {
            Err(UpstreamError::Status {
                status,
                kind,
                code,
                message,
                ..
            }) => {
                assert_eq!(
                    (status, kind.as_str(), code.as_deref()),
                    (429, "requests", Some("rate_limit_exceeded"))
                );
                assert_eq!(message, "Rate limit reached");
            }
            other => panic!("{other:?}"),
        }
    }
}
