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

#[cfg(test)]
mod tests;
