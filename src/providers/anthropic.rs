//! placeholder
use super::{Completion, UpstreamError};
use serde_json::{Map, Value};
pub fn to_messages_request(
    _req: &Map<String, Value>,
    _model: &str,
    _d: u64,
) -> Result<Value, UpstreamError> {
    Err(UpstreamError::InvalidResponse("x".into()))
}
pub fn from_messages_response(_b: &[u8], _n: u64) -> Result<Completion, UpstreamError> {
    Err(UpstreamError::InvalidResponse("x".into()))
}
pub fn error_from_response(_s: u16, _b: &[u8], _r: Option<String>) -> UpstreamError {
    UpstreamError::InvalidResponse("x".into())
}
