//! Google Vertex AI (provider-apis-more.md §4): Gemini models and Anthropic's Claude models,
//! called with Google OAuth2 access tokens. `oauth` gets and caches the tokens; `endpoint`
//! builds the URLs a location and a model are served from.

pub mod endpoint;
pub mod oauth;

use serde_json::{Map, Value, json};

use super::UpstreamError;
use super::translate::ChatRequest;
use super::{anthropic, gemini};

/// The `anthropic_version` Vertex AI's Claude endpoints take in the body.
pub const CLAUDE_VERSION: &str = "vertex-2023-10-16";

/// A Messages body for Claude on Vertex: Anthropic's, without `model` (the URL names it)
/// and with Vertex's `anthropic_version` in the body instead of a header.
pub fn claude_body(
    req: &Map<String, Value>,
    model: &str,
    default_max_tokens: u64,
) -> Result<Value, UpstreamError> {
    let chat = ChatRequest::parse(req, "Claude on Vertex AI", &[])?;
    chat.require_user_first("Claude on Vertex AI")?;
    let mut body = anthropic::render(&chat, model, default_max_tokens, false)?;
    if let Some(obj) = body.as_object_mut() {
        obj.insert("anthropic_version".into(), json!(CLAUDE_VERSION));
    }
    Ok(body)
}

/// A `generateContent` body for a Gemini model on Vertex (the same body as the Gemini API's;
/// `seed` and the penalties translate there too).
pub fn gemini_body(req: &Map<String, Value>) -> Result<Value, UpstreamError> {
    let chat = ChatRequest::parse(req, "Gemini on Vertex AI", &gemini::NATIVE)?;
    gemini::render(&chat)
}
