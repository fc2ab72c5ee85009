//! Caller dialects other than OpenAI Chat Completions: pure translation between what a
//! caller of `POST /v1/messages` (Anthropic Messages) or `POST /v1/responses` (OpenAI
//! Responses) speaks and kt's internal request and answer, which are Chat Completions
//! shaped (provider-apis.md §2, the reverse of §3; provider-apis-more.md §5).
//! No I/O here: the gateway parses, calls, and frames; these files only map shapes.

pub mod anthropic_request;
pub mod anthropic_response;
pub mod anthropic_stream;
mod responses_options;
pub mod responses_request;
pub mod responses_response;
pub mod responses_stream;

/// Why a caller's request cannot be translated: the caller's error (400), naming the
/// offending field the way Anthropic's own validation messages do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct IngressError {
    /// The request field at fault (`messages.1.content.0`, `max_tokens`, ...).
    pub field: String,
    pub message: String,
}

impl IngressError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
