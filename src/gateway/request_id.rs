//! Request ids on the wire: a caller may send its own `x-request-id` (kept in the event as
//! `client_request_id` and echoed back); every answer also carries kt's event id, so a
//! caller can always find its event with `kt events show`.

use axum::http::{HeaderMap, HeaderValue};

/// Longest caller id kept; longer ones are ignored (kt then answers with its own id).
const MAX_LEN: usize = 128;

/// The caller's `x-request-id` when it is 1-128 visible ASCII characters (no spaces or
/// control characters, so it is safe in logs, headers and CSV), else `None`.
pub fn from_caller(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("x-request-id")?.to_str().ok()?;
    let ok = !v.is_empty() && v.len() <= MAX_LEN && v.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| v.to_owned())
}

/// Sets `x-request-id` (the caller's id if it sent one, else the event id) and
/// `x-kt-event-id` (always the event id) on an answer.
pub fn set(headers: &mut HeaderMap, event_id: &str, client_id: Option<&str>) {
    if let Ok(v) = HeaderValue::from_str(client_id.unwrap_or(event_id)) {
        headers.insert("x-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(event_id) {
        headers.insert("x-kt-event-id", v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_str(v).unwrap());
        h
    }

    // Proves only short visible-ASCII ids are taken from callers.
    #[test]
    fn caller_ids_are_validated() {
        assert_eq!(
            from_caller(&with("req-123_ABC")).as_deref(),
            Some("req-123_ABC")
        );
        assert_eq!(
            from_caller(&with(&"a".repeat(128))).map(|s| s.len()),
            Some(128)
        );
        assert_eq!(from_caller(&with(&"a".repeat(129))), None);
        assert_eq!(from_caller(&with("has space")), None);
        assert_eq!(from_caller(&with("")), None);
        assert_eq!(from_caller(&HeaderMap::new()), None);
    }
}
