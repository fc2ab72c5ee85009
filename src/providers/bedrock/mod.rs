//! AWS Bedrock Runtime's Converse API (provider-apis-more.md §2): the request rendered from
//! the shared translation core (`request`), the answer and AWS errors read back into OpenAI
//! shape (`response`), ConverseStream events translated into chunks (`stream`), the binary
//! event-stream framing they arrive in with both CRCs checked (`eventstream`), and SigV4
//! request signing (`sigv4`).

pub mod eventstream;
mod request;
mod response;
pub mod sigv4;
pub mod stream;

pub use request::{render, to_converse_request};
pub use response::{completion_id, error_from_response, from_converse_response};

#[cfg(test)]
mod tests;
