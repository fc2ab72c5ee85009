//! AWS Bedrock's Converse API (provider-apis-more.md §2): the request rendered from the
//! shared translation core, the answer and errors read back into OpenAI shape, and the
//! ConverseStream events translated into chunks. Only the translation lives here; signing
//! and the binary event-stream framing are separate files of this folder.

mod request;
mod response;
pub mod stream;

pub use request::{render, to_converse_request};
pub use response::{completion_id, error_from_response, from_converse_response};

#[cfg(test)]
mod tests;
