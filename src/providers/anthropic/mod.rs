//! Anthropic's Messages API: the request rendered from the shared translation core, the
//! answer and errors read back into OpenAI shape, and the SSE stream translated into chunks.

mod request;
mod response;
pub mod stream;

pub use request::{render, to_messages_request};
pub use response::{error_from_response, from_messages_response};

#[cfg(test)]
mod tests;
