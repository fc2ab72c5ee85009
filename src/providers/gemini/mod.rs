//! Google's Gemini API (AI Studio) and Gemini on Vertex AI, which share one body: the
//! request rendered from the shared translation core into `generateContent`, the answer and
//! `google.rpc.Status` errors read back into OpenAI shape, and the
//! `streamGenerateContent?alt=sse` stream translated into chunks.

mod request;
mod response;
pub mod stream;

pub use request::{
    FOREIGN_THOUGHT_SIGNATURE, MAX_STOP_SEQUENCES, NATIVE, render, to_gemini_request,
};
pub use response::{error_from_response, from_gemini_response};

/// The Gemini API path for `model`: `/v1beta/models/{model}:generateContent`, or
/// `:streamGenerateContent?alt=sse` for a streamed request. A `models/` prefix in the mapped
/// name (as Google's model list spells them) is accepted.
pub fn path(model: &str, stream: bool) -> String {
    let model = model.strip_prefix("models/").unwrap_or(model);
    let method = if stream {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    };
    format!("/v1beta/models/{}:{method}", segment(model))
}

/// The Gemini API path of another method of `model` (`countTokens`, `batchEmbedContents`):
/// `/v1beta/models/{model}:{method}`.
pub fn method_path(model: &str, method: &str) -> String {
    let model = model.strip_prefix("models/").unwrap_or(model);
    format!("/v1beta/models/{}:{method}", segment(model))
}

/// Percent-encodes a path segment (model names are plain, but a mapping is user input).
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
